/* email.h: the one check of an email address, to the syntax the providers accept. */
#ifndef CW_EMAIL_H
#define CW_EMAIL_H

#include <stddef.h>
#include "cw/core/util.h"

/* Whose address it is: the stricter rule is for customers' addresses. */
enum cw_email_kind {
	/* A record's recipient: what SendGrid, Mandrill, Emarsys and SMTP
	 * relays all take. */
	CW_EMAIL_RECIPIENT,
	/* Our own configured sender: also a one-label domain (the preview's
	 * cartwatch@localhost) and an address literal ([192.0.2.1],
	 * [IPv6:2001:db8::1]). */
	CW_EMAIL_SENDER
};

/*
 * 0 if addr is an RFC 5321 mailbox as the providers accept it: a dot-atom
 * local part of RFC 5322 atext (letters, digits, !#$%&'*+-/=?^_`{|}~; no
 * quoted local part, which SendGrid refuses), at most 64 octets, "@", a
 * domain of dot-separated labels of ASCII letters, digits and hyphens (1 to
 * 63 octets, no hyphen first or last; an IDN in its xn-- form), at least two
 * labels, the last not all digits; at most 254 octets in all. Otherwise -1
 * and e (which may be NULL) says what is wrong in a short phrase ("\";\" in
 * the local part"): it names at most one character, escaped when it is not
 * printable ASCII, and never the address, which is personal data.
 */
int cw_email_check(const char *addr, enum cw_email_kind kind, cw_err *e);

/* 1 if cw_email_check() accepts addr as a recipient, else 0. */
int cw_email_valid(const char *addr);

/*
 * Splits a mailbox, "Display Name <local@domain>", "\"Name\" <local@domain>"
 * or "local@domain", into *name (maybe "") and *addr, both for the caller to
 * free. Refuses (-1 with e) CR, LF and other control characters, and an address
 * that is not ASCII local@domain.
 */
int cw_mail_parse(const char *mailbox, char **name, char **addr, cw_err *e);

/* 0 if addr is a mailbox by cw_email_check()'s sender rule (email.h), else
 * -1 with e. */
int cw_mail_addr_check(const char *addr, cw_err *e);

#endif
