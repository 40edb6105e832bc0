/* test_render: the template language, its escaping and refusals, the shipped templates' output. */
#include <glob.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "capture.h"
#include "cw/core/config.h"
#include "cw/core/util.h"
#include "cw/mail/render.h"
#include "cw/notify/templates.h"

/* A file of the source tree, from the working directory or from the binary
 * (BUILD/tests/unit/test_render). Caller frees. */
static char *
src_file(const char *rel)
{
	char exe[PATH_MAX], *slash;
	ssize_t n;

	if (access(rel, R_OK) == 0)
		return cw_strdup(rel);
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	assert_true(n > 0);
	exe[n] = '\0';
	for (int i = 0; i < 4; i++) {
		slash = strrchr(exe, '/');
		assert_non_null(slash);
		*slash = '\0';
	}
	return cw_asprintf("%s/%s", exe, rel);
}

static char *
slurp(const char *path)
{
	struct cw_buf b = CW_BUF_INIT;
	char chunk[4096];
	size_t n;
	FILE *f = fopen(path, "rb");

	if (f == NULL)
		return NULL;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		cw_buf_add(&b, chunk, n);
	fclose(f);
	return cw_buf_detach(&b);
}

/* The record of tests/golden/enrich.ndjson whose cartId is id. */
static json_t *
golden_record(const char *id)
{
	char *path = src_file("tests/golden/enrich.ndjson");
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	json_t *found = NULL;

	assert_non_null(f);
	while (found == NULL && getline(&line, &cap, f) != -1) {
		json_t *j = json_loads(line, 0, NULL);

		if (j != NULL && strcmp(json_string_value(json_object_get(j, "cartId")), id) == 0)
			found = j;
		else
			json_decref(j);
	}
	free(line);
	fclose(f);
	free(path);
	assert_non_null(found);
	return found;
}

static struct cw_render *
shipped(void)
{
	char *h = src_file("templates/cart.html"), *t = src_file("templates/cart.txt");
	char *s = src_file("templates/cart.subject");
	struct cw_render *r;
	cw_err e;

	r = cw_render_new(&(struct cw_render_opts){.html = h, .text = t, .subject_file = s},
	    &e);
	if (r == NULL)
		fail_msg("%s", e.msg);
	free(h);
	free(t);
	free(s);
	return r;
}

/* Renders src (of kind) with the JSON text data; *warnings (when not NULL)
 * are the render's warnings, "" for none. Caller frees both. */
static char *
render_warned(const char *src, enum cw_tmpl_kind kind, const char *data,
    char **warnings)
{
	json_t *d = json_loads(data, 0, NULL);
	struct cw_tmpl *t;
	char *out, *w;
	cw_err e;

	assert_non_null(d);
	if ((t = cw_tmpl_parse(src, strlen(src), kind, "t", &e)) == NULL)
		fail_msg("%s", e.msg);
	out = cw_tmpl_render(t, d);
	w = cw_tmpl_warnings(t);
	if (warnings != NULL)
		*warnings = w != NULL ? w : cw_strdup("");
	else
		free(w);
	cw_tmpl_free(t);
	json_decref(d);
	return out;
}

static char *
render_str(const char *src, enum cw_tmpl_kind kind, const char *data)
{
	return render_warned(src, kind, data, NULL);
}

static void
expect(const char *src, enum cw_tmpl_kind kind, const char *data, const char *want)
{
	char *got = render_str(src, kind, data);

	assert_string_equal(got, want);
	free(got);
}

/* The error a template is refused with. */
static void
refused(const char *src, enum cw_tmpl_kind kind, const char *why)
{
	struct cw_tmpl *t;
	cw_err e;

	e.msg[0] = '\0';
	t = cw_tmpl_parse(src, strlen(src), kind, "t.html", &e);
	if (t != NULL) {
		cw_tmpl_free(t);
		fail_msg("accepted: %s", src);
	}
	if (strstr(e.msg, why) == NULL)
		fail_msg("\"%s\": error \"%s\" lacks \"%s\"", src, e.msg, why);
}

/* Golden output: three records of cart-enrich's golden file through the
 * shipped templates. CW_UPDATE_GOLDEN=1 rewrites the files instead. */
static void
test_golden(void **state)
{
	static const char *const ids[] = {
		"repeat-late",     /* Zoë Ångström: non-ASCII, 2 products x 3 viewports */
		"images-missing",  /* no image, and an image with empty URLs */
		"tie-b",           /* 花子 田中 */
		"guest-empty-id",  /* no name at all */
	};
	struct cw_render *r = shipped();

	(void)state;
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		json_t *rec = golden_record(ids[i]);
		struct cw_email m;
		char *rel = cw_asprintf("tests/unit/render/%s.golden", ids[i]);
		char *path = src_file(rel), *got, *want;

		cw_render_email(r, rec, &m);
		got = cw_asprintf("Subject: %s\n--- text ---\n%s--- html ---\n%s", m.subject,
		    m.text, m.html);
		if (getenv("CW_UPDATE_GOLDEN") != NULL) {
			FILE *f = fopen(path, "w");

			assert_non_null(f);
			fputs(got, f);
			fclose(f);
		}
		want = slurp(path);
		if (want == NULL)
			fail_msg("%s: cannot read", path);
		assert_string_equal(got, want);
		free(want);
		free(got);
		free(path);
		free(rel);
		cw_email_free(&m);
		json_decref(rec);
	}
	cw_render_free(r);
}

/* The whole message of each golden record, byte for byte, its random
 * boundary replaced by "BOUNDARY": what SMTP sends and the preview's .eml
 * hold. CW_UPDATE_GOLDEN=1 rewrites the files instead. */
static void
test_golden_eml(void **state)
{
	static const char *const ids[] = {
		"repeat-late", "images-missing", "tie-b", "guest-empty-id",
	};
	struct cw_render *r = shipped();

	(void)state;
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		json_t *rec = golden_record(ids[i]);
		char *rel = cw_asprintf("tests/unit/render/%s.eml.golden", ids[i]);
		char *path = src_file(rel), *out, *want, *bnd, *q;
		struct cw_buf got = CW_BUF_INIT;
		struct cw_email m;
		const char *p;
		size_t n;
		cw_err e;

		cw_render_email(r, rec, &m);
		/* 2026-11-24T12:34:56Z */
		if (cw_mime_notification(&m, rec, "Contoso Sh\xc3\xb6p <shop@contoso.example>",
		    (time_t)1795523696, &out, &n, &e) != 0)
			fail_msg("%s: %s", ids[i], e.msg);
		assert_int_equal(strlen(out), n);
		assert_non_null(p = strstr(out, "boundary=\""));
		p += strlen("boundary=\"");
		assert_non_null(q = strchr(p, '"'));
		bnd = cw_strndup(p, (size_t)(q - p));
		for (p = out; (q = strstr(p, bnd)) != NULL; p = q + strlen(bnd)) {
			cw_buf_add(&got, p, (size_t)(q - p));
			cw_buf_adds(&got, "BOUNDARY");
		}
		cw_buf_adds(&got, p);
		if (getenv("CW_UPDATE_GOLDEN") != NULL) {
			FILE *f = fopen(path, "wb");

			assert_non_null(f);
			fwrite(got.data, 1, got.len, f);
			fclose(f);
		}
		want = slurp(path);
		if (want == NULL)
			fail_msg("%s: cannot read", path);
		assert_string_equal(got.data, want);
		free(want);
		free(bnd);
		free(out);
		cw_buf_free(&got);
		free(path);
		free(rel);
		cw_email_free(&m);
		json_decref(rec);
	}
	cw_render_free(r);
}

