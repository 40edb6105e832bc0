/* test_slim: a cart read by cw_cart_slim reads as the full parse reads it, or is left to it. */
#include <float.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "capture.h"
#include "cw/core/jdump.h"
#include "cw/core/jscan.h"
#include "cw/core/json.h"
#include "cw/core/util.h"
#include "cw/d365/cart.h"
#include "cw/tool/ndjson.h"

/* What cart-dedupe keeps besides what cw_cart_check reads. */
static const char *const keys[] = {
	"customerid", "email", "receiptemail", "cartid", "channelid", "id",
	"notificationid", "step", NULL
};

/* Every name the filter looks up, in the spellings it uses. */
static const char *const lookups[] = {
	"Id", "ModifiedDateTime", "CustomerId", "customerId", "ReceiptEmail", "email",
	"cartId", "channelId", "notificationId", "step", NULL
};

/* And of each of its CartLines (cw_cart_check). */
static const char *const line_lookups[] = {"ProductId", "Quantity", "Price", NULL};

static void
lookup(struct cw_buf *b, const json_t *obj, const char *const *names)
{
	for (const char *const *k = names; *k != NULL; k++) {
		char *v = json_dumps(cw_json_iget(obj, *k), JSON_ENCODE_ANY | JSON_COMPACT);

		cw_buf_addf(b, " %s=%s", *k, v != NULL ? v : "-");
		free(v);
	}
}

#define CART "{\"Id\":\"c1\",\"ChannelId\":68719478279,\"CustomerId\":\"026375\"," \
	"\"ReceiptEmail\":\"c1@example.com\",\"ModifiedDateTime\":\"2026-11-24T05:57:40.0885703Z\"," \
	"\"SubtotalAmount\":780.80,\"CartLines\":[{\"LineId\":\"40b1\",\"ProductId\":22565434507," \
	"\"Description\":\"Canvas Bag\",\"Quantity\":2,\"Price\":216.8987,\"IsVoided\":false}," \
	"{\"ProductId\":null,\"Quantity\":1,\"Price\":347}],\"ExtensionProperties\":[]," \
	"\"channelId\":68719478279,\"currency\":\"USD\"}"

