/* test_mime: headers, RFC 2047 words, quoted-printable, the structure, refused injection. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>

#include "cw/core/crypto.h"
#include "cw/core/util.h"
#include "cw/mail/mime.h"
#include "cw/mail/render.h"
#include "cw/net/email.h"

#define BOUNDARY "=_test_boundary"
#define TEXT_HEAD "--" BOUNDARY "\r\nContent-Type: text/plain; charset=UTF-8\r\n" \
	"Content-Transfer-Encoding: quoted-printable\r\n\r\n"
#define HTML_HEAD "--" BOUNDARY "\r\nContent-Type: text/html; charset=UTF-8\r\n" \
	"Content-Transfer-Encoding: quoted-printable\r\n\r\n"

/* 2026-11-24T12:34:56Z, a Tuesday */
#define WHEN ((time_t)1795523696)

/* Decodes quoted-printable independently of the encoder. Caller frees. */
static char *
qp_decode(const char *s, size_t n)
{
	struct cw_buf b = CW_BUF_INIT;

	for (size_t i = 0; i < n; i++) {
		if (s[i] != '=') {
			cw_buf_add(&b, s + i, 1);
			continue;
		}
		if (i + 2 < n && s[i + 1] == '\r' && s[i + 2] == '\n') {
			i += 2;  /* soft line break */
			continue;
		}
		assert_true(i + 2 < n);
		{
			char hex[3] = {s[i + 1], s[i + 2], '\0'};
			char *end;
			long v = strtol(hex, &end, 16);

			assert_true(*end == '\0' && hex[0] != '\0' && hex[1] != '\0');
			/* the encoder writes uppercase hex */
			assert_true(strspn(hex, "0123456789ABCDEF") == 2);
			cw_buf_add(&b, &(char){(char)v}, 1);
			i += 2;
		}
	}
	return cw_buf_detach(&b);
}

/* s with every LF not after a CR made CRLF. Caller frees. */
static char *
crlf(const char *s)
{
	struct cw_buf b = CW_BUF_INIT;

	for (size_t i = 0; s[i] != '\0'; i++) {
		if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r'))
			cw_buf_add(&b, "\r", 1);
		cw_buf_add(&b, s + i, 1);
	}
	return cw_buf_detach(&b);
}

/* Every line ends in CRLF, no bare CR or LF, none longer than max. */
static void
lines_ok(const char *s, size_t n, size_t max)
{
	size_t len = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\r') {
			assert_true(i + 1 < n && s[i + 1] == '\n');
			assert_true(len <= max);
			len = 0;
			i++;
		} else {
			assert_true(s[i] != '\n');
			len++;
		}
	}
	assert_int_equal(len, 0);
}

static void
qp_roundtrip(const char *in)
{
	struct cw_buf b = CW_BUF_INIT;
	char *dec, *want;

	cw_qp_encode(&b, in, strlen(in));
	cw_buf_adds(&b, "\r\n");  /* as the delimiter does */
	lines_ok(b.data, b.len, 76);
	dec = qp_decode(b.data, b.len - 2);
	want = crlf(in);
	assert_string_equal(dec, want);
	free(dec);
	free(want);
	cw_buf_free(&b);
}

static void
test_qp(void **state)
{
	struct cw_buf b = CW_BUF_INIT;
	char longline[400];

	(void)state;
	memset(longline, 'x', sizeof(longline) - 1);
	longline[sizeof(longline) - 1] = '\0';
	longline[75] = '=';
	longline[150] = ' ';
	qp_roundtrip("");
	qp_roundtrip("plain ascii\n");
	qp_roundtrip("Zoë Ångström 花子 — 12,50 €\r\nline two\n");
	qp_roundtrip("a=b =3D ==\n");
	qp_roundtrip("trailing blanks   \nand a tab\t\nend \t");
	qp_roundtrip(".\n.leading dot\nFrom me\nFrom: header-like\n");
	qp_roundtrip(longline);
	qp_roundtrip("<td style=\"padding:12px 16px 12px 0;border-bottom:1px solid #e5e7eb;\">"
	    "é€😀ü<td style=\"padding:12px 16px 12px 0;border-bottom:1px solid\">\n");
	qp_roundtrip("lone\rCR and \x01 control\n\n\n");

	/* what it looks like: soft breaks, uppercase hex, the risky starts */
	cw_qp_encode(&b, "Zoë = 1 \n.x\nFrom y\n", 20);
	assert_string_equal(b.data, "Zo=C3=AB =3D 1=20\r\n=2Ex\r\n=46rom y\r\n");
	cw_buf_free(&b);
}

