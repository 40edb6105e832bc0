/* mime.h: an email as an RFC 5322 message: headers, multipart/alternative, quoted-printable. */
#ifndef CW_MIME_H
#define CW_MIME_H

#include <stddef.h>
#include <time.h>
#include "cw/core/util.h"

/*
 * Appends the header "Name: value" and its CRLF to b, folded at blanks to
 * lines of about 78 characters; value is UTF-8, and when it is not plain
 * printable ASCII it is written as RFC 2047 encoded-words (UTF-8, base64).
 * A value with CR or LF is refused: -1 with e, and nothing appended.
 */
int cw_mime_header(struct cw_buf *b, const char *name, const char *value, cw_err *e);

/* Appends n bytes of s to b as quoted-printable (RFC 2045): lines of at most
 * 76 characters, LF and CRLF both become CRLF, a leading '.' and "From " are
 * encoded so that no relay or mbox can change them. */
void cw_qp_encode(struct cw_buf *b, const char *s, size_t n);

struct cw_mime {
	const char *from;       /* mailbox: "Shop <shop@example.com>" */
	const char *to;         /* addr-spec of the recipient */
	const char *to_name;    /* display name; NULL or "" for none */
	const char *subject;
	const char *text;       /* text/plain body */
	const char *html;       /* text/html body */
	const char *id;         /* notificationId: Message-ID <id@from's domain> and
	                         * X-Cartwatch-Notification-Id; [A-Za-z0-9._-] only */
	const char *language;   /* Content-Language, NULL or "" for none */
	time_t date;            /* the Date header: the real clock, time(NULL) */
	const char *boundary;   /* NULL: a random one; tests may fix it */
	const char *unsubscribe; /* the one-click unsubscribe URL (https, RFC 8058);
	                          * NULL or "" for none */
};

/*
 * Builds the whole message: From, To, Subject, Date, Message-ID,
 * MIME-Version, Content-Language, X-Cartwatch-Notification-Id, with an
 * unsubscribe URL List-Unsubscribe: <URL> (RFC 2369; the URL whole, on a
 * line of its own when it does not fit beside the name) and
 * List-Unsubscribe-Post: List-Unsubscribe=One-Click (RFC 8058), then
 * multipart/alternative with text/plain and text/html in UTF-8,
 * quoted-printable; CRLF line endings, no line over 998 bytes. *out (for the
 * caller to free) is NUL-terminated, *n its length. -1 with e when a header
 * would carry CR or LF, an address or the id is malformed, or the random
 * boundary could not be had, or the unsubscribe URL holds a blank, a control
 * character, '<', '>' or non-ASCII, or is too long for a line.
 */
int cw_mime_build(const struct cw_mime *m, char **out, size_t *n, cw_err *e);

#endif
