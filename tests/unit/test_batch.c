/* test_batch: cw_provider_send splits a batch the service refused whole until each bad record is alone. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "cw/core/config.h"
#include "cw/core/json.h"
#include "cw/notify/provider.h"
#include "cw/notify/registry.h"
#include "cw/notify/result.h"

#define MAX 1000

/* A service that refuses every batch holding a record with "bad": true. */
struct fake {
	struct cw_provider p;
	int blame;        /* name the bad records, as SendGrid's field does */
	int calls;
	int fail_call;    /* this call fails whole (1) ... */
	int fail_with;    /* ... or stops the provider (-1) */
	int delivered[MAX];
};

static int
fake_send(struct cw_provider *p, json_t *const *recs, size_t n, json_t **res, cw_err *e)
{
	struct fake *f = (struct fake *)p;
	size_t i, bad = 0;

	f->calls++;
	if (f->calls == f->fail_call) {
		for (i = 0; i < n; i++)
			res[i] = cw_result(recs[i], "failed", "fake", NULL, "fake: down");
		return cw_seterr(e, "fake: down"), f->fail_with;
	}
	for (i = 0; i < n; i++)
		bad += json_is_true(json_object_get(recs[i], "bad"));
	if (bad > 0) {
		for (i = 0; i < n; i++)
			res[i] = f->blame && json_is_true(json_object_get(recs[i], "bad")) ?
			    cw_result(recs[i], "failed", "fake", NULL, "fake: named bad") : NULL;
		cw_seterr(e, "fake: HTTP 400: Does not contain a valid address.");
		return 2;
	}
	for (i = 0; i < n; i++) {
		f->delivered[json_integer_value(json_object_get(recs[i], "i"))]++;
		res[i] = cw_result(recs[i], "sent", "fake", NULL, NULL);
	}
	return 0;
}

static json_t **
make(size_t n, const size_t *bad, size_t nbad)
{
	json_t **recs = calloc(n, sizeof(*recs));
	char id[16];

	for (size_t i = 0; i < n; i++) {
		snprintf(id, sizeof(id), "n%zu", i);
		recs[i] = json_pack("{s:s,s:s,s:I,s:b}", "notificationId", id, "email",
		    "a@example.com", "i", (json_int_t)i, "bad", 0);
	}
	for (size_t j = 0; j < nbad; j++)
		json_object_set_new(recs[bad[j]], "bad", json_true());
	return recs;
}

static void
drop(json_t **recs, json_t **res, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		json_decref(recs[i]);
		json_decref(res[i]);
	}
	free(recs);
	free(res);
}

static const char *
status(json_t *r)
{
	return cw_json_istr(r, "status");
}

/* ceil(log2(n)) */
static int
lg(size_t n)
{
	int k = 0;

	while (((size_t)1 << k) < n)
		k++;
	return k;
}

/* n records, bad ones at bad[]: each good one sent once, each bad one failed
 * with the refusal, in at most max_calls requests. */
static void
check(int blame, size_t n, const size_t *bad, size_t nbad, int max_calls)
{
	struct fake f = {.p = {.name = "fake", .batch = MAX, .send = fake_send}};
	json_t **recs = make(n, bad, nbad), **res = calloc(n, sizeof(*res));
	cw_err e;
	size_t i, j;

	f.blame = blame;
	assert_int_equal(cw_provider_send(&f.p, recs, n, res, &e), 0);
	for (i = 0; i < n; i++) {
		int is_bad = 0;

		for (j = 0; j < nbad; j++)
			is_bad |= bad[j] == i;
		assert_non_null(res[i]);
		assert_string_equal(cw_json_istr(res[i], "notificationId"),
		    cw_json_istr(recs[i], "notificationId"));
		if (is_bad) {
			assert_string_equal(status(res[i]), "failed");
			assert_string_equal(cw_json_istr(res[i], "error"), blame ?
			    "fake: named bad" : "fake: HTTP 400: Does not contain a valid address.");
			assert_int_equal(f.delivered[i], 0);
		} else {
			assert_string_equal(status(res[i]), "sent");
			assert_int_equal(f.delivered[i], 1);
		}
	}
	if (f.calls > max_calls)
		fail_msg("%d requests for %zu records, %zu bad; at most %d", f.calls, n, nbad,
		    max_calls);
	drop(recs, res, n);
}