/* The encoder as it was before it was made fast, byte by byte: the bytes
 * cw_qp_encode() writes must not change (previews, golden mails). */
static void
qp_reference(struct cw_buf *b, const char *s, size_t n)
{
	size_t col = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		int eol, enc;

		if (c == '\n' || (c == '\r' && i + 1 < n && s[i + 1] == '\n')) {
			if (c == '\r')
				i++;
			cw_buf_add(b, "\r\n", 2);
			col = 0;
			continue;
		}
		eol = i + 1 == n || s[i + 1] == '\n' ||
		    (s[i + 1] == '\r' && i + 2 < n && s[i + 2] == '\n');
		enc = c == '=' || c > 0x7e || (c < 0x20 && c != '\t') ||
		    ((c == ' ' || c == '\t') && eol);
		if (col + (enc ? 3 : 1) > 75) {
			cw_buf_add(b, "=\r\n", 3);
			col = 0;
		}
		if (col == 0 && (c == '.' || (c == 'F' && n - i >= 5 &&
		    memcmp(s + i, "From ", 5) == 0)))
			enc = 1;
		if (enc)
			cw_buf_addf(b, "=%02X", c);
		else
			cw_buf_add(b, s + i, 1);
		col += enc ? 3 : 1;
	}
}

/* Pseudo-random texts made of the pieces the encoder treats apart, of every
 * length from 0 to past its own chunk, against the reference. */
static void
test_qp_same_bytes(void **state)
{
	static const char *const pieces[] = {
		"a", "word", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
		" ", "\t", "  ", "\n", "\r\n", "\r", "=", ".", "F", "From ", "Fro",
		"\xc3\xab", "\xe2\x82\xac", "\x01", "\x7f", "<td style=\"a:b;\">", " \n",
		"\t\r\n", ". ", "=\n",
	};
	const size_t npieces = sizeof(pieces) / sizeof(pieces[0]);
	unsigned long x = 11;

	(void)state;
	for (int t = 0; t < 3000; t++) {
		struct cw_buf in = CW_BUF_INIT, got = CW_BUF_INIT, want = CW_BUF_INIT;
		size_t len = (size_t)(t % 300) * (t % 7 == 0 ? 20 : 1);

		while (in.len < len) {
			x = x * 6364136223846793005UL + 1442695040888963407UL;
			cw_buf_adds(&in, pieces[(x >> 33) % npieces]);
		}
		cw_qp_encode(&got, in.data, in.len);
		qp_reference(&want, in.data, in.len);
		assert_int_equal(got.len, want.len);
		if (got.len > 0)
			assert_memory_equal(got.data, want.data, got.len);
		cw_buf_free(&in);
		cw_buf_free(&got);
		cw_buf_free(&want);
	}
}

static char *
header(const char *name, const char *value)
{
	struct cw_buf b = CW_BUF_INIT;
	cw_err e;

	if (cw_mime_header(&b, name, value, &e) != 0)
		fail_msg("%s", e.msg);
	return cw_buf_detach(&b);
}