static void
test_golden_facts(void **state)
{
	struct cw_render *r = shipped();
	json_t *rec = golden_record("repeat-late");
	struct cw_email m;
	const char *p;
	int n;

	(void)state;
	cw_render_email(r, rec, &m);
	assert_string_equal(m.subject, "Zoë, you left something in your cart");
	assert_non_null(strstr(m.text, "Hi Zoë,"));
	/* one <source> per viewport: 2 products x 3 */
	for (n = 0, p = m.html; (p = strstr(p, "<source srcset=\"")) != NULL; p++)
		n++;
	assert_int_equal(n, 6);
	for (n = 0, p = m.html; (p = strstr(p, "<picture>")) != NULL; p++)
		n++;
	assert_int_equal(n, 2);
	/* the default image is the 315px one (useForDefaultImageTag) */
	assert_non_null(strstr(m.html, "<img src=\"https://images.example.com/cms/"
	    "imageFileData/search?fileName=/Products/ABC_000_001.png&amp;w=315&amp;h=315"
	    "&amp;q=80&amp;m=6&amp;f=jpg\" alt=\"Blue silk scarf\""));
	assert_non_null(strstr(m.html, "media=\"(min-width:769px) and (max-width:1599px)\""));
	assert_non_null(strstr(m.html, "<a href=\"https://shop.example.com/cart\""));
	assert_non_null(strstr(m.html, "$49.99 each"));
	assert_non_null(strstr(m.html, "Subtotal: <strong>$119.88</strong>"));
	assert_non_null(strstr(m.html, "Quantity: 2"));
	/* the record is not changed by the defaultImage added for the templates */
	assert_null(json_object_get(json_object_get(json_array_get(json_object_get(rec,
	    "orderDetails"), 0), "productImage"), "defaultImage"));
	cw_email_free(&m);
	json_decref(rec);

	/* no image, or one without URLs: no picture at all */
	rec = golden_record("images-missing");
	cw_render_email(r, rec, &m);
	assert_null(strstr(m.html, "<picture"));
	assert_null(strstr(m.html, "<img"));
	assert_null(strstr(m.html, "src=\"\""));
	assert_non_null(strstr(m.html, "Aviator Sunglasses"));
	cw_email_free(&m);
	json_decref(rec);

	/* a guest: no name, and no stray blanks in the subject */
	rec = golden_record("guest-empty-id");
	cw_render_email(r, rec, &m);
	assert_string_equal(m.subject, "You left something in your cart");
	assert_non_null(strstr(m.text, "Hello,"));
	cw_email_free(&m);
	json_decref(rec);
	cw_render_free(r);
}

/* The shipped templates' unsubscribe link: shown with unsubscribeUrl,
 * nothing (and no warning) without it. */
static void
test_unsubscribe_link(void **state)
{
	struct cw_render *r = shipped();
	json_t *rec = golden_record("repeat-late");
	struct cw_email m;
	char *w;

	(void)state;
	cw_render_email(r, rec, &m);
	w = cw_render_warnings(r);
	if (w != NULL)
		fail_msg("warnings: %s", w);
	assert_null(strstr(m.html, "Unsubscribe"));
	assert_null(strstr(m.text, "stop these reminders"));
	cw_email_free(&m);

	json_object_set_new(rec, "unsubscribeUrl",
	    json_string("https://shop.example.com/unsub?t=b0BleC5pbw.crdQ&x=1"));
	cw_render_email(r, rec, &m);
	assert_null(cw_render_warnings(r));
	assert_non_null(strstr(m.html, "<a href=\"https://shop.example.com/unsub?t=b0BleC5pbw.crdQ"
	    "&amp;x=1\" target=\"_blank\" style=\"color:#6b7280;\">Unsubscribe</a>"));
	assert_non_null(strstr(m.text, "\nTo stop these reminders: "
	    "https://shop.example.com/unsub?t=b0BleC5pbw.crdQ&x=1\n"));
	cw_email_free(&m);
	json_decref(rec);
	cw_render_free(r);
}

static void
test_html_escaping(void **state)
{
	static const char nasty[] = "<script>alert(\"x\")</script> & \"Co\" 'q' `b`";
	struct cw_render *r = shipped();
	json_t *rec = golden_record("repeat-late");
	struct cw_email m;

	(void)state;
	expect("<p title=\"{{n}}\">{{n}}</p>", CW_TMPL_HTML,
	    "{\"n\": \"<script>alert(\\\"x\\\")</script> & \\\"Co\\\" 'q' `b`\"}",
	    "<p title=\"&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &quot;Co&quot; "
	    "&#39;q&#39; &#96;b&#96;\">&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; "
	    "&amp; &quot;Co&quot; &#39;q&#39; &#96;b&#96;</p>");
	/* the text template takes values as they are */
	expect("{{n}}", CW_TMPL_TEXT, "{\"n\": \"<b>&amp;</b> \\\"x\\\"\"}", "<b>&amp;</b> \"x\"");

	/* through the shipped template, in the product name, alt text and names */
	json_object_set_new(json_array_get(json_object_get(rec, "orderDetails"), 0),
	    "productName", json_string(nasty));
	json_object_set_new(json_object_get(json_array_get(json_object_get(rec,
	    "orderDetails"), 0), "productImage"), "altText", json_string(nasty));
	json_object_set_new(rec, "firstName", json_string("<i>Eve</i>"));
	cw_render_email(r, rec, &m);
	assert_null(strstr(m.html, "<script"));
	assert_null(strstr(m.html, "<i>"));
	assert_non_null(strstr(m.html, ">&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; "
	    "&amp; &quot;Co&quot; &#39;q&#39; &#96;b&#96;</p>"));
	assert_non_null(strstr(m.html, "alt=\"&lt;script&gt;alert(&quot;x&quot;)"));
	assert_non_null(strstr(m.html, "&lt;i&gt;Eve&lt;/i&gt;, you left"));
	assert_non_null(strstr(m.text, nasty));
	assert_string_equal(m.subject, "<i>Eve</i>, you left something in your cart");
	cw_email_free(&m);
	json_decref(rec);
	cw_render_free(r);
}

static void
url_is(const char *in, const char *want, int want_changed)
{
	int changed = -1;
	char *got = cw_url_safe(in, &changed);

	assert_string_equal(got, want);
	assert_int_equal(changed, want_changed);
	free(got);
}

static void
test_urls(void **state)
{
	struct cw_render *r = shipped();
	json_t *rec = golden_record("repeat-late");
	struct capture cap;
	struct cw_email m;
	char *err, *out;

	(void)state;
	url_is("https://shop.example.com/cart?a=1&b=2#x", "https://shop.example.com/cart?a=1&b=2#x", 0);
	url_is("HTTP://CDN.EXAMPLE.NET/IMG.PNG", "HTTP://CDN.EXAMPLE.NET/IMG.PNG", 0);
	url_is("mailto:help@example.com", "mailto:help@example.com", 0);
	url_is("/relative/path?x=1:2", "/relative/path?x=1:2", 0);
	url_is("cart", "cart", 0);
	url_is("  https://x.example/a b\t ", "https://x.example/a%20b", 0);
	url_is("", "", 0);
	url_is("https://x.example/a\x01" "b\x7f c\td\r\ne f", "https://x.example/a%01b%7F%20cde%20f", 0);
	/* negative: every scheme that runs code or carries content */
	url_is("javascript:alert(1)", "about:invalid", 1);
	url_is("JaVaScRiPt:alert(1)", "about:invalid", 1);
	url_is(" \x01javascript:alert(1)", "about:invalid", 1);
	url_is("java\tscr\nipt:alert(1)", "about:invalid", 1);
	url_is("data:text/html,<script>alert(1)</script>", "about:invalid", 1);
	url_is("vbscript:msgbox", "about:invalid", 1);
	url_is("file:///etc/passwd", "about:invalid", 1);

	/* in the shipped template: the button and the link, warned about once */
	json_object_set_new(rec, "returnToCartUrl", json_string("javascript:alert(document.cookie)"));
	json_object_set_new(json_array_get(json_object_get(json_object_get(json_array_get(
	    json_object_get(rec, "orderDetails"), 0), "productImage"), "viewPortImages"), 0),
	    "url", json_string("data:image/svg+xml,<svg onload=alert(1)>"));
	capture_begin(&cap);
	cw_render_email(r, rec, &m);
	cw_email_free(&m);
	cw_render_email(r, rec, &m);
	err = capture_end(&cap);
	assert_string_equal(err, "");  /* the caller prints them */
	free(err);
	err = cw_render_warnings(r);
	assert_non_null(err);
	/* no attribute starts with them; as text the link shows what it was */
	assert_null(strstr(m.html, "\"javascript:"));
	assert_null(strstr(m.html, "data:image"));
	assert_non_null(strstr(m.html, ">javascript:alert(document.cookie)</a>"));
	assert_non_null(strstr(m.html, "<a href=\"about:invalid\" target=\"_blank\" "
	    "style=\"display:inline-block"));
	assert_non_null(strstr(m.html, "<source srcset=\"about:invalid\" media=\"(max-width:768px)\">"));
	/* as text the URL is harmless, and shown as it is */
	assert_non_null(strstr(m.text, "javascript:alert(document.cookie)"));
	assert_non_null(strstr(err, "{{returnToCartUrl}}: a URL with an unsafe scheme"));
	assert_non_null(strstr(err, "{{url}}: a URL with an unsafe scheme"));
	/* two href tags and one srcset tag, each once though rendered twice */
	{
		int n = 0;

		for (const char *p = err; (p = strstr(p, "unsafe scheme")) != NULL; p++)
			n++;
		assert_int_equal(n, 3);
	}
	assert_null(strstr(err, "document.cookie"));  /* URLs are not echoed */
	free(err);
	cw_email_free(&m);
	json_decref(rec);
	cw_render_free(r);

	/* a value after a literal scheme is a part of the URL: escaped only */
	out = render_str("<a href=\"https://shop.example.com/c/{{id}}\">", CW_TMPL_HTML,
	    "{\"id\": \"a&b javascript:x\"}");
	assert_string_equal(out, "<a href=\"https://shop.example.com/c/a&amp;b javascript:x\">");
	free(out);
	/* a value that starts the URL is checked, and the warning names it */
	out = render_warned("<a href=' {{u}}'>", CW_TMPL_HTML, "{\"u\": \"javascript:x\"}",
	    &err);
	assert_string_equal(out, "<a href=' about:invalid'>");
	assert_non_null(strstr(err, "t:1: {{u}}: a URL with an unsafe scheme"));
	free(err);
	free(out);
}