static void
test_bisect(void **state)
{
	static const size_t one[] = {617}, three[] = {0, 500, 999}, first[] = {0},
	    adjacent[] = {10, 11};

	(void)state;
	/* none bad: one request */
	check(0, MAX, NULL, 0, 1);
	/* about 2·log2(n) more requests per bad record */
	check(0, MAX, one, 1, 1 + 2 * lg(MAX));
	check(0, MAX, three, 3, 1 + 3 * 2 * lg(MAX));
	check(0, MAX, adjacent, 2, 1 + 2 * 2 * lg(MAX));
	check(0, 1, first, 1, 1);
	check(0, 2, first, 1, 3);
}

static void
test_blamed(void **state)
{
	static const size_t one[] = {617}, three[] = {0, 500, 999}, all[] = {0, 1, 2};

	(void)state;
	/* the provider names them: the rest go again in one request */
	check(1, MAX, one, 1, 2);
	check(1, MAX, three, 3, 2);
	check(1, 3, all, 3, 1);
}

/* Every record of a batch bad: 2n-1 requests, and each fails alone. */
static void
test_all_bad(void **state)
{
	static const size_t all[] = {0, 1, 2, 3, 4, 5, 6, 7};

	(void)state;
	check(0, 8, all, 8, 15);
}

/* The service goes down while a batch is split: the half it fails is failed,
 * the other half still goes; a provider that cannot go on fails the rest
 * unsent. */
static void
test_faults(void **state)
{
	static const size_t bad[] = {3};
	struct fake f = {.p = {.name = "fake", .batch = MAX, .send = fake_send}};
	json_t **recs = make(8, bad, 1), **res = calloc(8, sizeof(*res));
	cw_err e;
	size_t i;

	(void)state;
	f.fail_call = 2;        /* the first half (0..3) */
	f.fail_with = 1;
	assert_int_equal(cw_provider_send(&f.p, recs, 8, res, &e), 1);
	assert_string_equal(e.msg, "fake: down");
	for (i = 0; i < 4; i++)
		assert_string_equal(status(res[i]), "failed");
	for (i = 4; i < 8; i++) {
		assert_string_equal(status(res[i]), "sent");
		assert_int_equal(f.delivered[i], 1);
	}
	assert_int_equal(f.calls, 3);
	drop(recs, res, 8);

	memset(&f.delivered, 0, sizeof(f.delivered));
	recs = make(8, bad, 1);
	res = calloc(8, sizeof(*res));
	f.calls = 0;
	f.fail_with = -1;
	assert_int_equal(cw_provider_send(&f.p, recs, 8, res, &e), -1);
	for (i = 0; i < 8; i++) {
		assert_string_equal(status(res[i]), "failed");
		assert_int_equal(f.delivered[i], 0);
	}
	assert_string_equal(cw_json_istr(res[7], "error"), "fake: down");
	assert_int_equal(f.calls, 2);
	drop(recs, res, 8);
}

/* Each provider is made through the registry by its name; an unknown name
 * is refused with the list of them all; the preview alone is a dry run. */
static void
test_registry(void **state)
{
	static const char *const names[] = {
		"emarsys", "sendgrid", "mandrill", "smtp", "webhook", "preview"
	};
	struct cw_provider_opts o = {.dir = "unused"};
	struct cw_config *c = cw_config_empty();
	struct cw_provider *p;
	char *said;

	(void)state;
	for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++) {
		p = cw_provider_config(names[i], c, i % 2 ? &o : NULL);
		assert_non_null(p);
		assert_string_equal(p->name, names[i]);
		assert_int_equal(p->dry, strcmp(names[i], "preview") == 0);
		cw_provider_close(p);
	}
	free(cw_config_take_said(c));
	assert_null(cw_provider_config("pigeon", c, &o));
	said = cw_config_take_said(c);
	assert_string_equal(said, "(no config file): Cartwatch.Notify.Provider: expected "
	    "emarsys, sendgrid, mandrill, smtp, webhook or preview, not \"pigeon\"\n");
	free(said);
	cw_config_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bisect),
		cmocka_unit_test(test_blamed),
		cmocka_unit_test(test_all_bad),
		cmocka_unit_test(test_faults),
		cmocka_unit_test(test_registry),
	};

	return cmocka_run_group_tests_name("batch", tests, NULL, NULL);
}