/* Decodes a header's encoded-words (as folded by us) back to UTF-8. */
static char *
words_decode(const char *h)
{
	struct cw_buf b = CW_BUF_INIT;
	const char *p = h;

	while ((p = strstr(p, "=?UTF-8?B?")) != NULL) {
		const char *end = strstr(p + 10, "?=");
		char *b64;
		unsigned char *raw;
		size_t n;

		assert_non_null(end);
		assert_true(end + 2 - p <= 75);  /* RFC 2047's limit for one word */
		b64 = cw_strndup(p + 10, (size_t)(end - (p + 10)));
		raw = cw_unbase64(b64, &n);
		assert_non_null(raw);
		/* each word holds whole UTF-8 characters */
		assert_true(n == 0 || (raw[0] & 0xc0) != 0x80);
		cw_buf_add(&b, raw, n);
		free(raw);
		free(b64);
		p = end + 2;
	}
	return cw_buf_detach(&b);
}

static void
test_headers(void **state)
{
	static const char longutf[] = "Zoë, you left something in your cart: Café Crème Mug, "
	    "Łukasz's Żółć scarf and 花子's tote are waiting for you";
	char *h, *d, longascii[200];

	(void)state;
	h = header("Subject", "Zoë");
	assert_string_equal(h, "Subject: =?UTF-8?B?Wm/Dqw==?=\r\n");
	free(h);
	h = header("Subject", "Olivia, you left something in your cart");
	assert_string_equal(h, "Subject: Olivia, you left something in your cart\r\n");
	free(h);
	/* "=?" in plain text would read as an encoded-word: encode it */
	h = header("Subject", "a =?x?= b");
	d = words_decode(h);
	assert_string_equal(d, "a =?x?= b");
	free(d);
	free(h);
	/* long non-ASCII: several words on folded lines, decoding to the original */
	h = header("Subject", longutf);
	lines_ok(h, strlen(h), 78);
	assert_non_null(strstr(h, "?=\r\n =?UTF-8?B?"));
	d = words_decode(h);
	assert_string_equal(d, longutf);
	free(d);
	free(h);
	/* long ASCII: folded at blanks */
	for (size_t i = 0; i < sizeof(longascii) - 1; i++)
		longascii[i] = i % 10 == 9 ? ' ' : 'a';
	longascii[sizeof(longascii) - 1] = '\0';
	h = header("Subject", longascii);
	lines_ok(h, strlen(h), 78);
	assert_non_null(strstr(h, "\r\n "));
	free(h);
	/* a long run of blanks moves to the folded line with the word after it:
	 * together they must still fit in 998 octets (found by the fuzzer) */
	{
		char blanks[1003];

		memset(blanks, ' ', sizeof(blanks) - 1);
		blanks[0] = 'a';
		blanks[sizeof(blanks) - 2] = 'b';
		blanks[sizeof(blanks) - 1] = '\0';
		h = header("Subject", blanks);
		lines_ok(h, strlen(h), 998);
		d = words_decode(h);
		assert_string_equal(d, blanks);
		free(d);
		free(h);
	}
}