static void
test_html_contexts(void **state)
{
	(void)state;
	/* accepted */
	expect("<!-- {{x}} --><p>{{x}}</p>", CW_TMPL_HTML, "{\"x\": \"-->\"}",
	    "<!-- &#45;&#45;&gt; --><p>--&gt;</p>");
	expect("<script>var a = \"</p>\";</script><p>{{x}}</p>", CW_TMPL_HTML,
	    "{\"x\": \"1\"}", "<script>var a = \"</p>\";</script><p>1</p>");
	expect("<img alt='{{x}}' src=\"{{u}}\">", CW_TMPL_HTML,
	    "{\"x\": \"it's\", \"u\": \"https://e.example/i.png\"}",
	    "<img alt='it&#39;s' src=\"https://e.example/i.png\">");
	expect("<title>{{x}}</title>", CW_TMPL_HTML, "{\"x\": \"</title>\"}",
	    "<title>&lt;/title&gt;</title>");
	/* refused: anywhere a value could become markup, script or style */
	refused("<a {{x}}>", CW_TMPL_HTML, "t.html:1: a value may stand only in text");
	refused("<{{x}}>", CW_TMPL_HTML, "only in text");
	refused("<a href={{x}}>", CW_TMPL_HTML, "must be in quotes");
	refused("<a href=x{{x}}>", CW_TMPL_HTML, "must be in quotes");
	refused("<a\nonclick=\"go({{x}})\">", CW_TMPL_HTML, "t.html:2: a value may not stand in "
	    "a \"onclick\" attribute");
	refused("<div style=\"color:{{x}}\">", CW_TMPL_HTML, "\"style\" attribute");
	refused("<script>var x = \"{{x}}\";</script>", CW_TMPL_HTML, "inside <script>");
	refused("<STYLE>p { color: {{x}} }</STYLE>", CW_TMPL_HTML, "inside <style>");
	refused("<a href=\"{{x}}\" {{y}}>", CW_TMPL_HTML, "only in text");
}

static void
test_syntax(void **state)
{
	(void)state;
	refused("{{{x}}}", CW_TMPL_HTML, "t.html:1: {{{}}: values are always escaped");
	refused("{{&x}}", CW_TMPL_TEXT, "always escaped");
	refused("a\n{{>partial}}", CW_TMPL_TEXT, "t.html:2: {{>}}: partials");
	refused("{{=<% %>=}}", CW_TMPL_TEXT, "delimiter");
	refused("x\n{{#a}}\nnever closed", CW_TMPL_TEXT, "t.html:2: {{#a}} is never closed");
	refused("{{/a}}", CW_TMPL_TEXT, "{{/a}} closes nothing");
	refused("{{#a}}{{/b}}", CW_TMPL_TEXT, "{{/b}} closes {{#a}}");
	refused("{{#a}}{{#b}}{{/a}}{{/b}}", CW_TMPL_TEXT, "{{/a}} closes {{#b}}");
	refused("text {{x", CW_TMPL_TEXT, "{{ without }}");
	refused("{{a b}}", CW_TMPL_TEXT, "bad tag name \"a b\"");
	refused("{{a..b}}", CW_TMPL_TEXT, "bad tag name");
	refused("{{}}", CW_TMPL_TEXT, "bad tag name");
	refused("{{x}}\n", CW_TMPL_LINE, "must be one line");
	refused("ok\n\xc3(", CW_TMPL_TEXT, "t.html:2: not UTF-8");
	refused("\xed\xa0\x80", CW_TMPL_TEXT, "not UTF-8");  /* a surrogate */
	refused("\xc0\xaf", CW_TMPL_TEXT, "not UTF-8");      /* overlong */
}

static void
test_sections(void **state)
{
	(void)state;
	expect("{{#l}}[{{n}}]{{/l}}", CW_TMPL_TEXT, "{\"l\": [{\"n\": 1}, {\"n\": 2}]}", "[1][2]");
	expect("{{#l}}x{{/l}}{{^l}}none{{/l}}", CW_TMPL_TEXT, "{\"l\": []}", "none");
	expect("{{#o}}{{a}}-{{top}}{{/o}}", CW_TMPL_TEXT,
	    "{\"o\": {\"a\": \"in\"}, \"top\": \"out\"}", "in-out");
	expect("{{#b}}yes{{/b}}{{^b}}no{{/b}}", CW_TMPL_TEXT, "{\"b\": true}", "yes");
	expect("{{#b}}yes{{/b}}{{^b}}no{{/b}}", CW_TMPL_TEXT, "{\"b\": false}", "no");
	expect("{{#b}}yes{{/b}}{{^b}}no{{/b}}", CW_TMPL_TEXT, "{\"b\": null}", "no");
	expect("{{#b}}yes{{/b}}{{^b}}no{{/b}}", CW_TMPL_TEXT, "{\"b\": \"\"}", "no");
	expect("{{#b}}yes{{/b}}{{^b}}no{{/b}}", CW_TMPL_TEXT, "{\"b\": 0}", "no");
	expect("{{#b}}{{.}}{{/b}}", CW_TMPL_TEXT, "{\"b\": \"str\"}", "str");
	expect("{{#l}}{{.}},{{/l}}", CW_TMPL_TEXT, "{\"l\": [\"a\", 2, 2.5, true, null]}",
	    "a,2,2.5,true,,");
	expect("{{a.b.c}}|{{a.x.c}}|{{a}}", CW_TMPL_TEXT, "{\"a\": {\"b\": {\"c\": \"deep\"}}}",
	    "deep||");
	/* nested lists, the inner one seeing the outer item and the top */
	expect("{{#o}}{{#i}}{{n}}{{v}}{{c}};{{/i}}{{/o}}", CW_TMPL_TEXT,
	    "{\"c\": \"$\", \"o\": [{\"n\": \"a\", \"i\": [{\"v\": 1}, {\"v\": 2}]},"
	    "{\"n\": \"b\", \"i\": [{\"v\": 3}]}]}", "a1$;a2$;b3$;");
	/* lines holding only a section tag or a comment leave nothing behind */
	expect("top\n  {{#l}}\n- {{.}}\n  {{/l}}\n{{! note }}\nend\n", CW_TMPL_TEXT,
	    "{\"l\": [\"a\", \"b\"]}", "top\n- a\n- b\nend\n");
	expect("a {{#l}}x{{/l}} b\r\n{{#l}}\r\ny\r\n{{/l}}\r\n", CW_TMPL_TEXT,
	    "{\"l\": [1]}", "a x b\r\ny\r\n");
	/* the subject: no line break can come from a value */
	expect("{{n}}, hi", CW_TMPL_LINE, "{\"n\": \"Eve\\r\\nBcc: x@example.com\\t\"}",
	    "Eve  Bcc: x@example.com , hi");
}