/* Lines, and whether the fast path should take each (1) or leave it (0). */
static const struct {
	const char *line;
	int fast;
} lines[] = {
	{CART, 1},
	{" \t{ \"Id\" : \"c2\" ,\t\"ModifiedDateTime\":\"2026-11-24T05:57:40Z\" , \"CartLines\" :"
	    " [ { \"Price\" : 1.5 } , {} ] }\t ", 1},
	{"{\"Id\":\"c3\",\"ModifiedDateTime\":\"2026-11-24T05:57:40Z\",\"Description\":"
	    "\"a \\\"quoted\\\" \\\\ \\/ \\n \\u00e9 \\u20ac\",\"Note\":\"Caf\xc3\xa9 \xe2\x98\x95 "
	    "\xf0\x9d\x84\x9e\"}", 1},
	{"{\"Id\":\"a\\u0062c\",\"ModifiedDateTime\":\"2026-11-24T05:57:40Z\"}", 0},
	{"{\"Id\":\"c5\",\"Cust\\u006fmerId\":\"C1\",\"ModifiedDateTime\":\"2026-11-24T05:57:40Z\"}",
	    0},
	{"{\"Id\":\"c6\",\"Id\":\"c6\",\"ModifiedDateTime\":\"2026-11-24T05:57:40Z\"}", 0},
	{"{\"Id\":\"c7\",\"email\":\"a@x\",\"EMAIL\":\"b@x\",\"ModifiedDateTime\":"
	    "\"2026-11-24T05:57:40Z\"}", 0},
	{"{\"Id\":\"c8\",\"email\":\"a@x\",\"EMAIL\":\"a@x\",\"ModifiedDateTime\":"
	    "\"2026-11-24T05:57:40Z\",\"CartLines\":[{\"Price\":1,\"price\":1}]}", 1},
	{"{\"Id\":\"c9\",\"ModifiedDateTime\":\"2026-11-24T05:57:40Z\",\"CartLines\":"
	    "[{\"x\":{\"a\":1,\"A\":2}}]}", 0},
	{"{\"ModifiedDateTime\":\"2026-11-24T05:57:40Z\"}", 0},
	{"{\"Id\":\"c11\"}", 0},
	{"{\"Id\":\"c12\",\"ModifiedDateTime\":\"yesterday\"}", 0},
	{"{\"Id\":\"\",\"ModifiedDateTime\":\"2026-11-24T05:57:40Z\"}", 0},
	{"{\"Id\":\"c14\",\"ModifiedDateTime\":\"2026-11-24T05:57:40Z\",\"CustomerId\":null,"
	    "\"ReceiptEmail\":null,\"email\":\"\",\"CartLines\":null}", 1},
	{"{\"Id\":\"c15\",\"ModifiedDateTime\":\"2026-11-24T05:57:40Z\",\"CartLines\":\"x\"}", 0},
	{"{\"Id\":\"c16\",\"ModifiedDateTime\":\"2026-11-24T05:57:40Z\",\"CartLines\":[1]}", 0},
	{"{\"Id\":\"c17\",\"ModifiedDateTime\":\"2026-11-24T05:57:40Z\",\"CustomerId\":7}", 0},
	{"{\"Id\":\"c18\",\"ModifiedDateTime\":\"2026-11-24T05:57:40Z\",\"CartLines\":"
	    "[{\"Price\":1e2}]}", 0},
	{"{\"Id\":\"c19\",\"ModifiedDateTime\":\"2026-11-24T05:57:40Z\",\"CartLines\":"
	    "[{\"Price\":\"9.50\",\"Quantity\":-0}]}", 1},
	{"{\"Id\":\"c20\",\"ModifiedDateTime\":\"2026-11-24T05:57:40Z\",\"CartLines\":"
	    "[{\"Price\":true}]}", 0},
	{"{\"Id\":\"c21\",\"ModifiedDateTime\":\"2026-11-24T05:57:40Z\",\"CartLines\":"
	    "[{\"ProductId\":12345678901234567890}]}", 0},
	{"{\"Id\":\"c22\",\"ModifiedDateTime\":\"2026-11-24T05:57:40Z\",\"CartLines\":"
	    "[{\"Price\":1e400}]}", 0},
	{"{\"Id\":\"c23\",\"ModifiedDateTime\":\"2026-11-24T05:57:40Z\",\"CartLines\":"
	    "[{\"Price\":01}]}", 0},
	{"{\"Id\":\"c24\",\"ModifiedDateTime\":\"2026-11-24T05:57:40Z\",\"Note\":\"a\\u0000b\"}",
	    0},
	{"{\"Id\":\"c25\",\"ModifiedDateTime\":\"2026-11-24T05:57:40Z\",\"Note\":\"a\tb\"}", 0},
	{"{\"Id\":\"c26\",\"ModifiedDateTime\":\"2026-11-24T05:57:40Z\",\"Note\":\"\xc3\x28\"}", 0},
	{"{\"Id\":\"c27\",\"ModifiedDateTime\":\"2026-11-24T05:57:40Z\",\"Note\":\"\xc0\xaf\"}", 0},
	{"{\"Id\":\"c28\",\"ModifiedDateTime\":\"2026-11-24T05:57:40Z\",\"Note\":\"\xed\xa0\x80\"}",
	    0},
	{"{\"Id\":\"c29\",\"ModifiedDateTime\":\"2026-11-24T05:57:40Z\",\"Note\":\"\\ud800\"}", 0},
	{"{\"Id\":\"c30\",\"ModifiedDateTime\":\"2026-11-24T05:57:40Z\",\"Note\":"
	    "\"\\ud83d\\ude00\"}", 0},
	{"{\"Id\":\"c31\",\"ModifiedDateTime\":\"2026-11-24T05:57:40Z\",\"channelId\":\"68\"}", 1},
	{"{\"Id\":\"c32\",\"ModifiedDateTime\":\"2026-11-24T05:57:40Z\",\"channelId\":6.5}", 1},
	{"{\"Id\":\"c33\",\"ModifiedDateTime\":\"2026-11-24T05:57:40Z\",\"STEP\":2,"
	    "\"notificationId\":\"n\"}", 1},
	{"{\"Id\":\"c34\",\"ModifiedDateTime\":\"2026-11-24T05:57:40Z\",\"email\":{\"a\":1}}", 0},
	{"{\"Id\":\"c35\",\"ModifiedDateTime\":\"2026-11-24T05:57:40Z\",\"x\":"
	    "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}", 0},
	{"{\"Id\":\"c36\",\"ModifiedDateTime\":\"2026-11-24T05:57:40Z\",}", 0},
	{"{\"Id\":\"c37\",\"ModifiedDateTime\":\"2026-11-24T05:57:40Z\"} x", 0},
	{"{\"Id\":\"c38\",\"ModifiedDateTime\":\"2026-11-24T05:57:40Z\"", 0},
	{"{\"Id\":\"c39\",\"ModifiedDateTime\":\"2026-11-24T05:57:40Z\",\"x\":[1,]}", 0},
	{"{\"Id\":\"c40\",\"ModifiedDateTime\":\"2026-11-24T05:57:40Z\",\"x\":tru}", 0},
	{"[1,2]", 0},
	{"[]", 0},
	{"\"a string\"", 0},
	{"42", 0},
	{"null", 0},
	{"{}", 0},
	{"{\"Id\":\"c47\",\"ModifiedDateTime\":\"2026-11-24T05:57:40Z\",\"x\":-}", 0},
	{"{\"Id\":\"c48\",\"ModifiedDateTime\":\"2026-11-24T05:57:40Z\",\"x\":1.}", 0},
	{"{\"Id\":\"c49\",\"ModifiedDateTime\":\"2026-11-24T05:57:40Z\",\"x\":\"\\x\"}", 0},
	{"{\"Id\":\"c51\",\"ModifiedDateTime\":\"2026-11-24T05:57:40Z\",\"Esc\":"
	    "\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u0001\\u007f\\u0080\\u07ff\\u0800\\uffff\\u00E9\",\"n\":[-0,0.25,"
	    "123456789012345678,-9.000000000000000000001,true,false,null,{},[]]}", 1},
	{"{\"Id\":\"c50\",\"ModifiedDateTime\":\"2026-11-24T05:57:40Z\",\"Price\":-0.0,"
	    "\"CartLines\":[{\"Quantity\":123456789012345678,\"Price\":-0.5}]}", 1},
};