static void
test_injection(void **state)
{
	static const char *const bad[] = {
		"Hi\r\nBcc: victim@example.com", "Hi\nBcc: victim@example.com", "Hi\r", "\n"
	};
	struct cw_buf b = CW_BUF_INIT;
	struct cw_mime m;
	char *out = (char *)"untouched";
	size_t n = 99;
	cw_err e;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(cw_mime_header(&b, "Subject", bad[i], &e), -1);
		assert_string_equal(e.msg, "Subject: a header value may not contain CR or LF");
		assert_int_equal(b.len, 0);
	}

	memset(&m, 0, sizeof(m));
	m.from = "Shop <shop@example.com>";
	m.to = "olivia.smith@example.com";
	m.to_name = "Olivia Smith";
	m.subject = "Hello";
	m.text = "t";
	m.html = "<p>h</p>";
	m.id = "bfb0270ee64b040f01beff2cfd3a10567a9ae5ec";
	m.date = WHEN;
	assert_int_equal(cw_mime_build(&m, &out, &n, &e), 0);
	free(out);

	m.subject = "Hello\r\nBcc: victim@example.com";
	assert_int_equal(cw_mime_build(&m, &out, &n, &e), -1);
	assert_null(out);
	assert_int_equal(n, 0);
	assert_non_null(strstr(e.msg, "Subject: a header value may not contain CR or LF"));
	m.subject = "Hello";

	m.from = "Shop <shop@example.com>\r\nBcc: victim@example.com";
	assert_int_equal(cw_mime_build(&m, &out, &n, &e), -1);
	assert_null(out);
	assert_non_null(strstr(e.msg, "control characters"));
	m.from = "Shop\n <shop@example.com>";
	assert_int_equal(cw_mime_build(&m, &out, &n, &e), -1);
	m.from = "Shop <shop@example.com>";

	m.to = "olivia.smith@example.com\r\nBcc: victim@example.com";
	assert_int_equal(cw_mime_build(&m, &out, &n, &e), -1);
	assert_null(out);
	assert_non_null(strstr(e.msg, "control characters"));
	m.to = "olivia.smith@example.com\n";
	assert_int_equal(cw_mime_build(&m, &out, &n, &e), -1);
	m.to = "olivia.smith@example.com";

	m.to_name = "Olivia\r\nBcc: victim@example.com";
	assert_int_equal(cw_mime_build(&m, &out, &n, &e), -1);
	assert_null(out);
	assert_non_null(strstr(e.msg, "To: a display name may not contain CR or LF"));
	m.to_name = "Olivia";

	/* the id makes the Message-ID and a header: nothing odd in it either */
	m.id = "abc\r\nBcc: victim@example.com";
	assert_int_equal(cw_mime_build(&m, &out, &n, &e), -1);
	m.id = "a<b>@c";
	assert_int_equal(cw_mime_build(&m, &out, &n, &e), -1);
	assert_non_null(strstr(e.msg, "Message-ID"));
	m.id = "";
	assert_int_equal(cw_mime_build(&m, &out, &n, &e), -1);
	m.id = NULL;
	assert_int_equal(cw_mime_build(&m, &out, &n, &e), -1);
	assert_null(out);
}

static void
test_addresses(void **state)
{
	static const char *const good[][3] = {
		{"Shop <shop@example.com>", "Shop", "shop@example.com"},
		{"\"Shop, Inc.\" <a.b+c@mail.example.com>", "Shop, Inc.", "a.b+c@mail.example.com"},
		{"\"Say \\\"hi\\\"\" <x@example.com>", "Say \"hi\"", "x@example.com"},
		{"x@example.com", "", "x@example.com"},
		{"  <x@example.com>  ", "", "x@example.com"},
		{"Zoë <zoe@example.com>", "Zoë", "zoe@example.com"},
		{"a@[192.0.2.1]", "", "a@[192.0.2.1]"},
	};
	static const char *const bad[] = {
		"", "no-at", "a@", "@b.example", "a b@example.com", "a@exa mple.com",
		"a@b..example", ".a@example.com", "a.@example.com", "a..b@example.com",
		"zoë@example.com", "a@exämple.com", "Shop <a@b.example", "<a@b.example>\n",
		"a\"b@example.com", "a@-example.com", "a@example.com.",
	};
	char *name, *addr;
	cw_err e;

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		if (cw_mail_parse(good[i][0], &name, &addr, &e) != 0)
			fail_msg("%s: %s", good[i][0], e.msg);
		assert_string_equal(name, good[i][1]);
		assert_string_equal(addr, good[i][2]);
		free(name);
		free(addr);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (cw_mail_parse(bad[i], &name, &addr, &e) == 0)
			fail_msg("accepted \"%s\"", bad[i]);
		assert_null(name);
		assert_null(addr);
	}
}

/* The value of header name in the message's header block (unfolded). */
static char *
get_header(const char *msg, const char *name)
{
	const char *end = strstr(msg, "\r\n\r\n"), *p = msg;
	size_t nl = strlen(name);

	assert_non_null(end);
	while (p < end) {
		const char *eol = strstr(p, "\r\n");

		if (strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
			struct cw_buf b = CW_BUF_INIT;
			const char *v = p + nl + 1;

			while (*v == ' ')
				v++;
			for (;;) {
				cw_buf_add(&b, v, (size_t)(eol - v));
				if (eol[2] != ' ' && eol[2] != '\t')
					break;
				v = eol + 2;
				eol = strstr(v, "\r\n");
			}
			return cw_buf_detach(&b);
		}
		p = eol + 2;
	}
	return NULL;
}

