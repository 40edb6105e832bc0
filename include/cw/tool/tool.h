/* tool.h: what every tool's main() does the same way: version, config, messages. */
#ifndef CW_TOOL_H
#define CW_TOOL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include "cw/net/http.h"
#include "cw/net/keyvault.h"

struct cw_config;
struct cw_buf;

/*
 * The start-up every tool shares, in this order: the configuration, the
 * tool's own keys (read by the tool between the steps), the HTTP options, the
 * check that the configuration holds no problem, stdout made ready for
 * records, the HTTP client, the vault. A tool zeroes one, then:
 *
 *	cw_tool_load      the configuration
 *	(its own keys; vault_url set when it needs the vault)
 *	cw_tool_check     HTTP options; no network call before this passes
 *	cw_tool_start     stdout, HTTP client, vault
 *	(its records)
 *	return cw_tool_finish(&t, code);
 *
 * Each step returns 0, or CW_ERR_CONFIG or CW_ERR_SERVICE (util.h) with
 * e saying why; e is left empty when the problems are the configuration's
 * own, which cw_tool_check prints (cw_config_take_said). cw_tool_exit turns
 * an error into the tool's message and exit code. These steps never exit.
 *
 * The tool layer is the only one that prints and picks exit codes, and the
 * only one with functions that exit instead of returning an error: their
 * names start with cw_e (cw_eopt_int, cw_ewrite_json, ...), as sbase's e*
 * functions, or they are err(3)'s kin (cw_errx). Below it, only running
 * out of memory ends the process (ARCHITECTURE.md).
 */
struct cw_tool {
	struct cw_config *cfg;      /* after cw_tool_load */
	char *vault_url;            /* the tool's to set (owned); NULL: no vault */
	struct cw_http_opts ho;     /* after cw_tool_check */
	struct cw_http *http;       /* after cw_tool_start */
	struct cw_vault *vault;     /* after cw_tool_start, when vault_url is set */
	int started;                /* stdout is set up: cw_tool_finish checks it */
};

/* Loads the configuration into t->cfg: path (from -c), else
 * $CARTWATCH_CONFIG, else ./appsettings.json; when optional is set and no -c
 * was given and that default file does not exist, an empty one. */
int cw_tool_load(struct cw_tool *t, const char *path, int optional, cw_err *e);

/* Reads the HTTP options, then fails (CW_ERR_CONFIG, e empty) if any key
 * read so far was reported as a problem. */
int cw_tool_check(struct cw_tool *t, cw_err *e);

/* Sets up stdout for records, makes the HTTP client and opens the vault at
 * t->vault_url, if set. */
int cw_tool_start(struct cw_tool *t, cw_err *e);

/* What a failed step means for the tool: says e (if it says anything) as
 * cw_warnx does, and returns CW_EXIT_USAGE for CW_ERR_CONFIG, else
 * CW_EXIT_FAIL. */
int cw_tool_exit(int kind, const cw_err *e);

/* Closes and frees all of t, after checking stdout if it was set up.
 * Returns code, or CW_EXIT_FAIL when stdout had a write error. */
int cw_tool_finish(struct cw_tool *t, int code);

/* Prints "TOOL (cartwatch) VERSION" on stdout, for --version. */
void cw_print_version(void);

/* One line of a tool's --help: an option as it is written ("-c, --config
 * FILE") and what it does, in one short line. */
struct cw_help {
	const char *opt;
	const char *text;
};

/*
 * The part of --help after the synopsis, on f: "commands:" and each of cmds
 * (NULL: the tool has none), "options:" and each of opts, a line each, the
 * texts in one column (each table ends with an entry whose opt is NULL); then
 * "See TOOL(1)." naming the manual that says the rest.
 */
void cw_print_help(FILE *f, const struct cw_help *cmds, const struct cw_help *opts);

/* The lines every tool's table has: -c first, --help and --version last
 * (CW_HELP_END ends the table). */
#define CW_HELP_CONFIG \
	{"-c, --config FILE", "the configuration file (default: $CARTWATCH_CONFIG, " \
	    "else ./appsettings.json)"}
#define CW_HELP_END \
	{"-h, --help", "print this help and exit"}, \
	{"--version", "print the version and exit"}, \
	{NULL, NULL}

/*
 * cw_tool_load for programs that want no more than the configuration (test
 * drivers): a file that cannot be read or parsed exits CW_EXIT_USAGE with the
 * reason. Caller frees with cw_config_free().
 */
struct cw_config *cw_etool_config(const char *path, int optional);

/* A whole-number option's argument within [min, max]; anything else exits
 * CW_EXIT_USAGE with "TOOL: OPT: expected a whole number from MIN to MAX". */
long long cw_eopt_int(const char *opt, const char *arg, long long min, long long max);

/*
 * The one way a tool prints a diagnostic: "TOOL: MESSAGE\n" on stderr, in one
 * write(2), so that lines of the stages sharing a terminal do not mix. Messages
 * quote record data (a cart Id, an address, a server's answer), so the whole
 * message is escaped as cw_escape() does: nothing in it can end the line, start
 * a forged "TOOL: ..." line or drive the terminal. A message is cut at about
 * 2 KiB (before escaping), with "..." at the end.
 *   cw_warnx  the message
 *   cw_warn   the message, ": ", and strerror(errno)
 *   cw_errx   cw_warnx, then exit(code)
 */
void cw_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void cw_vwarnx(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));
void cw_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
_Noreturn void cw_errx(int code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Each line of text (lines end in "\n", as cw_render_warnings() gives them;
 * NULL: none) as its own cw_warnx message; then frees text, so that a call
 * takes the warnings straight from their source. */
void cw_warn_lines(char *text);

/*
 * Appends s[0..n) to b with what could forge or garble a line of a terminal or
 * a log written out visibly: CR, LF and TAB as \r, \n, \t; other C0 controls
 * and DEL as \xHH; bytes that are not UTF-8 as \xHH; the C1 controls (U+0080 to
 * U+009F) and the characters that reorder or break text (bidi controls U+061C,
 * U+200E, U+200F, U+202A to U+202E, U+2066 to U+2069; U+2028, U+2029) as \uHHHH.
 * Everything else, other letters of any script included, is kept. A backslash
 * is kept as it is: escaping twice changes nothing, and a reader who wants the
 * exact bytes has them in the record itself.
 */
void cw_escape(struct cw_buf *b, const char *s, size_t n);

#endif
