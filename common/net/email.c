/* email.c: the one check of an email address, to the syntax the providers accept,
 * and the parsing of a configured mailbox ("Name <addr>"). */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cw/core/util.h"
#include "cw/net/email.h"

#define MAX_ADDR 254    /* RFC 5321's path limit less the angle brackets */
#define MAX_LOCAL 64
#define MAX_LABEL 63

static int
alnum(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* RFC 5322 atext. */
static int
atext(unsigned char c)
{
	return alnum(c) || (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

/* One character as a message may show it: quoted if printable, else its byte. */
static const char *
show(unsigned char c, char buf[16])
{
	if (c == ' ')
		return "a space";
	if (c > 0x20 && c < 0x7f)
		snprintf(buf, 16, "\"%c\"", c);
	else
		snprintf(buf, 16, "byte 0x%02x", c);
	return buf;
}

static int
local_part(const char *s, size_t len, cw_err *e)
{
	char c[16];

	if (len == 0)
		return cw_seterr(e, "nothing before the \"@\"");
	if (len > MAX_LOCAL)
		return cw_seterr(e, "a local part longer than %d octets", MAX_LOCAL);
	if (s[0] == '"')
		return cw_seterr(e, "a quoted local part (not every provider takes one)");
	if (s[0] == '.' || s[len - 1] == '.')
		return cw_seterr(e, "a dot at the start or end of the local part");
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch == '.' && s[i + 1] == '.')
			return cw_seterr(e, "two dots in a row in the local part");
		if (ch >= 0x80)
			return cw_seterr(e, "a non-ASCII local part (not every provider "
			    "takes one)");
		if (ch != '.' && !atext(ch))
			return cw_seterr(e, "%s in the local part", show(ch, c));
	}
	return 0;
}

/* [192.0.2.1] or [IPv6:2001:db8::1] */
static int
address_literal(const char *s, cw_err *e)
{
	size_t len = strlen(s);
	unsigned char bin[16];
	char ip[64];

	if (len < 3 || s[len - 1] != ']' || len - 2 >= sizeof(ip))
		return cw_seterr(e, "a bad address literal");
	memcpy(ip, s + 1, len - 2);
	ip[len - 2] = '\0';
	if (strncmp(ip, "IPv6:", 5) == 0 ? inet_pton(AF_INET6, ip + 5, bin) == 1 :
	    inet_pton(AF_INET, ip, bin) == 1)
		return 0;
	return cw_seterr(e, "a bad address literal");
}

static int
domain(const char *s, enum cw_email_kind kind, cw_err *e)
{
	const char *label = s, *p;
	int labels = 0, digits = 1;
	char c[16];

	if (*s == '\0')
		return cw_seterr(e, "nothing after the \"@\"");
	if (*s == '[')
		return kind == CW_EMAIL_SENDER ? address_literal(s, e) :
		    cw_seterr(e, "an address literal (not every provider takes one)");
	for (p = s;; p++) {
		unsigned char ch = (unsigned char)*p;

		if (ch == '.' || ch == '\0') {
			size_t len = (size_t)(p - label);

			if (len == 0)
				return cw_seterr(e, "an empty label in the domain (a dot "
				    "at the start or end, or two in a row)");
			if (len > MAX_LABEL)
				return cw_seterr(e, "a domain label longer than %d octets",
				    MAX_LABEL);
			if (label[0] == '-' || p[-1] == '-')
				return cw_seterr(e, "a domain label that starts or ends "
				    "with a hyphen");
			labels++;
			if (ch == '\0')
				break;
			label = p + 1;
			digits = 1;
			continue;
		}
		if (ch >= 0x80)
			return cw_seterr(e, "a non-ASCII domain (an international "
			    "domain goes in its xn-- form)");
		if (!alnum(ch) && ch != '-')
			return cw_seterr(e, "%s in the domain", show(ch, c));
		if (ch < '0' || ch > '9')
			digits = 0;
	}
	if (labels < 2 && kind == CW_EMAIL_RECIPIENT)
		return cw_seterr(e, "a domain of one label");
	if (digits)
		return cw_seterr(e, "a domain whose last label is all digits");
	return 0;
}

int
cw_email_check(const char *addr, enum cw_email_kind kind, cw_err *e)
{
	const char *at;
	char c[16];

	if (addr == NULL || *addr == '\0')
		return cw_seterr(e, "empty");
	/* First, so that a header injection is named for what it is. */
	for (const char *p = addr; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return cw_seterr(e, "control characters (%s)",
			    show((unsigned char)*p, c));
	if (strlen(addr) > MAX_ADDR)
		return cw_seterr(e, "longer than %d octets", MAX_ADDR);
	/* The last "@": a quoted local part could hold one, a domain never. */
	if ((at = strrchr(addr, '@')) == NULL)
		return cw_seterr(e, "no \"@\"");
	if (local_part(addr, (size_t)(at - addr), e) != 0)
		return -1;
	return domain(at + 1, kind, e);
}

int
cw_email_valid(const char *addr)
{
	return cw_email_check(addr, CW_EMAIL_RECIPIENT, NULL) == 0;
}

static int
is_ctl(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

int
cw_mail_addr_check(const char *addr, cw_err *e)
{
	cw_err why;

	/* The sender's rule: a record's recipient passed the stricter one
	 * (cw_notification_check) before any message is built. */
	if (cw_email_check(addr, CW_EMAIL_SENDER, &why) != 0)
		return cw_seterr(e, "not an email address: %s", why.msg);
	return 0;
}

int
cw_mail_parse(const char *mailbox, char **name, char **addr, cw_err *e)
{
	const char *s = mailbox, *end, *lt;
	struct cw_buf nb = CW_BUF_INIT;

	*name = *addr = NULL;
	for (const char *p = s; *p != '\0'; p++)
		if (is_ctl((unsigned char)*p))
			return cw_seterr(e, "a mailbox may not contain control characters "
			    "(CR, LF, ...)");
	while (*s == ' ')
		s++;
	end = s + strlen(s);
	while (end > s && end[-1] == ' ')
		end--;
	if (end > s && end[-1] == '>' && (lt = memrchr(s, '<', (size_t)(end - s))) != NULL) {
		const char *ne = lt;

		*addr = cw_strndup(lt + 1, (size_t)(end - 1 - (lt + 1)));
		while (ne > s && ne[-1] == ' ')
			ne--;
		if (ne - s >= 2 && *s == '"' && ne[-1] == '"') {
			for (const char *p = s + 1; p < ne - 1; p++) {
				if (*p == '\\' && p + 1 < ne - 1)
					p++;
				cw_buf_add(&nb, p, 1);
			}
			*name = cw_buf_detach(&nb);
		} else
			*name = cw_strndup(s, (size_t)(ne - s));
	} else {
		*addr = cw_strndup(s, (size_t)(end - s));
		*name = cw_strdup("");
	}
	if (cw_mail_addr_check(*addr, e) != 0) {
		free(*name);
		free(*addr);
		*name = *addr = NULL;
		return -1;
	}
	return 0;
}