static void
test_unknown_warns_once(void **state)
{
	static const char src[] =
	    "{{known}}\n{{nope}}{{nul}}{{known.deeper}}{{#gone}}x{{/gone}}";
	struct cw_tmpl *t;
	struct capture cap;
	json_t *d = json_pack("{s:s,s:n}", "known", "k", "nul");
	char *out, *err;
	cw_err e;

	(void)state;
	t = cw_tmpl_parse(src, strlen(src), CW_TMPL_TEXT, "mail.txt", &e);
	assert_non_null(t);
	/* the engine prints nothing: the warnings are the caller's to print */
	capture_begin(&cap);
	out = cw_tmpl_render(t, d);
	free(out);
	out = cw_tmpl_render(t, d);
	err = capture_end(&cap);
	assert_string_equal(err, "");
	free(err);
	err = cw_tmpl_warnings(t);
	assert_non_null(err);
	assert_string_equal(out, "k\n");
	assert_non_null(strstr(err, "mail.txt:2: {{nope}}: no such field\n"));
	assert_non_null(strstr(err, "mail.txt:2: {{gone}}: no such field\n"));
	/* once each, though rendered twice; null and a missing sub-field are fine */
	assert_null(strstr(strstr(err, "{{nope}}") + 1, "{{nope}}"));
	assert_null(strstr(err, "nul}}"));
	assert_null(strstr(err, "deeper"));
	free(err);
	/* ...and handed over once */
	assert_null(cw_tmpl_warnings(t));
	free(out);
	cw_tmpl_free(t);
	json_decref(d);
}

static void
test_default_image(void **state)
{
	struct cw_render *r = shipped();
	json_t *rec = golden_record("repeat-late"), *vps;
	struct cw_email m;

	(void)state;
	/* no viewport flagged: the last one is the <img> */
	vps = json_object_get(json_object_get(json_array_get(json_object_get(rec,
	    "orderDetails"), 1), "productImage"), "viewPortImages");
	json_array_clear(vps);
	json_array_append_new(vps, json_pack("{s:s,s:s,s:b}", "url", "https://i.example/a.jpg",
	    "media", "(max-width:768px)", "useForDefaultImageTag", 0));
	json_array_append_new(vps, json_pack("{s:s,s:s,s:b}", "url", "https://i.example/b.jpg",
	    "media", "(min-width:769px)", "useForDefaultImageTag", 0));
	cw_render_email(r, rec, &m);
	assert_non_null(strstr(m.html, "<img src=\"https://i.example/b.jpg\" alt=\"Brown leather tote\""));
	cw_email_free(&m);
	/* the first flagged one otherwise */
	json_object_set_new(json_array_get(vps, 0), "useForDefaultImageTag", json_true());
	cw_render_email(r, rec, &m);
	assert_non_null(strstr(m.html, "<img src=\"https://i.example/a.jpg\""));
	cw_email_free(&m);
	json_decref(rec);
	cw_render_free(r);
}

/* The record is the caller's: rendering fixes the images of a view of it
 * that shares what it does not change, and leaves the record as it was. */
static void
test_record_untouched(void **state)
{
	static const char *const ids[] = { "repeat-late", "images-missing" };
	struct cw_render *r = shipped();

	(void)state;
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		json_t *rec = golden_record(ids[i]), *before = json_deep_copy(rec);
		struct cw_email m;

		cw_render_email(r, rec, &m);
		assert_true(json_equal(rec, before));
		cw_email_free(&m);
		json_decref(before);
		json_decref(rec);
	}
	cw_render_free(r);
}

static char *
tmpdir(void)
{
	const char *t = getenv("TMPDIR");
	char *d = cw_asprintf("%s/cw-render.XXXXXX", t && *t ? t : "/tmp");

	assert_non_null(mkdtemp(d));
	return d;
}

static void
write_file(const char *path, const char *s)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(s, f);
	fclose(f);
}

static void
test_files(void **state)
{
	char *dir = tmpdir(), *p, *q, *cfgp, *tdir;
	struct cw_config *c;
	struct cw_render *r;
	struct cw_email m;
	json_t *rec = golden_record("repeat-late");
	cw_err e;

	(void)state;
	/* a missing template: a clear error naming the file */
	p = cw_asprintf("%s/none.html", dir);
	q = src_file("templates/cart.txt");
	assert_null(cw_render_new(&(struct cw_render_opts){.html = p, .text = q}, &e));
	free(p);
	p = cw_asprintf("%s/none.html: No such file or directory", dir);
	assert_string_equal(e.msg, p);
	free(p);

	/* a template that is not UTF-8, or does not parse: file and line */
	p = cw_asprintf("%s/bad.html", dir);
	write_file(p, "<p>\n{{#x}}\n</p>\n");
	assert_null(cw_render_new(&(struct cw_render_opts){.html = p, .text = q}, &e));
	assert_non_null(strstr(e.msg, "bad.html:2: {{#x}} is never closed"));
	/* a bad subject */
	write_file(p, "<p>{{x}}</p>");
	assert_null(cw_render_new(&(struct cw_render_opts){.html = p, .text = q,
	    .subject = "{{{x}}}"}, &e));
	assert_non_null(strstr(e.msg, "subject:1:"));
	/* ...named as the caller calls it */
	assert_null(cw_render_new(&(struct cw_render_opts){.html = p, .text = q,
	    .subject = "{{{x}}}", .subject_name = "Cartwatch.Notify.Smtp.Template.Subject"}, &e));
	assert_non_null(strstr(e.msg, "Cartwatch.Notify.Smtp.Template.Subject:1:"));
	free(p);
	free(q);

	/* the config's keys, relative to the config file */
	p = cw_asprintf("%s/mine.html", dir);
	write_file(p, "<h1>{{firstName}}</h1>");
	free(p);
	p = cw_asprintf("%s/mine.txt", dir);
	write_file(p, "T {{lastName}}");
	free(p);
	cfgp = cw_asprintf("%s/appsettings.json", dir);
	write_file(cfgp, "{\"Cartwatch\": {\"Notify\": {\"Smtp\": {\"Template\": {"
	    "\"Html\": \"mine.html\", \"Text\": \"mine.txt\", \"Subject\": \"Hi {{firstName}}\"}}}}}");
	c = cw_config_load(cfgp, &e);
	assert_non_null(c);
	r = cw_templates_config(c, &e);
	if (r == NULL)
		fail_msg("%s", e.msg);
	cw_render_email(r, rec, &m);
	assert_string_equal(m.html, "<h1>Zoë</h1>");
	assert_string_equal(m.text, "T Ångström");
	assert_string_equal(m.subject, "Hi Zoë");
	cw_email_free(&m);
	cw_render_free(r);
	cw_config_free(c);

	/* a named file that is missing */
	write_file(cfgp, "{\"Cartwatch\": {\"Notify\": {\"Smtp\": {\"Template\": {"
	    "\"Html\": \"gone.html\", \"Text\": \"mine.txt\"}}}}}");
	c = cw_config_load(cfgp, &e);
	assert_non_null(c);
	assert_null(cw_templates_config(c, &e));
	if (strstr(e.msg, "/gone.html: No such file or directory") == NULL)
		fail_msg("%s", e.msg);
	cw_config_free(c);

	/* a bad subject is named by its key */
	write_file(cfgp, "{\"Cartwatch\": {\"Notify\": {\"Smtp\": {\"Template\": {"
	    "\"Html\": \"mine.html\", \"Text\": \"mine.txt\", \"Subject\": \"{{{x}}}\"}}}}}");
	c = cw_config_load(cfgp, &e);
	assert_non_null(c);
	assert_null(cw_templates_config(c, &e));
	assert_non_null(strstr(e.msg, "Cartwatch.Notify.Smtp.Template.Subject:1:"));
	cw_config_free(c);

	/* the shipped ones, found through $CARTWATCH_TEMPLATES */
	tdir = src_file("templates");
	setenv("CARTWATCH_TEMPLATES", tdir, 1);
	p = cw_template_path("cart.html", &e);
	assert_non_null(p);
	assert_non_null(strstr(p, "/templates/cart.html"));
	free(p);
	c = cw_config_empty();
	r = cw_templates_config(c, &e);
	assert_non_null(r);
	cw_render_email(r, rec, &m);
	assert_string_equal(m.subject, "Zoë, you left something in your cart");
	cw_email_free(&m);
	cw_render_free(r);
	/* ...and an empty directory there is an error, not a fallback */
	setenv("CARTWATCH_TEMPLATES", dir, 1);
	assert_null(cw_templates_config(c, &e));
	assert_non_null(strstr(e.msg, "/cart.html: No such file or directory (from "
	    "$CARTWATCH_TEMPLATES)"));
	unsetenv("CARTWATCH_TEMPLATES");
	cw_config_free(c);
	free(tdir);

	p = cw_asprintf("%s/bad.html", dir);
	unlink(p);
	free(p);
	for (const char *f = "mine.html\0mine.txt\0appsettings.json\0"; *f; f += strlen(f) + 1) {
		p = cw_asprintf("%s/%s", dir, f);
		unlink(p);
		free(p);
	}
	rmdir(dir);
	free(dir);
	free(cfgp);
	json_decref(rec);
}

