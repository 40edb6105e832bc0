/* batch.c: what every provider shares: a batch split in halves when the service
 * refuses it whole, warnings kept for the caller, closing. */
#include <stdlib.h>

#include "cw/notify/provider.h"
#include "cw/notify/result.h"

static int
worse(int a, int b)
{
	return a < 0 || b < 0 ? -1 : a > b ? a : b;
}

static int send_batch(struct cw_provider *p, json_t *const *recs, size_t n, json_t **res,
    cw_err *e);

/*
 * recs[0..n) were refused as a whole and none of them was delivered. Sends
 * each half on its own, so that a bad record takes down only batches that
 * hold it: b bad records among n cost about 2·b·log2(n) more requests, and
 * every good one ends up in a batch that goes through.
 */
static int
split(struct cw_provider *p, json_t *const *recs, size_t n, json_t **res, cw_err *e)
{
	size_t half = n / 2, i;
	cw_err e2;
	int a, b;

	a = send_batch(p, recs, half, res, e);
	if (a < 0) {
		/* The provider cannot go on: the second half is not tried. */
		for (i = half; i < n; i++)
			res[i] = cw_result(recs[i], "failed", p->name, NULL, e->msg);
		return a;
	}
	b = send_batch(p, recs + half, n - half, res + half, &e2);
	if (a == 0 && b != 0)
		*e = e2;
	return worse(a, b);
}

static int
send_batch(struct cw_provider *p, json_t *const *recs, size_t n, json_t **res, cw_err *e)
{
	json_t **left, **lres;
	size_t *at, m = 0, i;
	int r;

	if ((r = p->send(p, recs, n, res, e)) != 2)
		return r;
	/* Refused whole: the records the provider blamed have their result,
	 * the others (NULL) were not delivered and are sent again. */
	left = cw_calloc(n, sizeof(*left));
	lres = cw_calloc(n, sizeof(*lres));
	at = cw_calloc(n, sizeof(*at));
	for (i = 0; i < n; i++)
		if (res[i] == NULL) {
			at[m] = i;
			left[m++] = recs[i];
		}
	r = 0;
	if (m == 1 && m == n)
		/* A batch of one refused: that record is the bad one. */
		lres[0] = cw_result(recs[0], "failed", p->name, NULL, e->msg);
	else if (m == n)
		r = split(p, left, m, lres, e);
	else if (m > 0)
		r = send_batch(p, left, m, lres, e);
	for (i = 0; i < m; i++)
		res[at[i]] = lres[i];
	free(left);
	free(lres);
	free(at);
	return r;
}

int
cw_provider_send(struct cw_provider *p, json_t *const *recs, size_t n, json_t **res, cw_err *e)
{
	for (size_t i = 0; i < n; i++)
		res[i] = NULL;
	if (n == 0)
		return 0;
	return send_batch(p, recs, n, res, e);
}

void
cw_provider_say(struct cw_provider *p, char *text)
{
	if (text != NULL)
		cw_buf_adds(&p->said, text);
	free(text);
}

void
cw_provider_close(struct cw_provider *p)
{
	if (p == NULL)
		return;
	cw_buf_free(&p->said);
	p->close(p);
}