static void
test_structure(void **state)
{
	struct cw_mime m;
	char *out, *v, *part, *dec, *want;
	const char *p, *body;
	size_t n;
	cw_err e;

	(void)state;
	memset(&m, 0, sizeof(m));
	m.from = "\"Contoso Shop\" <shop@contoso.example>";
	m.to = "zoe.angstrom@example.com";
	m.to_name = "Zoë Ångström";
	m.subject = "Zoë, you left something in your cart";
	m.text = "Hi Zoë,\n\nSilk Scarf: 19.9 USD\n";
	m.html = "<!DOCTYPE html>\n<p style=\"color:#111\">Hi Zo&euml; = friend</p>\n";
	m.id = "4cde6b52cae6a5cde0abe2d833eede96f59d7f3e";
	m.language = "en-us";
	m.date = WHEN;
	m.boundary = BOUNDARY;
	if (cw_mime_build(&m, &out, &n, &e) != 0)
		fail_msg("%s", e.msg);
	assert_int_equal(strlen(out), n);
	lines_ok(out, n, 998);

	v = get_header(out, "From");
	assert_string_equal(v, "\"Contoso Shop\" <shop@contoso.example>");
	free(v);
	v = get_header(out, "To");
	assert_non_null(strstr(v, "<zoe.angstrom@example.com>"));
	dec = words_decode(v);
	assert_string_equal(dec, "Zoë Ångström");
	free(dec);
	free(v);
	v = get_header(out, "Subject");
	assert_string_equal(v, "=?UTF-8?B?Wm/DqywgeW91IGxlZnQgc29tZXRoaW5nIGluIHlvdXIgY2FydA==?=");
	free(v);
	v = get_header(out, "Date");
	assert_string_equal(v, "Tue, 24 Nov 2026 12:34:56 +0000");
	free(v);
	v = get_header(out, "Message-ID");
	assert_string_equal(v, "<4cde6b52cae6a5cde0abe2d833eede96f59d7f3e@contoso.example>");
	free(v);
	v = get_header(out, "X-Cartwatch-Notification-Id");
	assert_string_equal(v, "4cde6b52cae6a5cde0abe2d833eede96f59d7f3e");
	free(v);
	v = get_header(out, "MIME-Version");
	assert_string_equal(v, "1.0");
	free(v);
	v = get_header(out, "Content-Language");
	assert_string_equal(v, "en-us");
	free(v);
	v = get_header(out, "Content-Type");
	assert_string_equal(v, "multipart/alternative; boundary=\"" BOUNDARY "\"");
	free(v);

	/* the body: two parts in order, then the closing delimiter, nothing after */
	body = strstr(out, "\r\n\r\n") + 4;
	p = strstr(body, "\r\n--" BOUNDARY "\r\n");
	assert_non_null(p);
	part = cw_strndup(p + 2, strlen(p + 2));
	assert_true(strncmp(part, TEXT_HEAD, strlen(TEXT_HEAD)) == 0);
	{
		const char *t = part + strlen(TEXT_HEAD), *te = strstr(t, "\r\n--" BOUNDARY "\r\n");
		const char *h, *he;

		assert_non_null(te);
		dec = qp_decode(t, (size_t)(te - t));
		want = crlf(m.text);
		assert_string_equal(dec, want);
		free(dec);
		free(want);
		h = te + 2;
		assert_true(strncmp(h, HTML_HEAD, strlen(HTML_HEAD)) == 0);
		h += strlen(HTML_HEAD);
		he = strstr(h, "\r\n--" BOUNDARY "--\r\n");
		assert_non_null(he);
		assert_string_equal(he + 2, "--" BOUNDARY "--\r\n");
		dec = qp_decode(h, (size_t)(he - h));
		want = crlf(m.html);
		assert_string_equal(dec, want);
		free(dec);
		free(want);
	}
	free(part);
	free(out);

	/* a random boundary of our own form otherwise, different each time */
	m.boundary = NULL;
	assert_int_equal(cw_mime_build(&m, &out, &n, &e), 0);
	v = get_header(out, "Content-Type");
	assert_true(strncmp(v, "multipart/alternative; boundary=\"=_cw_", 38) == 0);
	assert_int_equal(strlen(v), 38 + 32 + 1);
	{
		char *out2, *v2;
		size_t n2;

		assert_int_equal(cw_mime_build(&m, &out2, &n2, &e), 0);
		v2 = get_header(out2, "Content-Type");
		assert_string_not_equal(v, v2);
		free(v2);
		free(out2);
	}
	free(v);
	free(out);

	/* a boundary found in a body is refused */
	m.boundary = "Scarf";
	assert_int_equal(cw_mime_build(&m, &out, &n, &e), -1);
	assert_non_null(strstr(e.msg, "boundary"));
}