/* The shipped templates per language: the chain de-ch -> de -> the default,
 * "_" and upper case read as tags, a language without templates gets the
 * default; prices written by ICU for the customer's language. */
static void
test_languages(void **state)
{
	static const struct {
		const char *lang, *subject, *html, *price;
	} cases[] = {
		{ "de-de", "Zoë, Sie haben etwas in Ihrem Warenkorb gelassen", "<html lang=\"de\"",
		  "je 49,99\xc2\xa0$" },
		{ "de_CH", "Zoë, Sie haben etwas in Ihrem Warenkorb gelassen", "<html lang=\"de\"",
		  "je $\xc2\xa0" "49.99" },
		{ "DE", "Zoë, Sie haben etwas in Ihrem Warenkorb gelassen", "<html lang=\"de\"", NULL },
		{ "fr-fr", "Zoë, vous avez laissé quelque chose dans votre panier",
		  "<html lang=\"fr\"", "49,99\xc2\xa0$US l’unité" },
		{ "es-mx", "Zoë, olvidaste algo en tu carrito", "<html lang=\"es\"",
		  "USD\xc2\xa0" "49.99 cada uno" },
		{ "nl", "Zoë, je hebt iets in je winkelwagen laten liggen", "<html lang=\"nl\"", NULL },
		{ "ja-jp", "Zoë様、カートに商品が残っています", "<html lang=\"ja\" dir=\"ltr\"",
		  "単価 $49.99" },
		{ "ar-sa", "Zoë، لقد تركت شيئًا في سلتك", "<html lang=\"ar\" dir=\"rtl\"", NULL },
		{ "sv-se", "Zoë, you left something in your cart", "<html lang=\"en\" dir=\"ltr\"",
		  "49,99\xc2\xa0US$ each" },
		{ "", "Zoë, you left something in your cart", "<html lang=\"en\"", "$49.99 each" },
		{ "de-", "Zoë, you left something in your cart", "<html lang=\"en\"", NULL },
		{ "../de", "Zoë, you left something in your cart", "<html lang=\"en\"", NULL },
	};
	struct cw_render *r = shipped();
	json_t *rec = golden_record("repeat-late");
	struct cw_email m;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_object_set_new(rec, "language", json_string(cases[i].lang));
		cw_render_email(r, rec, &m);
		if (strcmp(m.subject, cases[i].subject) != 0)
			fail_msg("%s: subject \"%s\"", cases[i].lang, m.subject);
		if (strstr(m.html, cases[i].html) == NULL)
			fail_msg("%s: no %s", cases[i].lang, cases[i].html);
		if (cases[i].price != NULL && strstr(m.html, cases[i].price) == NULL)
			fail_msg("%s: no \"%s\" in the HTML", cases[i].lang, cases[i].price);
		if (cases[i].price != NULL && strstr(m.text, cases[i].price) == NULL)
			fail_msg("%s: no \"%s\" in the text", cases[i].lang, cases[i].price);
		cw_email_free(&m);
	}
	assert_null(cw_render_warnings(r));
	json_decref(rec);
	cw_render_free(r);
}

/* Prices that are no number stay as they are and leave no subtotal; exact
 * decimals are rounded once, by ICU, to the currency's places. */
static void
test_prices(void **state)
{
	struct cw_render *r = shipped();
	json_t *rec = golden_record("prices-null");
	struct cw_email m;

	(void)state;
	cw_render_email(r, rec, &m);
	assert_non_null(strstr(m.text, "Quantity: 1, Not Specified each"));
	assert_non_null(strstr(m.text, "Quantity: Not specified, $24.00 each"));
	assert_null(strstr(m.text, "Subtotal"));
	assert_null(strstr(m.html, "Subtotal"));
	cw_email_free(&m);
	json_decref(rec);

	/* 0.5 x 1234.5678 + 99999999.99 + 2 x 0.1 + 0 = 100000617.4739 */
	rec = golden_record("prices-awkward");
	cw_render_email(r, rec, &m);
	assert_non_null(strstr(m.text, "Quantity: 0.5, $1,234.57 each"));
	assert_non_null(strstr(m.text, "Quantity: 1, $99,999,999.99 each"));
	assert_non_null(strstr(m.text, "Subtotal: $100,000,617.47\n"));
	cw_email_free(&m);
	/* numbers as JSON numbers, yen without decimals, no currency */
	json_object_set_new(rec, "currency", json_string("JPY"));
	json_object_set_new(json_array_get(json_object_get(rec, "orderDetails"), 0), "quantity",
	    json_integer(3));
	cw_render_email(r, rec, &m);
	assert_non_null(strstr(m.text, "Quantity: 3, \xc2\xa5" "1,235 each"));
	assert_non_null(strstr(m.text, "Subtotal: \xc2\xa5" "100,003,704\n"));
	cw_email_free(&m);
	json_object_del(rec, "currency");
	cw_render_email(r, rec, &m);
	assert_non_null(strstr(m.text, "Quantity: 3, 1,234.5678 each"));
	assert_non_null(strstr(m.text, "Subtotal: 100,003,703.8934\n"));
	cw_email_free(&m);
	/* a currency that is none: the amount as the record has it, and the code */
	json_object_set_new(rec, "currency", json_string("U$"));
	cw_render_email(r, rec, &m);
	assert_non_null(strstr(m.text, "Quantity: 3, 1234.5678 U$ each"));
	cw_email_free(&m);
	json_decref(rec);
	cw_render_free(r);
}

static void
test_store(void **state)
{
	char *h = src_file("templates/cart.html"), *t = src_file("templates/cart.txt");
	char *s = src_file("templates/cart.subject");
	json_t *rec = golden_record("images-missing");
	struct cw_render *r;
	struct cw_email m;
	cw_err e;

	(void)state;
	r = cw_render_new(&(struct cw_render_opts){.html = h, .text = t, .subject_file = s,
	    .store_name = "Contoso & Co", .logo_url = "https://cdn.example.com/logo.png"}, &e);
	assert_non_null(r);
	json_object_set_new(rec, "language", json_string("en-gb"));
	cw_render_email(r, rec, &m);
	assert_string_equal(m.subject, "Mateo, you left something in your cart at Contoso & Co");
	assert_non_null(strstr(m.html, "<img src=\"https://cdn.example.com/logo.png\" alt=\"\""));
	assert_non_null(strstr(m.html, "Contoso &amp; Co"));
	assert_non_null(strstr(m.text, "in your cart at Contoso & Co:"));
	/* a placeholder, not an empty cell, where a product has no picture */
	assert_non_null(strstr(m.html, ">No image</td>"));
	cw_email_free(&m);
	cw_render_free(r);
	json_decref(rec);
	free(h);
	free(t);
	free(s);
}

/* Variants of one's own templates: each part falls back on its own; a
 * broken variant is an error when loading, naming its file. */
static void
test_variants(void **state)
{
	char *dir = tmpdir(), *p;
	json_t *rec = golden_record("repeat-late");
	struct cw_render *r;
	struct cw_email m;
	cw_err e;
	static const char *const files[][2] = {
		{ "m.html", "<p>default</p>" },
		{ "m.txt", "default" },
		{ "m.subject", "Default {{firstName}}\n" },
		{ "m.de.html", "<p>de</p>" },
		{ "m.de-ch.subject", "Grüezi {{firstName}}\r\n" },
		{ "m.pt-br.txt", "br" },
		{ "m.old.bak.html", "<p>{{#x}}</p>" },  /* not a language tag */
		{ "other.fr.html", "<p>{{#x}}</p>" },   /* not m's */
	};
	struct cw_render_opts o;

	(void)state;
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		p = cw_asprintf("%s/%s", dir, files[i][0]);
		write_file(p, files[i][1]);
		free(p);
	}
	o = (struct cw_render_opts){
		.html = cw_asprintf("%s/m.html", dir), .text = cw_asprintf("%s/m.txt", dir),
		.subject_file = cw_asprintf("%s/m.subject", dir),
	};
	if ((r = cw_render_new(&o, &e)) == NULL)
		fail_msg("%s", e.msg);
	json_object_set_new(rec, "language", json_string("de-CH"));
	cw_render_email(r, rec, &m);
	assert_string_equal(m.html, "<p>de</p>");
	assert_string_equal(m.text, "default");
	assert_string_equal(m.subject, "Grüezi Zoë");
	cw_email_free(&m);
	json_object_set_new(rec, "language", json_string("pt-br"));
	cw_render_email(r, rec, &m);
	assert_string_equal(m.text, "br");
	assert_string_equal(m.subject, "Default Zoë");
	cw_email_free(&m);
	json_object_set_new(rec, "language", json_string("pt"));
	cw_render_email(r, rec, &m);
	assert_string_equal(m.text, "default");
	cw_email_free(&m);
	cw_render_free(r);

	p = cw_asprintf("%s/m.nl.html", dir);
	write_file(p, "<p>\n{{#x}}</p>");
	assert_null(cw_render_new(&o, &e));
	if (strstr(e.msg, "/m.nl.html:2: {{#x}} is never closed") == NULL)
		fail_msg("%s", e.msg);
	unlink(p);
	free(p);

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		p = cw_asprintf("%s/%s", dir, files[i][0]);
		unlink(p);
		free(p);
	}
	rmdir(dir);
	free(dir);
	free((char *)o.html);
	free((char *)o.text);
	free((char *)o.subject_file);
	json_decref(rec);
}