/* What the filter would see of rec, as one line of text. */
static void
describe(struct cw_buf *b, const struct cw_rec *rec)
{
	struct timespec m = {0, 0};
	cw_err e;

	const json_t *cl = cw_json_iget(rec->json, "CartLines"), *line;
	size_t i;

	cw_buf_addf(b, "%lu:", rec->line);
	lookup(b, rec->json, lookups);
	cw_buf_addf(b, " CartLines: %s", cl == NULL ? "-" : json_is_array(cl) ? "array" :
	    json_is_null(cl) ? "null" : "other");
	json_array_foreach(cl, i, line) {
		cw_buf_addf(b, " [%zu]%s", i, json_is_object(line) ? "" : " not an object");
		lookup(b, line, line_lookups);
	}
	if (cw_cart_check(rec->json, &m, &e) != 0)
		cw_buf_addf(b, " bad: %s", e.msg);
	else
		cw_buf_addf(b, " ok %lld.%09ld", (long long)m.tv_sec, m.tv_nsec);
	cw_buf_addf(b, " size>0=%d\n", json_object_size(rec->json) > 0);
}

static int
record(const struct cw_rec *rec, void *ctx)
{
	describe(ctx, rec);
	return CW_REC_OK;
}

/* The whole record, as the callback was handed it. */
static int
record_dump(const struct cw_rec *rec, void *ctx)
{
	char *v = json_dumps(rec->json, JSON_COMPACT);

	cw_buf_addf(ctx, "%lu: %s\n", rec->line, v);
	free(v);
	return CW_REC_OK;
}

static json_t *
slim(const char *text, size_t len)
{
	return cw_cart_slim(text, len, keys);
}

/* The driver over every line, with a stand-in or without (NULL): what the
 * records read like, then what was said on stderr. */
