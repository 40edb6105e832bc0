/* mime.c: an email as an RFC 5322 message: headers, multipart/alternative, quoted-printable. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>


#include "cw/core/clock.h"
#include "cw/core/crypto.h"
#include "cw/core/util.h"
#include "cw/mail/mime.h"
#include "cw/net/email.h"

#define FOLD 78          /* RFC 5322's "should" for a line */
#define WORD_BYTES 39    /* UTF-8 bytes per encoded-word: 52 base64 chars */
#define LONG_WORD 900    /* an unbroken run longer than this is encoded */

static int
has_crlf(const char *s)
{
	return s != NULL && strpbrk(s, "\r\n") != NULL;
}

/* Printable ASCII without "=?" (which a reader would take for an encoded-word)
 * and without a run too long to fold. folded() breaks only before blanks and
 * carries them to the new line, so the run that must fit is blanks and the
 * word after them together, not the word alone. */
static int
plain(const char *s)
{
	size_t run = 0;
	int in_word = 0;

	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		int blank = c == ' ' || c == '\t';

		if ((c < 0x20 && c != '\t') || c > 0x7e || (c == '=' && s[1] == '?'))
			return 0;
		if (blank && in_word)
			run = 0;  /* a fold may go here */
		in_word = !blank;
		if (++run > LONG_WORD)
			return 0;
	}
	return 1;
}

/* Appends s as RFC 2047 encoded-words, one per folded line; *col is the
 * column the first one starts at. */
static void
encoded_words(struct cw_buf *b, const char *s, size_t *col)
{
	size_t n = strlen(s), i = 0;

	while (i < n) {
		size_t take = n - i < WORD_BYTES ? n - i : WORD_BYTES;
		char *b64;

		/* Never split a UTF-8 sequence between two words. */
		while (take < n - i && take > 1 && ((unsigned char)s[i + take] & 0xc0) == 0x80)
			take--;
		if (i > 0) {
			cw_buf_adds(b, "\r\n ");
			*col = 1;
		}
		b64 = cw_base64(s + i, take);
		cw_buf_addf(b, "=?UTF-8?B?%s?=", b64);
		*col += strlen(b64) + 12;
		free(b64);
		i += take;
	}
}

/* Appends s, folding before blanks so that lines stay near FOLD. */
static void
folded(struct cw_buf *b, const char *s, size_t *col)
{
	while (*s != '\0') {
		size_t ws = strspn(s, " \t"), w = strcspn(s + ws, " \t");

		if (*col + ws + w > FOLD && ws > 0 && *col > 0) {
			cw_buf_adds(b, "\r\n");
			*col = 0;
		}
		cw_buf_add(b, s, ws + w);
		*col += ws + w;
		s += ws + w;
	}
}

int
cw_mime_header(struct cw_buf *b, const char *name, const char *value, cw_err *e)
{
	size_t col = strlen(name) + 2;

	if (has_crlf(value))
		return cw_seterr(e, "%s: a header value may not contain CR or LF", name);
	cw_buf_addf(b, "%s: ", name);
	if (plain(value))
		folded(b, value, &col);
	else
		encoded_words(b, value, &col);
	cw_buf_adds(b, "\r\n");
	return 0;
}

/* "Name: display <addr>" with the display name quoted or encoded. */
static int
mailbox_header(struct cw_buf *b, const char *hdr, const char *name, const char *addr,
    cw_err *e)
{
	size_t col = strlen(hdr) + 2;

	if (has_crlf(name))
		return cw_seterr(e, "%s: a display name may not contain CR or LF", hdr);
	if (cw_mail_addr_check(addr, e) != 0)
		return -1;
	cw_buf_addf(b, "%s: ", hdr);
	if (name == NULL || *name == '\0') {
		cw_buf_addf(b, "%s\r\n", addr);
		return 0;
	}
	if (plain(name) && strlen(name) <= 60) {
		cw_buf_adds(b, "\"");
		for (const char *p = name; *p != '\0'; p++) {
			if (*p == '"' || *p == '\\')
				cw_buf_adds(b, "\\");
			cw_buf_add(b, p, 1);
		}
		cw_buf_adds(b, "\"");
		col += strlen(name) + 2;
	} else
		encoded_words(b, name, &col);
	if (col + strlen(addr) + 3 > FOLD)
		cw_buf_adds(b, "\r\n");
	cw_buf_addf(b, " <%s>\r\n", addr);
	return 0;
}

