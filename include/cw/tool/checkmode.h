/* checkmode.h: --check-config and --check, as every stage tool takes them. */
#ifndef CW_CHECKMODE_H
#define CW_CHECKMODE_H

#include "cw/core/check.h"
#include "cw/tool/tool.h"

/*
 * The options' getopt_long values; each tool spells out its rows,
 *	{"check-config", no_argument, NULL, CW_O_CHECK_CONFIG},
 *	{"check", no_argument, NULL, CW_O_CHECK},
 * where tests/0007-help.t finds them. A stage tool given one reads and
 * checks its configuration as a run would (cw_tool_load, its own keys,
 * cw_tool_check: a problem exits CW_EXIT_USAGE naming the key), then, instead
 * of its records:
 *   --check-config  nothing more: no network call, no store opened or made,
 *                   nothing claimed, sent or written on stdout; silent when
 *                   all is well.
 *   --check         the stage's read-only calls (doc/DESIGN.md 8.9), one line
 *                   each on stderr, going on after a problem; still nothing
 *                   claimed, sent, made or written on stdout.
 */
enum { CW_O_CHECK_CONFIG = 0x4000, CW_O_CHECK };
/* Their lines of --help (struct cw_help, tool.h), before CW_HELP_END. */
#define CW_HELP_CHECK \
	{"--check-config", "check the configuration, with no network call; run nothing"}, \
	{"--check", "check the configuration, then ask each service read-only; run nothing"}

/*
 * For mode CW_O_CHECK: says in k that the configuration passed, then makes
 * t's HTTP client and opens its vault (when t->vault_url is set) as
 * cw_tool_start does, leaving stdout alone: 0, or -1 with the problem in k
 * (the checks that need them cannot run). For CW_O_CHECK_CONFIG: 1, there is
 * nothing more to check.
 */
int cw_tool_check_open(struct cw_tool *t, int mode, struct cw_check *k);

/* Prints each line of k as cw_warnx does ("TOOL: ok: ..."), frees k, and
 * returns CW_EXIT_OK, or CW_EXIT_USAGE when k holds a problem. */
int cw_tool_check_done(struct cw_check *k);

#endif