static char *
transcript(json_t *(*fast)(const char *, size_t), cw_rec_fn fn)
{
	struct cw_loop_opts o = {0, NULL, 0, 0, fast};
	struct cw_buf out = CW_BUF_INIT;
	struct capture cap;
	FILE *in = tmpfile();
	char *err;

	for (size_t i = 0; i < sizeof(lines) / sizeof(*lines); i++)
		fprintf(in, "%s\n", lines[i].line);
	rewind(in);
	capture_begin(&cap);
	cw_ndjson_loop_flush(in, "<stdin>", fn, &out, &o, NULL);
	err = capture_end(&cap);
	cw_buf_addf(&out, "stderr:\n%s", err);
	free(err);
	fclose(in);
	return cw_buf_detach(&out);
}

static void
test_same_transcript(void **state)
{
	char *full = transcript(NULL, record), *fast = transcript(slim, record);

	(void)state;
	assert_string_equal(fast, full);
	/* The lines the driver refuses are named by their number. */
	assert_non_null(strstr(full, "<stdin>:6: not JSON: duplicate object key"));
	assert_non_null(strstr(full, "<stdin>:41: not a JSON object"));
	free(full);
	free(fast);
}

/* cw_rec_scanload hands the callback the very records the full parse does. */
static void
test_same_records(void **state)
{
	char *full = transcript(NULL, record_dump);
	char *fast = transcript(cw_rec_scanload, record_dump);

	(void)state;
	assert_string_equal(fast, full);
	assert_non_null(strstr(full, "<stdin>:41: not a JSON object"));
	free(full);
	free(fast);
}

/* Each line is taken by the fast path, or left, as the table says. */
static void
test_taken_or_left(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(lines) / sizeof(*lines); i++) {
		json_t *s = cw_cart_slim(lines[i].line, strlen(lines[i].line), keys);

		if ((s != NULL) != lines[i].fast)
			fail_msg("line %zu: %s by the fast path", i + 1, s ? "taken" : "left");
		json_decref(s);
	}
}

/* cw_json_dump_compact writes what json_dumps does, at every precision. */
static void
same_dump(const json_t *v)
{
	for (int p = 1; p <= 17; p++) {
		struct cw_buf b = CW_BUF_INIT;
		char *want = json_dumps(v, JSON_COMPACT | JSON_REAL_PRECISION(p));

		assert_int_equal(cw_json_dump_compact(&b, v, p), 0);
		cw_buf_add(&b, "", 0);
		if (strcmp(b.data, want) != 0)
			fail_msg("precision %d: wrote %s, Jansson %s", p, b.data, want);
		free(want);
		cw_buf_free(&b);
	}
}

static void
test_same_dump(void **state)
{
	static const double reals[] = {
		0.0, -0.0, 1.0, -1.5, 100.0, 1e21, -1e21, 1e-7, 1.234e-5, 0.1, 1.0 / 3,
		123456789012345678.0, 1e300, 5e-324, DBL_MAX, -DBL_MAX, 216.8987, 1e15,
		1e16, 1e17, 9.5
	};
	json_t *o = json_object(), *a = json_array(), *ctl = json_object();
	char all[128];

	(void)state;
	for (size_t i = 0; i < sizeof(reals) / sizeof(*reals); i++)
		json_array_append_new(a, json_real(reals[i]));
	json_array_append_new(a, json_integer(INT64_MIN));
	json_array_append_new(a, json_integer(INT64_MAX));
	json_array_append_new(a, json_integer(0));
	json_array_append_new(a, json_true());
	json_array_append_new(a, json_false());
	json_array_append_new(a, json_null());
	json_array_append_new(a, json_object());
	json_array_append_new(a, json_array());
	for (int c = 1; c < 128; c++)
		all[c - 1] = (char)c;
	json_array_append_new(a, json_stringn(all, 127));
	json_array_append_new(a, json_string("caf\xc3\xa9 \xe2\x82\xac \xf0\x9d\x84\x9e"));
	json_array_append_new(a, json_stringn("a\0b", 3));
	json_object_set_new(o, "reals and all", a);
	json_object_setn_new(ctl, "k\0\"\\\n\x1f/", 7, json_string("v"));
	json_object_set_new(ctl, "", json_string(""));
	json_object_set_new(o, "keys", ctl);
	json_object_set_new(o, "Z", json_integer(1));
	json_object_set_new(o, "a", json_integer(2));
	same_dump(o);
	same_dump(a);
	json_decref(o);
	for (size_t i = 0; i < sizeof(lines) / sizeof(*lines); i++) {
		json_t *v = json_loads(lines[i].line, 0, NULL);

		if (v != NULL)
			same_dump(v);
		json_decref(v);
	}
}