/* Quoted-printable's bytes by kind: QP_SELF stands for itself (but '.' and
 * 'F' starting a line), QP_BLANK too unless a line break or the end follows;
 * 0 is encoded or a line break. The two kinds share no bit with 0 and AND to
 * QP_SELF only when all are QP_SELF. */
#define QP_SELF 1
#define QP_BLANK 2
static const unsigned char qp_class[256] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0,  /* \t */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,  /* ' ' */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1,  /* '=' */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0,  /* DEL */
	/* 0x80 to 0xff: 0 */
};

/*
 * The bytes go through a small array of our own and reach b a chunk at a time,
 * runs of literal bytes copied whole: a call per byte (and a printf per
 * encoded one) was most of a preview's CPU.
 */
void
cw_qp_encode(struct cw_buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	char out[1024];
	size_t col = 0, o = 0, i = 0, k;

	while (i < n) {
		unsigned char c = (unsigned char)s[i];
		int eol, enc;

		/* Room for the most one turn makes: a run up to column 75. */
		if (o > sizeof(out) - 80) {
			cw_buf_add(b, out, o);
			o = 0;
		}
		/* The run of bytes that stand for themselves, up to column 75:
		 * printable ASCII but '=', blanks not before a line break nor at
		 * the end. '.' and 'F' starting a line take the long way. */
		k = 0;
		if (col < 75 && (col > 0 || (c != '.' && c != 'F'))) {
			size_t lim = n - i < 75 - col ? n - i : 75 - col;
			const unsigned char *p = (const unsigned char *)s + i;

			for (;;) {
				/* four at a time while none is a blank or worse */
				while (k + 4 <= lim && (qp_class[p[k]] & qp_class[p[k + 1]] &
				    qp_class[p[k + 2]] & qp_class[p[k + 3]]) == QP_SELF)
					k += 4;
				if (k < lim && (qp_class[p[k]] == QP_SELF ||
				    (qp_class[p[k]] == QP_BLANK && i + k + 1 < n &&
				    p[k + 1] != '\n' && p[k + 1] != '\r'))) {
					k++;
					continue;
				}
				break;
			}
		}
		if (k > 0) {
			memcpy(out + o, s + i, k);
			o += k;
			col += k;
			i += k;
			continue;
		}
		if (c == '\n' || (c == '\r' && i + 1 < n && s[i + 1] == '\n')) {
			i += c == '\r' ? 2 : 1;
			out[o++] = '\r';
			out[o++] = '\n';
			col = 0;
			continue;
		}
		eol = i + 1 == n || s[i + 1] == '\n' ||
		    (s[i + 1] == '\r' && i + 2 < n && s[i + 2] == '\n');
		enc = c == '=' || c > 0x7e || (c < 0x20 && c != '\t') ||
		    ((c == ' ' || c == '\t') && eol);
		if (col + (enc ? 3 : 1) > 75) {
			out[o++] = '=';
			out[o++] = '\r';
			out[o++] = '\n';
			col = 0;
		}
		/* A relay may eat a leading dot; an mbox quotes "From ". */
		if (col == 0 && (c == '.' || (c == 'F' && n - i >= 5 &&
		    memcmp(s + i, "From ", 5) == 0)))
			enc = 1;
		if (enc) {
			out[o++] = '=';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		} else
			out[o++] = (char)c;
		col += enc ? 3 : 1;
		i++;
	}
	if (o > 0)
		cw_buf_add(b, out, o);
}

/* RFC 5322 date-time in UTC, independent of the locale. */
static void
date_header(struct cw_buf *b, time_t t)
{
	char d[CW_RFC5322_MAX];

	cw_buf_addf(b, "Date: %s\r\n", cw_rfc5322_format(t, d));
}