/* The store's keys; a logo that is not a web URL is a configuration error. */
static void
test_store_config(void **state)
{
	char *dir = tmpdir(), *cfgp = cw_asprintf("%s/appsettings.json", dir), *tdir, *said;
	json_t *rec = golden_record("repeat-late");
	struct cw_config *c;
	struct cw_render *r;
	struct cw_email m;
	cw_err e;

	(void)state;
	tdir = src_file("templates");
	setenv("CARTWATCH_TEMPLATES", tdir, 1);
	write_file(cfgp, "{\"Cartwatch\": {\"Email\": {\"StoreName\": \"Contoso\","
	    " \"LogoUrl\": \"javascript:alert(1)\"}}}");
	assert_non_null(c = cw_config_load(cfgp, &e));
	r = cw_templates_config(c, &e);
	assert_non_null(r);
	assert_int_equal(cw_config_errors(c), 1);
	said = cw_config_take_said(c);
	assert_non_null(strstr(said, "Cartwatch.Email.LogoUrl: not an http or https URL"));
	free(said);
	cw_render_email(r, rec, &m);
	assert_string_equal(m.subject, "Zoë, you left something in your cart at Contoso");
	assert_null(strstr(m.html, "<img src=\"javascript"));
	cw_email_free(&m);
	cw_render_free(r);
	cw_config_free(c);
	unsetenv("CARTWATCH_TEMPLATES");
	unlink(cfgp);
	rmdir(dir);
	free(dir);
	free(cfgp);
	free(tdir);
	json_decref(rec);
}

/* A template the checker must refuse, and a part of the reason it gives. */
struct refusal {
	const char *src;
	const char *why;
};

/* Every case of the table is tried and every miss reported before the test
 * fails, so that a run against an older checker lists all it lets through. */
static void
refuse_all(const struct refusal *r, size_t n)
{
	int missed = 0;

	for (size_t i = 0; i < n; i++) {
		struct cw_tmpl *t;
		cw_err e;

		e.msg[0] = '\0';
		t = cw_tmpl_parse(r[i].src, strlen(r[i].src), CW_TMPL_HTML, "t.html", &e);
		if (t != NULL) {
			print_message("accepted: %s\n", r[i].src);
			cw_tmpl_free(t);
			missed++;
		} else if (strstr(e.msg, r[i].why) == NULL) {
			print_message("%s\n  refused with \"%s\"\n  which lacks \"%s\"\n",
			    r[i].src, e.msg, r[i].why);
			missed++;
		}
	}
	assert_int_equal(missed, 0);
}

#define REFUSE_ALL(table) refuse_all(table, sizeof(table) / sizeof(table[0]))

/* Renders an HTML template that must be accepted; caller frees. Quiet: the
 * unsafe-URL warnings are checked elsewhere. */
static char *
render_html(const char *src, const char *data)
{
	json_t *d = json_loads(data, 0, NULL);
	struct cw_tmpl *t;
	char *out;
	cw_err e;

	assert_non_null(d);
	if ((t = cw_tmpl_parse(src, strlen(src), CW_TMPL_HTML, "t.html", &e)) == NULL)
		fail_msg("refused: %s: %s", src, e.msg);
	cw_tmpl_quiet(t, 1);
	out = cw_tmpl_render(t, d);
	cw_tmpl_free(t);
	json_decref(d);
	return out;
}

static void
expect_html(const char *src, const char *data, const char *want)
{
	char *got = render_html(src, data);

	assert_string_equal(got, want);
	free(got);
}

/* <script>, <style>, <title>... end only at "</" + their own name + a blank,
 * "/" or ">", as the HTML tokenizer says; everything else stays inside. */
static void
test_raw_text_ends(void **state)
{
	static const struct refusal bad[] = {
		{ "<script>a</scriptx>{{x}}</script>", "t.html:1: a value may not stand "
		    "inside <script>" },
		{ "<script>a</script1>{{x}}</script>", "inside <script>" },
		{ "<style>p{}</style2><p>{{x}}</p></style>", "inside <style>" },
		/* <!-- <script> in a script: its </script> does not end it */
		{ "<script><!--<script></script>{{x}}</script>-->", "inside <script>" },
		{ "<script><!--<SCRIPT\t></script>{{x}}</script>-->", "inside <script>" },
		/* RCDATA: no tags inside <title> or <textarea>, so no attribute either */
		{ "<title><a title=\"</title><img src=x onerror={{x}}>\"></a></title>",
		    "\"onerror\"" },
		{ "<textarea><p title=\"</textarea><b onclick={{x}}>\"></textarea>",
		    "\"onclick\"" },
		/* RAWTEXT beyond <style> */
		{ "<xmp>{{x}}</xmp>", "inside <xmp>" },
		{ "<iframe>{{x}}</iframe>", "inside <iframe>" },
		{ "<noembed>{{x}}</noembed>", "inside <noembed>" },
		{ "<noframes>{{x}}</noframes>", "inside <noframes>" },
	};

	(void)state;
	REFUSE_ALL(bad);
	/* real end tags: a blank, "/" or ">" after the name, in any case */
	expect_html("<script>a</script\t>{{x}}", "{\"x\": \"<\"}", "<script>a</script\t>&lt;");
	expect_html("<script>a</script/>{{x}}", "{\"x\": \"1\"}", "<script>a</script/>1");
	expect_html("<script>a</SCRIPT x=\">\">{{x}}", "{\"x\": \"1\"}",
	    "<script>a</SCRIPT x=\">\">1");
	expect_html("<style>p{}</style\n>{{x}}", "{\"x\": \"1\"}", "<style>p{}</style\n>1");
	/* double escaped: the <script> inside <!-- is ended by the first
	 * </script>, the element by the second */
	expect_html("<script><!--<script >x</script ></script>{{x}}-->", "{\"x\": \"1\"}",
	    "<script><!--<script >x</script ></script>1-->");
	/* an escaped script (<!-- without <script>) ends at its </script> */
	expect_html("<script><!-- a </script>{{x}}", "{\"x\": \"1\"}",
	    "<script><!-- a </script>1");
	/* <title> and <textarea> hold text, and a value is escaped there */
	expect_html("<title>{{x}}</title><textarea>{{x}}</textarea>",
	    "{\"x\": \"</title><script>\"}",
	    "<title>&lt;/title&gt;&lt;script&gt;</title><textarea>&lt;/title&gt;&lt;script&gt;"
	    "</textarea>");
	/* after <plaintext> everything is text */
	expect_html("<plaintext><a href={{x}}>", "{\"x\": \"<b>\"}",
	    "<plaintext><a href=&lt;b&gt;>");
}

/* Comments end as the HTML tokenizer says; the ends that are parse errors,
 * where parsers have disagreed, are refused. */
