/* The NDJSON record driver (common/tool/ndjson.c) with the checks every record
 * meets: a cart (cw_cart_check) and a notification (cw_notification_check).
 * No crash, no leak; a reason given is a terminated string. */
#include <time.h>

#include "cw/d365/cart.h"
#include "cw/notify/result.h"
#include "cw/tool/ndjson.h"
#include "fuzz.h"

static int
record(const struct cw_rec *rec, void *ctx)
{
	struct timespec modified;
	cw_err e;

	(void)ctx;
	if (rec->json == NULL)
		return CW_REC_BAD;
	if (cw_cart_check(rec->json, &modified, &e) != 0 &&
	    memchr(e.msg, '\0', sizeof(e.msg)) == NULL)
		fuzz_fail("cw_cart_check: reason not terminated");
	if (cw_notification_check(rec->json, &e) != 0 &&
	    memchr(e.msg, '\0', sizeof(e.msg)) == NULL)
		fuzz_fail("cw_notification_check: reason not terminated");
	return CW_REC_OK;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
	struct cw_loop_stats st;
	FILE *in;

	if (n == 0 || (in = fmemopen((void *)(uintptr_t)data, n, "r")) == NULL)
		return 0;
	cw_ndjson_loop_all(in, "<fuzz>", record, NULL, &st);
	if (st.records > st.lines || st.bad > st.lines)
		fuzz_fail("%lu lines, but %lu records and %lu bad", st.lines,
		    st.records, st.bad);
	fclose(in);
	return 0;
}