/* Whenever the scanner vouches for a text, Jansson and the driver take it;
 * whenever cw_cart_slim does, every lookup answers as on the full parse. */
static void
check_one(const char *s, size_t n)
{
	static struct cw_jtok t[4096];
	json_t *full = json_loadb(s, n, JSON_REJECT_DUPLICATES, NULL), *sl;
	const char *a, *b;
	char *where = NULL;
	int twins = full != NULL && cw_json_case_twins(full, &a, &b, &where);

	free(where);
	if (cw_jscan(s, n, t, 4096) >= 0 && (full == NULL || twins))
		fail_msg("scanner took what the driver refuses: %.*s", (int)n, s);
	if ((sl = cw_json_scanload(s, n)) != NULL) {
		json_t *loose = json_loadb(s, n, 0, NULL);
		char *x = json_dumps(sl, JSON_COMPACT), *y = json_dumps(loose, JSON_COMPACT);

		if (full == NULL || twins || loose == NULL || !json_equal(sl, loose) ||
		    strcmp(x, y) != 0)
			fail_msg("scanload made %s of %.*s, Jansson %s", x, (int)n, s, y);
		free(x);
		free(y);
		json_decref(loose);
		json_decref(sl);
	}
	if ((sl = cw_cart_slim(s, n, keys)) != NULL) {
		struct cw_rec fr = {full, 1, "x", NULL, s, n}, sr = {sl, 1, "x", NULL, s, n};
		struct cw_buf x = CW_BUF_INIT, y = CW_BUF_INIT;

		if (!json_is_object(full) || twins)
			fail_msg("slim took what the driver refuses: %.*s", (int)n, s);
		describe(&x, &fr);
		describe(&y, &sr);
		if (strcmp(x.data, y.data) != 0)
			fail_msg("slim reads %.*s\n as %s not as %s", (int)n, s, y.data, x.data);
		cw_buf_free(&x);
		cw_buf_free(&y);
		json_decref(sl);
	}
	if (full != NULL)
		same_dump(full);
	json_decref(full);
}

/* Random edits of the tricky lines (seeded: the same every run). */
static void
test_mutations(void **state)
{
	static const char alphabet[] = "{}[]\",:\\ \t\r\nuU0123456789eE.-+abAB\x80\xc3\xa9\xff\xed\xf0";
	uint64_t seed = 11;
	char buf[2048];
	unsigned long taken = 0;

	(void)state;
	for (int round = 0; round < 60000; round++) {
		const char *base = lines[round % (sizeof(lines) / sizeof(*lines))].line;
		size_t n = strlen(base);
		int edits;

		memcpy(buf, base, n);
		seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
		edits = 1 + (int)(seed >> 60) % 3;
		for (int k = 0; k < edits && n > 1; k++) {
			size_t at;
			char c;

			seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
			at = (size_t)(seed >> 33) % n;
			c = alphabet[(seed >> 20) % (sizeof(alphabet) - 1)];
			switch ((seed >> 10) % 4) {
			case 0:
				buf[at] = c;
				break;
			case 1:  /* insert */
				memmove(buf + at + 1, buf + at, n - at);
				buf[at] = c;
				n++;
				break;
			case 2:  /* delete */
				memmove(buf + at, buf + at + 1, n - at - 1);
				n--;
				break;
			default:  /* flip the case of a letter */
				if ((buf[at] | 0x20) >= 'a' && (buf[at] | 0x20) <= 'z')
					buf[at] ^= 0x20;
			}
		}
		check_one(buf, n);
		if (cw_jscan(buf, n, (struct cw_jtok[64]){0}, 64) >= 0)
			taken++;
	}
	/* Not a test that cannot fail for want of lines the scanner takes. */
	assert_true(taken > 1000);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_transcript),
		cmocka_unit_test(test_same_records),
		cmocka_unit_test(test_same_dump),
		cmocka_unit_test(test_taken_or_left),
		cmocka_unit_test(test_mutations),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