static void
test_notification(void **state)
{
	json_t *rec = json_loads("{\"notificationId\":\"4cde6b52cae6a5cde0abe2d833eede96f59d7f3e\","
	    "\"email\":\"zoe.angstrom@example.com\",\"firstName\":\"Zoë\",\"lastName\":\"Ångström\","
	    "\"language\":\"en-us\"}", 0, NULL);
	struct cw_email em = {(char *)"S", (char *)"<p>h</p>", (char *)"t"};
	char *out, *v, *dec;
	size_t n;
	cw_err e;

	(void)state;
	assert_non_null(rec);
	if (cw_mime_notification(&em, rec, "shop@example.com", WHEN, &out, &n, &e) != 0)
		fail_msg("%s", e.msg);
	v = get_header(out, "To");
	dec = words_decode(v);
	assert_string_equal(dec, "Zoë Ångström");
	free(dec);
	free(v);
	v = get_header(out, "Message-ID");
	assert_string_equal(v, "<4cde6b52cae6a5cde0abe2d833eede96f59d7f3e@example.com>");
	free(v);
	free(out);

	/* a guest: no name, no display name */
	json_object_set_new(rec, "firstName", json_string(""));
	json_object_set_new(rec, "lastName", json_string(""));
	assert_int_equal(cw_mime_notification(&em, rec, "shop@example.com", WHEN, &out, &n, &e), 0);
	v = get_header(out, "To");
	assert_string_equal(v, "zoe.angstrom@example.com");
	free(v);
	free(out);

	/* a line break in a name is shown as a blank; in the address it is refused */
	json_object_set_new(rec, "firstName", json_string("Eve\r\nBcc: victim@example.com"));
	assert_int_equal(cw_mime_notification(&em, rec, "shop@example.com", WHEN, &out, &n, &e), 0);
	assert_null(strstr(out, "\r\nBcc:"));
	v = get_header(out, "To");
	assert_string_equal(v, "\"Eve  Bcc: victim@example.com\" <zoe.angstrom@example.com>");
	free(v);
	free(out);
	json_object_set_new(rec, "email", json_string("zoe@example.com\r\nBcc: victim@example.com"));
	assert_int_equal(cw_mime_notification(&em, rec, "shop@example.com", WHEN, &out, &n, &e), -1);
	assert_null(out);
	json_object_del(rec, "email");
	assert_int_equal(cw_mime_notification(&em, rec, "shop@example.com", WHEN, &out, &n, &e), -1);
	assert_string_equal(e.msg, "the record has no email");
	json_decref(rec);
}