static int
good_id(const char *id)
{
	size_t n = id != NULL ? strlen(id) : 0;

	return n > 0 && n <= 200 && strspn(id, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n && id[0] != '.' &&
	    id[n - 1] != '.' && strstr(id, "..") == NULL;
}

static int
good_lang(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n <= 35 && strspn(s, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-") == n;
}

/*
 * List-Unsubscribe (RFC 2369) and its one-click POST (RFC 8058). The URL is
 * never folded inside: RFC 2369 lets a reader drop blanks in <...>, but not
 * every one does. When it does not fit beside the name it starts the next
 * line; nothing can make it end early or add a header.
 */
static int
unsubscribe_headers(struct cw_buf *b, const char *url, cw_err *e)
{
	static const char name[] = "List-Unsubscribe:";
	size_t n = strlen(url);

	for (const char *p = url; *p != '\0'; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f || *p == '<' ||
		    *p == '>')
			return cw_seterr(e, "List-Unsubscribe: the URL holds a blank, a control "
			    "character, '<', '>' or non-ASCII");
	if (n + 3 > 998)
		return cw_seterr(e, "List-Unsubscribe: the URL is longer than a mail line");
	cw_buf_adds(b, name);
	cw_buf_adds(b, sizeof(name) + n + 2 > FOLD ? "\r\n " : " ");
	cw_buf_addf(b, "<%s>\r\n", url);
	cw_buf_adds(b, "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n");
	return 0;
}

/* One part; -1 if the boundary (a caller's own) occurs in its body. The body
 * is encoded in place, not in a buffer of its own copied after. */
static int
part(struct cw_buf *b, const char *boundary, const char *type, const char *body)
{
	size_t at;
	int r = 0;

	cw_buf_adds(b, "--");
	cw_buf_adds(b, boundary);
	cw_buf_adds(b, "\r\nContent-Type: ");
	cw_buf_adds(b, type);
	cw_buf_adds(b, "; charset=UTF-8\r\n");
	cw_buf_adds(b, "Content-Transfer-Encoding: quoted-printable\r\n\r\n");
	at = b->len;
	cw_qp_encode(b, body, strlen(body));
	if (b->len > at && memmem(b->data + at, b->len - at, boundary, strlen(boundary)) != NULL)
		r = -1;
	/* This CRLF belongs to the delimiter, not to the body. */
	cw_buf_adds(b, "\r\n");
	return r;
}

int
cw_mime_build(const struct cw_mime *m, char **out, size_t *n, cw_err *e)
{
	struct cw_buf b = CW_BUF_INIT;
	char *fname = NULL, *faddr = NULL, hex[33], bnd[80];
	const char *domain;
	int r = -1;

	*out = NULL;
	*n = 0;
	if (!good_id(m->id))
		return cw_seterr(e, "notification id \"%.60s\" cannot make a Message-ID "
		    "(letters, digits, '.', '_' and '-' only)", m->id ? m->id : "");
	if (cw_mail_parse(m->from, &fname, &faddr, e) != 0)
		goto out;
	domain = strrchr(faddr, '@') + 1;
	if (m->boundary != NULL)
		snprintf(bnd, sizeof(bnd), "%s", m->boundary);
	else if (cw_random_hex(hex, 16) == 0)
		/* "=_" never occurs in quoted-printable: no body can hold it. */
		snprintf(bnd, sizeof(bnd), "=_cw_%s", hex);
	else {
		cw_seterr(e, "no random bytes for the MIME boundary");
		goto out;
	}
	if (mailbox_header(&b, "From", fname, faddr, e) != 0 ||
	    mailbox_header(&b, "To", m->to_name, m->to, e) != 0 ||
	    cw_mime_header(&b, "Subject", m->subject ? m->subject : "", e) != 0)
		goto out;
	date_header(&b, m->date);
	cw_buf_addf(&b, "Message-ID: <%s@%s>\r\n", m->id, domain);
	cw_buf_adds(&b, "MIME-Version: 1.0\r\n");
	if (m->language != NULL && good_lang(m->language))
		cw_buf_addf(&b, "Content-Language: %s\r\n", m->language);
	cw_buf_addf(&b, "X-Cartwatch-Notification-Id: %s\r\n", m->id);
	if (m->unsubscribe != NULL && *m->unsubscribe != '\0' &&
	    unsubscribe_headers(&b, m->unsubscribe, e) != 0)
		goto out;
	cw_buf_addf(&b, "Content-Type: multipart/alternative;\r\n boundary=\"%s\"\r\n", bnd);
	cw_buf_adds(&b, "\r\nThis is a MIME message: a text and an HTML version.\r\n\r\n");
	/* Plain text first: a reader shows the last part it can. */
	if (part(&b, bnd, "text/plain", m->text ? m->text : "") != 0 ||
	    part(&b, bnd, "text/html", m->html ? m->html : "") != 0) {
		cw_seterr(e, "the MIME boundary occurs in the body");
		goto out;
	}
	cw_buf_addf(&b, "--%s--\r\n", bnd);
	*n = b.len;
	*out = cw_buf_detach(&b);
	r = 0;
out:
	cw_buf_free(&b);
	free(fname);
	free(faddr);
	return r;
}