static void
test_comments(void **state)
{
	static const struct refusal bad[] = {
		{ "<p>\n<!--><img src=x alt={{x}}>-->", "t.html:2: \"<!-->\"" },
		{ "<!---><a href={{x}}>-->", "\"<!--->\"" },
		{ "<!-- a --!><p title={{x}}> -->", "\"--!>\"" },
		/* a value that could end the comment with the text after it */
		{ "<!-- -{{x}}> -->", "a value in a comment" },
		{ "<!--{{x}}-> -->", "a value in a comment" },
		{ "<!-- <{{x}} -->", "a value in a comment" },
		/* Outlook reads a conditional comment as HTML */
		{ "<!--[if mso]><v:roundrect href=\"{{u}}\"></v:roundrect><![endif]-->",
		    "conditional comment" },
		/* a section that would leave the comment in another state */
		{ "<!-- {{#a}}-->{{/a}} -->", "does not end where it starts" },
	};

	(void)state;
	REFUSE_ALL(bad);
	/* nothing in a value can end a comment: "-" and "!" are escaped too */
	expect_html("<!-- {{x}} --><p>{{x}}</p>", "{\"x\": \"--!> -->\"}",
	    "<!-- &#45;&#45;&#33;&gt; &#45;&#45;&gt; --><p>--!&gt; --&gt;</p>");
	/* <!DOCTYPE>, <?...> and <!...> end at the first ">" */
	expect_html("<!DOCTYPE html><? x ><![CDATA[ x >{{x}}", "{\"x\": \"1\"}",
	    "<!DOCTYPE html><? x ><![CDATA[ x >1");
	/* Outlook's "downlevel-revealed" form is a whole comment: HTML follows */
	expect_html("<!--[if !mso]><!--><p>{{x}}</p><!--<![endif]-->", "{\"x\": \"1\"}",
	    "<!--[if !mso]><!--><p>1</p><!--<![endif]-->");
}

/* A section is rendered 0, 1 or many times: it must end in the very HTML
 * context it started in, and may not split a name. */
static void
test_section_contexts(void **state)
{
	static const struct refusal bad[] = {
		{ "<a hr{{#x}}ef{{/x}}=\"{{u}}\">", "{{#x}}: a section tag may not stand in "
		    "an attribute name" },
		{ "<scr{{#x}}ipt{{/x}}>", "{{#x}}: a section tag may not stand in a tag name" },
		{ "<{{#x}}x{{/x}}script>{{v}}</xscript>", "may not stand in a tag name" },
		{ "<a {{#x}}x{{/x}}onclick=\"{{v}}\">", "{{/x}}: a section tag may not stand "
		    "in an attribute name" },
		{ "<a\n{{^x}}x{{/x}}onclick=\"{{v}}\">", "t.html:2: {{/x}}: a section tag" },
		{ "</scr{{#x}}ipt{{/x}}>", "a tag name" },
		{ "<a href=\"x\"{{#x}}>{{/x}}", "does not end where it starts" },
		/* x false: <p title="data-x="VALUE">: the value becomes attribute names */
		{ "<p title=\"{{#x}}\" {{/x}}data-x=\"{{y}}\">", "does not end where it starts" },
		{ "{{#x}}<script>{{/x}}alert(1)</script>", "does not end where it starts" },
		{ "{{#x}}<!-- {{/x}} -->", "does not end where it starts" },
		{ "<a href=\"java{{#x}}script{{/x}}:{{u}}\">", "does not end where it starts" },
		{ "<a href=\"{{#x}}https:{{/x}}{{u}}\">", "does not end where it starts" },
		{ "<a href=\"{{#l}}{{u}}{{/l}}\">", "does not end where it starts" },
		{ "<a {{#x}}checked {{/x}}href=\"{{u}}\">", "an attribute" },
	};

	(void)state;
	REFUSE_ALL(bad);
	/* whole attributes, parts of values, of comments and of scripts are fine */
	expect_html("<a {{#t}}target=\"_blank\" {{/t}}href=\"https://x.example/{{#q}}?q={{q}}"
	    "{{/q}}\" class=\"{{#on}}on{{/on}}\">{{#l}}<b>{{.}}</b>{{/l}}</a>"
	    "<!-- {{#l}}{{.}} {{/l}}--><script>{{#t}}go();{{/t}}</script>",
	    "{\"t\": true, \"q\": \"a b\", \"on\": false, \"l\": [\"-\", 2]}",
	    "<a target=\"_blank\" href=\"https://x.example/?q=a b\" class=\"\"><b>-</b><b>2</b>"
	    "</a><!-- &#45; 2 --><script>go();</script>");
}

/* URL attributes: one value that starts the URL, checked when rendered, or
 * any number after a scheme or path written in the template. */
static void
test_url_rules(void **state)
{
	static const struct refusal bad[] = {
		{ "<a href=\"{{a}}{{b}}\">", "a second value in the \"href\" URL" },
		{ "<a href=\"{{a}}x{{b}}\">", "a second value" },
		{ "<img src='{{a}} {{b}}'>", "a second value" },
		{ "<a href=\"{{a}}:alert(1)\">", "after a value that starts" },
		{ "<a href=\"{{a}}&#58;alert(1)\">", "after a value that starts" },
		{ "<a href=\"x{{u}}\">", "must start it or follow" },
		{ "<a href=\"java{{u}}\">", "must start it or follow" },
		{ "<a href=\"&{{u}}\">", "right after \"&\"" },
		{ "<a href=\"&#{{u}}\">", "right after \"&\"" },
		/* schemes that run or carry code, however they are written */
		{ "<a href=\"javascript:alert(1)\">", "a javascript: URL in the \"href\"" },
		{ "<a href=\"JaVaScRiPt:{{x}}\">", "javascript:" },
		{ "<a href=\"jav&#x61;script:{{x}}\">", "javascript:" },
		{ "<a href=\"jav&#97script:{{x}}\">", "javascript:" },
		{ "<a href=\"java&#9;script&colon;x\">", "javascript:" },
		{ "<a href=\" &#x20;\x01java\n\tscript:{{x}}\">", "javascript:" },
		{ "<a href=\"java&Tab;script:x\">", "javascript:" },
		{ "<form action=\"vbscript:x\">", "a vbscript: URL in the \"action\"" },
		{ "<a href=javascript:alert(1)>", "javascript:" },
		{ "<iframe src=\"data:text/html,<script>alert(1)</script>\">", "data:" },
		{ "<img src=\"data:image/svg+xml,<svg onload=alert(1)>\">", "data:" },
		{ "<img src=\"data:image/png;base64,{{x}}\">", "a value in a data: URL" },
		{ "<a href=\"sms:{{x}}\">", "a value in a sms: URL" },
		{ "<a href=\"data:{{x}}\">", "data:" },
		/* in a list a tab or newline is a separator: a new URL starts */
		{ "<img srcset=\"/a.png,?\tx&colon;{{x}}\">", "a value in a x: URL" },
		{ "<a ping=\"/p\njavascript:{{x}}\">", "a javascript: URL" },
	};
	char *out;

	(void)state;
	REFUSE_ALL(bad);
	/* after a fixed scheme or path, values are parts of the URL */
	expect_html("<a href=\"https://shop.example/{{a}}/{{b}}?c={{c}}#{{d}}\">"
	    "<a href=\"mailto:{{a}}\"><a href=\"/c/{{a}}\"><a href=\"?q={{a}}{{b}}\">"
	    "<a href=\"https&#58;//x/{{a}}\">",
	    "{\"a\": \"javascript:x\", \"b\": \"&\", \"c\": \"1\", \"d\": \"\\\"\"}",
	    "<a href=\"https://shop.example/javascript:x/&amp;?c=1#&quot;\">"
	    "<a href=\"mailto:javascript:x\"><a href=\"/c/javascript:x\">"
	    "<a href=\"?q=javascript:x&amp;\"><a href=\"https&#58;//x/javascript:x\">");
	/* literal URLs of any safe kind, and inline images */
	expect_html("<a href=\"sms:+1555\"><img src=\"data:image/png;base64,iVBO\">"
	    "<a href=\"#top\"><a href=\"https://x/?a=1&amp;b=2\">{{x}}",
	    "{\"x\": 1}", "<a href=\"sms:+1555\"><img src=\"data:image/png;base64,iVBO\">"
	    "<a href=\"#top\"><a href=\"https://x/?a=1&amp;b=2\">1");
	/* a value that starts the URL is neutralised when it renders unsafe, in
	 * every URL attribute; text after it is fine once it has a "/", "?" or "#" */
	out = render_html("<a href=\"{{u}}/x\"><button formaction=\"{{u}}\"><form "
	    "action='{{u}}'><video poster=\"{{u}}\"><td background=\"{{u}}\"><a ping=\"{{u}}\">"
	    "<q cite=\"{{u}}\"><a xlink:href=\"{{u}}\"><img srcset=\"{{ok}} 1x, {{u}} 2x\">"
	    "<img lowsrc=\"{{u}}\"><input src=\"{{u}}\">",
	    "{\"u\": \"\\tJava\\u0001Script:alert(1)\", \"ok\": \"https://i.example/a.png\"}");
	assert_null(strstr(out, "alert"));
	assert_non_null(strstr(out, "srcset=\"https://i.example/a.png 1x, about:invalid 2x\""));
	free(out);
	/* inside a URL of a list, what would split it is percent-encoded */
	expect_html("<img srcset=\"/a.png?q={{q}} 1x\">", "{\"q\": \"a b\\t&\\u007f\\\"c\\n\"}",
	    "<img srcset=\"/a.png?q=a%20b%09&amp;%7F&quot;c%0A 1x\">");
	expect_html("<a href=\"{{u}}\">", "{\"u\": \"&#106;avascript:alert(1)\"}",
	    "<a href=\"&amp;#106;avascript:alert(1)\">");
	expect_html("<a href=\"{{u}}\">", "{\"u\": \"\\u000bjavascript:alert(1)\"}",
	    "<a href=\"about:invalid\">");
	expect_html("<a href=\"{{u}}\">", "{\"u\": \"data:text/html,x\"}",
	    "<a href=\"about:invalid\">");
}