/* List-Unsubscribe and List-Unsubscribe-Post (RFC 2369, RFC 8058). */
static void
test_unsubscribe(void **state)
{
	static const char *const bad[] = {
		"https://shop.example.com/u?t=a b", "https://shop.example.com/u?t=a>b",
		"https://shop.example.com/u?t=<a", "https://shop.example.com/u?t=\x7f",
		"https://shop.example.com/u?t=\xc3\xa9", "https://shop.example.com/u?t=\r\nBcc: x",
	};
	struct cw_mime m;
	char *out, *v, longer[400];
	size_t n;
	cw_err e;

	(void)state;
	memset(&m, 0, sizeof(m));
	m.from = "Shop <shop@example.com>";
	m.to = "olivia.smith@example.com";
	m.subject = "Hello";
	m.text = "t";
	m.html = "<p>h</p>";
	m.id = "bfb0270ee64b040f01beff2cfd3a10567a9ae5ec";
	m.date = WHEN;
	/* none: no header */
	assert_int_equal(cw_mime_build(&m, &out, &n, &e), 0);
	assert_null(strstr(out, "List-Unsubscribe"));
	free(out);
	m.unsubscribe = "";
	assert_int_equal(cw_mime_build(&m, &out, &n, &e), 0);
	assert_null(strstr(out, "List-Unsubscribe"));
	free(out);

	/* short: beside the name, then the one-click header */
	m.unsubscribe = "https://shop.example.com/u?t=b0BleC5pbw.crdQ";
	assert_int_equal(cw_mime_build(&m, &out, &n, &e), 0);
	assert_non_null(strstr(out, "\r\nList-Unsubscribe: <https://shop.example.com/u?t="
	    "b0BleC5pbw.crdQ>\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"));
	assert_true(strstr(out, "List-Unsubscribe") < strstr(out, "\r\n\r\n"));
	free(out);

	/* long: on the next line, whole, never folded inside the brackets */
	memset(longer, 'x', sizeof(longer));
	memcpy(longer, "https://shop.example.com/u?t=", 29);
	longer[sizeof(longer) - 1] = '\0';
	m.unsubscribe = longer;
	assert_int_equal(cw_mime_build(&m, &out, &n, &e), 0);
	v = cw_asprintf("\r\nList-Unsubscribe:\r\n <%s>\r\nList-Unsubscribe-Post: "
	    "List-Unsubscribe=One-Click\r\n", longer);
	assert_non_null(strstr(out, v));
	free(v);
	v = get_header(out, "List-Unsubscribe");
	assert_non_null(strstr(v, longer));
	free(v);
	free(out);

	/* what could end the URL early, or start a header, is refused */
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		m.unsubscribe = bad[i];
		assert_int_equal(cw_mime_build(&m, &out, &n, &e), -1);
		assert_null(out);
		assert_non_null(strstr(e.msg, "List-Unsubscribe"));
	}
}

/* A notification's unsubscribeUrl (cart-notify's) becomes its header. */
static void
test_notification_unsubscribe(void **state)
{
	json_t *rec = json_pack("{s:s,s:s,s:s}", "notificationId", "n1", "email", "o@ex.io",
	    "unsubscribeUrl", "https://shop.example.com/u/t.m");
	struct cw_email em = {(char *)"S", (char *)"<p>h</p>", (char *)"t"};
	char *out;
	size_t n;
	cw_err e;

	(void)state;
	assert_int_equal(cw_mime_notification(&em, rec, "shop@example.com", WHEN, &out, &n, &e), 0);
	assert_non_null(strstr(out, "\r\nList-Unsubscribe: <https://shop.example.com/u/t.m>\r\n"
	    "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"));
	free(out);
	json_object_del(rec, "unsubscribeUrl");
	assert_int_equal(cw_mime_notification(&em, rec, "shop@example.com", WHEN, &out, &n, &e), 0);
	assert_null(strstr(out, "List-Unsubscribe"));
	free(out);
	json_decref(rec);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_qp),
		cmocka_unit_test(test_qp_same_bytes),
		cmocka_unit_test(test_headers),
		cmocka_unit_test(test_injection),
		cmocka_unit_test(test_addresses),
		cmocka_unit_test(test_structure),
		cmocka_unit_test(test_notification),
		cmocka_unit_test(test_unsubscribe),
		cmocka_unit_test(test_notification_unsubscribe),
	};

	return cmocka_run_group_tests_name("mime", tests, NULL, NULL);
}
