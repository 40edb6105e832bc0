/* test_cosmos.c: the Cosmos DB master-key signature against doc/DESIGN.md's vector. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cw/state/cosmos.h"

/* The emulator's well-known key (public, documented by Microsoft). */
#define EMUKEY "C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DE2nQ9nDuVTqobD4b8mGGyPMbIZnqyMsEcaGQy67XIw/Jw=="
#define DATE "Tue, 01 Nov 1994 08:12:31 GMT"
#define LINK "dbs/db1/colls/c1/docs/d1"
/* urlencode("type=master&ver=1.0&sig=KYbs+thF97pytPFwfRJTgBR42g2oOruh/lu6x3+RVmk=") */
#define WANT "type%3Dmaster%26ver%3D1.0%26sig%3DKYbs%2BthF97pytPFwfRJTgBR42g2oOruh%2Flu6x3%2BRVmk%3D"

static void
check(const char *verb, const char *type, const char *link, const char *date,
    const char *want)
{
	char *a = cw_cosmos_auth(EMUKEY, verb, type, link, date);

	assert_non_null(a);
	assert_string_equal(a, want);
	free(a);
}

static void
differs(const char *verb, const char *type, const char *link, const char *date)
{
	char *a = cw_cosmos_auth(EMUKEY, verb, type, link, date);

	assert_non_null(a);
	assert_string_not_equal(a, WANT);
	free(a);
}

static void
test_vector(void **state)
{
	(void)state;
	check("GET", "docs", LINK, DATE, WANT);
}

static void
test_case_folding(void **state)
{
	(void)state;
	/* Verb, type and date are signed lowercased: their case cannot matter. */
	check("get", "DOCS", LINK, "tue, 01 nov 1994 08:12:31 gmt", WANT);
	check("Get", "Docs", LINK, "TUE, 01 NOV 1994 08:12:31 GMT", WANT);
	/* The link is signed as given: ids are case-sensitive. */
	differs("GET", "docs", "dbs/db1/colls/c1/docs/D1", DATE);
}

static void
test_every_input_counts(void **state)
{
	(void)state;
	differs("POST", "docs", LINK, DATE);
	differs("GET", "colls", LINK, DATE);
	differs("GET", "docs", "dbs/db1/colls/c1/docs/d2", DATE);
	differs("GET", "docs", LINK, "Tue, 01 Nov 1994 08:12:32 GMT");
	differs("GET", "docs", "", DATE);
}

static void
test_more_vectors(void **state)
{
	(void)state;
	/* Computed independently (Python hmac + urllib.parse.quote). */
	check("POST", "docs", "dbs/db1/colls/c1", "Wed, 01 May 2024 10:20:30 GMT",
	    "type%3Dmaster%26ver%3D1.0%26sig%3D2r2yHPzOfGwLKpitAbajDi%2BanZMMrk"
	    "%2BBr%2BHyvI2NJXQ%3D");
	check("PUT", "docs",
	    "dbs/AbandonedCartSampleDB/colls/RunStatus/docs/128:5637144592",
	    "Wed, 01 May 2024 10:20:30 GMT",
	    "type%3Dmaster%26ver%3D1.0%26sig%3DnwZO%2BDriinaDusy09tsueiTB7sfqkISNs9"
	    "cdvZ2iShI%3D");
}

static void
test_bad_key(void **state)
{
	static const char *const bad[] = {
		"not base64!",
		"C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DE2nQ9nDuVTqobD4b8mGGyPMbIZnqyMsEcaGQy67XIw/Jw=",
		"C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DE2nQ9nDuVTqobD4b8mGGyPMbIZnqyMsEcaGQy67XIw/Jw== ",
		" C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DE2nQ9nDuVTqobD4b8mGGyPMbIZnqyMsEcaGQy67XIw/Jw==",
		"C2y6yDjf5_R-ob0N8A7Cgv30VRDJIWEHLM-4QDU5DE2nQ9nDuVTqobD4b8mGGyPMbIZnqyMsEcaGQy67XIw_Jw==",
		NULL
	};
	char *a;
	size_t i;

	(void)state;
	for (i = 0; bad[i] != NULL; i++)
		assert_null(cw_cosmos_auth(bad[i], "GET", "docs", LINK, DATE));
	/* Another valid key signs differently. */
	a = cw_cosmos_auth("a2V5", "GET", "docs", LINK, DATE);
	assert_non_null(a);
	assert_string_not_equal(a, WANT);
	free(a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vector),
		cmocka_unit_test(test_case_folding),
		cmocka_unit_test(test_every_input_counts),
		cmocka_unit_test(test_more_vectors),
		cmocka_unit_test(test_bad_key),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
