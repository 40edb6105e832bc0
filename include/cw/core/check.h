/* check.h: what a read-only check (--check) found, one line per item, for the tool to print. */
#ifndef CW_CHECK_H
#define CW_CHECK_H

#include "cw/core/util.h"

/*
 * The findings of a check that goes on after a problem, so that one run
 * names them all. The library adds lines; the tool prints them (the library
 * never prints) and exits CW_EXIT_USAGE when problems is not 0. Zero one
 * (CW_CHECK_INIT) before use; free with cw_check_free().
 *   cw_check_ok    "ok: ..."           what was checked and passed
 *   cw_check_bad   "problem: ..."      counted in problems
 *   cw_check_skip  "not checked: ..."  what a read-only check cannot reach
 * Lines say no secret: callers pass names of secrets, never values.
 */
struct cw_check {
	struct cw_buf said;  /* lines ending "\n", oldest first */
	int problems;
};
#define CW_CHECK_INIT {CW_BUF_INIT, 0}

void cw_check_ok(struct cw_check *k, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void cw_check_bad(struct cw_check *k, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void cw_check_skip(struct cw_check *k, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* The lines said so far, for the caller to print and free; k keeps counting. */
char *cw_check_take(struct cw_check *k);

void cw_check_free(struct cw_check *k);

#endif