/* Attributes and elements whose content is HTML, script or a resource to run,
 * and markup the checker does not model. */
static void
test_active_content(void **state)
{
	static const struct refusal bad[] = {
		{ "<iframe srcdoc=\"{{x}}\"></iframe>", "a value may not stand in a \"srcdoc\"" },
		{ "<div srcdoc='{{x}}'>", "\"srcdoc\"" },
		{ "<iframe srcdoc=\"<p>{{#x}}hi{{/x}}</p>\">", "{{#x}}: no tag may stand in a "
		    "\"srcdoc\"" },
		{ "<iframe srcdoc=&lt;p&gt;{{x}}>", "\"srcdoc\"" },
		{ "<a onclick='{{x}}'>", "\"onclick\" attribute (script or style)" },
		{ "<a ONMOUSEOVER=\"{{x}}\">", "\"onmouseover\"" },
		{ "<a href=\"#\" onfocus={{x}}>", "\"onfocus\"" },
		{ "<p STYLE='{{x}}'>", "\"style\" attribute" },
		{ "<script src=\"{{u}}\"></script>", "an attribute of <script>" },
		{ "<meta http-equiv=\"refresh\" content=\"0;url={{u}}\">", "<meta>" },
		{ "<link rel=\"stylesheet\" href=\"{{u}}\">", "<link>" },
		{ "<base href=\"{{u}}\">", "<base>" },
		{ "<object data=\"{{u}}\"></object>", "<object>" },
		{ "<embed src=\"{{u}}\">", "<embed>" },
		{ "<iframe src=\"{{u}}\"></iframe>", "<iframe>" },
		{ "<frame src=\"{{u}}\">", "<frame>" },
		{ "<svg><![CDATA[></svg><a title=\"]]><img src=x onerror={{x}}>\">", "t.html:1: "
		    "<svg> is not supported" },
		{ "<p>\n<SVG/><a xlink:href=\"{{u}}\">", "t.html:2: <svg>" },
		{ "<math><mi>{{x}}</mi></math>", "<math>" },
		{ "<noscript><p title=\"</noscript><img src=x onerror={{x}}>\"></noscript>",
		    "<noscript>" },
		/* in a <select>, parsers before 2025 ignore <title>, <style>...: no
		 * raw text starts, and what follows is markup */
		{ "<select><style><a onclick=\"</style>{{x}}\">", "<style> inside <select>" },
		{ "<select><title><a onclick=\"</title>{{x}}\">", "<title> inside <select>" },
		{ "<select><option><xmp><a onclick=\"</xmp>{{x}}\">", "<xmp> inside <select>" },
		{ "<frameset><style><a onclick=\"</style>{{x}}\">", "<frameset>" },
		{ "{{#x}}<select>{{/x}}", "does not end where it starts" },
		{ "{{{x}}}", "{{{}}: values are always escaped" },
		{ "<p>{{& x}}</p>", "{{&}}: values are always escaped" },
		{ "<p title=\"{{{x}}}\">", "always escaped" },
	};

	(void)state;
	REFUSE_ALL(bad);
	/* a closed <select>, or one that <textarea> closes, is no matter */
	expect_html("<select><option>a</select><title>{{x}}</title><select><textarea>{{x}}"
	    "</textarea>", "{\"x\": \"<\"}", "<select><option>a</select><title>&lt;</title>"
	    "<select><textarea>&lt;</textarea>");
}

/* Every HTML template shipped in templates/ and examples/ passes the checker. */
static void
test_shipped_load(void **state)
{
	static const char *const dirs[] = { "templates", "examples" };
	int n = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		char *dir = src_file(dirs[i]), *pat = cw_asprintf("%s/*.html", dir);
		glob_t g;

		if (glob(pat, 0, NULL, &g) == 0) {
			for (size_t j = 0; j < g.gl_pathc; j++) {
				struct cw_tmpl *t;
				cw_err e;

				if ((t = cw_tmpl_load(g.gl_pathv[j], CW_TMPL_HTML, &e)) == NULL)
					fail_msg("%s", e.msg);
				cw_tmpl_free(t);
				n++;
			}
			globfree(&g);
		}
		free(pat);
		free(dir);
	}
	assert_true(n >= 1);
}

/* A refused custom template names its file and line through the loaders. */
static void
test_refusal_names_file(void **state)
{
	char *dir = tmpdir(), *p = cw_asprintf("%s/evil.html", dir);
	char *q = src_file("templates/cart.txt"), *want;
	cw_err e;

	(void)state;
	write_file(p, "<p>\n<p>\n<script>x</scriptx>\n{{firstName}}\n</script>\n");
	assert_null(cw_render_new(&(struct cw_render_opts){.html = p, .text = q}, &e));
	want = cw_asprintf("%s:4: a value may not stand inside <script>", p);
	assert_string_equal(e.msg, want);
	free(want);
	unlink(p);
	rmdir(dir);
	free(p);
	free(q);
	free(dir);
}

/* A template that cannot be read says why, in the words it always used. */
static void
test_load_refusals(void **state)
{
	char *dir = tmpdir(), *p = cw_asprintf("%s/big.html", dir), *want;
	struct cw_tmpl *t;
	FILE *f;
	cw_err e;

	(void)state;
	assert_null(cw_tmpl_load(p, CW_TMPL_HTML, &e));
	want = cw_asprintf("%s: No such file or directory", p);
	assert_string_equal(e.msg, want);
	free(want);
	assert_null(cw_tmpl_load(dir, CW_TMPL_HTML, &e));
	want = cw_asprintf("%s: not a regular file", dir);
	assert_string_equal(e.msg, want);
	free(want);
	assert_non_null(f = fopen(p, "w"));
	for (long i = 0; i <= 1024L * 1024; i++)
		fputc('x', f);
	fclose(f);
	assert_null(cw_tmpl_load(p, CW_TMPL_HTML, &e));
	want = cw_asprintf("%s: larger than 1 MiB", p);
	assert_string_equal(e.msg, want);
	free(want);
	/* 1 MiB itself is allowed. */
	assert_int_equal(truncate(p, 1024L * 1024), 0);
	assert_non_null(t = cw_tmpl_load(p, CW_TMPL_HTML, &e));
	cw_tmpl_free(t);
	unlink(p);
	rmdir(dir);
	free(p);
	free(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_golden),
		cmocka_unit_test(test_golden_eml),
		cmocka_unit_test(test_golden_facts),
		cmocka_unit_test(test_unsubscribe_link),
		cmocka_unit_test(test_html_escaping),
		cmocka_unit_test(test_urls),
		cmocka_unit_test(test_html_contexts),
		cmocka_unit_test(test_syntax),
		cmocka_unit_test(test_sections),
		cmocka_unit_test(test_unknown_warns_once),
		cmocka_unit_test(test_default_image),
		cmocka_unit_test(test_record_untouched),
		cmocka_unit_test(test_files),
		cmocka_unit_test(test_raw_text_ends),
		cmocka_unit_test(test_comments),
		cmocka_unit_test(test_section_contexts),
		cmocka_unit_test(test_url_rules),
		cmocka_unit_test(test_active_content),
		cmocka_unit_test(test_shipped_load),
		cmocka_unit_test(test_refusal_names_file),
		cmocka_unit_test(test_load_refusals),
		cmocka_unit_test(test_languages),
		cmocka_unit_test(test_prices),
		cmocka_unit_test(test_store),
		cmocka_unit_test(test_variants),
		cmocka_unit_test(test_store_config),
	};

	return cmocka_run_group_tests_name("render", tests, NULL, NULL);
}
