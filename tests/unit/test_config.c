/* test_config.c: appsettings.json as .NET reads it, and the json.c helpers. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include <jansson.h>

#include "cw/core/config.h"
#include "cw/core/json.h"
#include "cw/core/keys.h"
#include "cw/core/util.h"
#include "cw/net/http.h"
#include "cw/net/smtp.h"
#include "scratch.h"

static const char *
tmpdir(void)
{
	return scratch;
}

static char *
writetmp(const char *text, size_t n)
{
	char *path = cw_asprintf("%s/cwconf.XXXXXX", tmpdir());
	int fd = mkstemp(path);

	assert_true(fd != -1);
	assert_int_equal(write(fd, text, n), (ssize_t)n);
	close(fd);
	return path;
}

/* Loads text that must parse; *pathp gets the temp file's name. */
static struct cw_config *
load(const char *text, char **pathp)
{
	struct cw_config *c;
	cw_err e;

	*pathp = writetmp(text, strlen(text));
	c = cw_config_load(*pathp, &e);
	if (c == NULL)
		fail_msg("%s", e.msg);
	return c;
}

static void
unload(struct cw_config *c, char *path)
{
	cw_config_free(c);
	unlink(path);
	free(path);
}

/* Loads n bytes that must not parse; the message, with the file name as "F". */
static char *
loaderr(const char *text, size_t n)
{
	struct cw_config *c;
	char *path, *m;
	cw_err e;

	path = writetmp(text, n);
	c = cw_config_load(path, &e);
	unlink(path);
	assert_null(c);
	assert_true(strncmp(e.msg, path, strlen(path)) == 0);
	m = cw_asprintf("F%s", e.msg + strlen(path));
	free(path);
	return m;
}

#define BAD(text, want) do {						\
	char *m_ = loaderr(text, sizeof(text) - 1);			\
	assert_string_equal(m_, want);					\
	free(m_);							\
} while (0)

/* stderr into a temp file, so warnx(3) output can be compared. */
struct cap {
	char *path;
	int fd;
	int saved;
};

static void
cap_start(struct cap *k)
{
	fflush(stderr);
	k->path = cw_asprintf("%s/cwerr.XXXXXX", tmpdir());
	k->fd = mkstemp(k->path);
	assert_true(k->fd != -1);
	k->saved = dup(2);
	assert_true(k->saved != -1);
	assert_int_equal(dup2(k->fd, 2), 2);
}

static char *
cap_end(struct cap *k)
{
	struct cw_buf b = CW_BUF_INIT;
	char chunk[512];
	ssize_t n;

	fflush(stderr);
	dup2(k->saved, 2);
	close(k->saved);
	lseek(k->fd, 0, SEEK_SET);
	while ((n = read(k->fd, chunk, sizeof(chunk))) > 0)
		cw_buf_add(&b, chunk, (size_t)n);
	close(k->fd);
	unlink(k->path);
	free(k->path);
	return cw_buf_detach(&b);
}

/*
 * What c has to say, as a tool prints it (one warnx(3) line each), after
 * checking that the library itself printed nothing while saying it.
 */
static char *
said(struct cw_config *c, struct cap *k)
{
	struct cw_buf b = CW_BUF_INIT;
	char *text = cw_config_take_said(c), *line, *next;
	char *printed = cap_end(k);

	assert_string_equal(printed, "");
	free(printed);
	for (line = text; *line != '\0'; line = next) {
		next = strchr(line, '\n');
		assert_non_null(next);
		*next++ = '\0';
		cw_buf_addf(&b, "%s: %s\n", program_invocation_short_name, line);
	}
	free(text);
	text = cw_config_take_said(c);  /* taken means taken */
	assert_string_equal(text, "");
	free(text);
	return cw_buf_detach(&b);
}

/* One warnx(3) line as the program would print it. */
static char *
warnline(const char *fmt, ...)
{
	struct cw_buf b = CW_BUF_INIT;
	va_list ap;

	cw_buf_addf(&b, "%s: ", program_invocation_short_name);
	va_start(ap, fmt);
	cw_buf_vaddf(&b, fmt, ap);
	va_end(ap);
	cw_buf_adds(&b, "\n");
	return cw_buf_detach(&b);
}

static void
same(char *got, char *want)
{
	assert_string_equal(got, want);
	free(got);
	free(want);
}

/* The checked-in fixtures, found from the source tree or from the binary. */
static char *
fixture(const char *name)
{
	char exe[PATH_MAX], *p, *slash;
	ssize_t n;
	int i;

	p = cw_asprintf("tests/unit/config/%s", name);
	if (access(p, R_OK) == 0)
		return p;
	free(p);
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	assert_true(n > 0);
	exe[n] = '\0';
	/* BUILD/tests/unit/test_config -> the tree BUILD is in */
	for (i = 0; i < 4; i++) {
		slash = strrchr(exe, '/');
		assert_non_null(slash);
		*slash = '\0';
	}
	return cw_asprintf("%s/tests/unit/config/%s", exe, name);
}

static void
test_line_comments(void **state)
{
	struct cw_config *c;
	char *path;

	(void)state;
	c = load("// head\n{ \"a\": 1, // tail\n  \"b\": 2 //\n}// end", &path);
	assert_int_equal(json_integer_value(cw_config_get_raw(c, "a")), 1);
	assert_int_equal(json_integer_value(cw_config_get_raw(c, "b")), 2);
	unload(c, path);
	/* a single slash is not a comment */
	BAD("{ \"a\": 1 / }", "F:1:10: '}' expected near '/'");
	/* nor is a shell comment */
	BAD("# x\n{}", "F:1:1: invalid token near '#'");
}

static void
test_block_comments(void **state)
{
	struct cw_config *c;
	char *path;

	(void)state;
	c = load("/* head */{ /* multi\nline\n*/ \"a\": /**/ 1, \"b\"/***/:2 }"
	    "/* end */", &path);
	assert_int_equal(json_integer_value(cw_config_get_raw(c, "a")), 1);
	assert_int_equal(json_integer_value(cw_config_get_raw(c, "b")), 2);
	unload(c, path);
	/* a comment separates tokens, it does not join them */
	BAD("{\"a\": 1/**/2}", "F:1:12: '}' expected near '2'");
}

static void
test_comment_markers_in_strings(void **state)
{
	struct cw_config *c;
	char *path;

	(void)state;
	c = load("{\"u\": \"http://h/p\", \"v\": \"a /* b */ c\", "
	    "\"w\": \"//\", \"/*k*/\": \"x\"}", &path);
	assert_string_equal(cw_config_str_raw(c, "u", NULL), "http://h/p");
	assert_string_equal(cw_config_str_raw(c, "v", NULL), "a /* b */ c");
	assert_string_equal(cw_config_str_raw(c, "w", NULL), "//");
	assert_string_equal(cw_config_str_raw(c, "/*k*/", NULL), "x");
	unload(c, path);
}

static void
test_escapes_in_strings(void **state)
{
	struct cw_config *c;
	char *path;

	(void)state;
	/* \" does not end a string; \\ before a quote does */
	c = load("{\"s\": \"say \\\"// no\\\" /* no */\", "
	    "\"t\": \"back\\\\\", /* yes */ \"u\": \"x\\\\\" // yes\n}", &path);
	assert_string_equal(cw_config_str_raw(c, "s", NULL),
	    "say \"// no\" /* no */");
	assert_string_equal(cw_config_str_raw(c, "t", NULL), "back\\");
	assert_string_equal(cw_config_str_raw(c, "u", NULL), "x\\");
	unload(c, path);
	/* had the escaped quote ended the string, "// no" would have hidden the } */
	BAD("{\"s\": \"a\\\" // b\"", "F:1:16: '}' expected near end of file");
}

static void
test_trailing_commas(void **state)
{
	struct cw_config *c;
	char *path;

	(void)state;
	c = load("{\"a\": [1, 2, ], \"b\": {\"c\": \"x,\", /* z */ },\n"
	    "\"d\": [[],{},\n],\n}", &path);
	assert_int_equal(json_array_size(cw_config_get_raw(c, "a")), 2);
	assert_string_equal(cw_config_str_raw(c, "b.c", NULL), "x,");
	assert_int_equal(json_object_size(cw_config_get_raw(c, "b")), 1);
	assert_int_equal(json_array_size(cw_config_get_raw(c, "d")), 2);
	unload(c, path);
	/* only one comma, and only after a value */
	BAD("{\"a\": [1,,]}", "F:1:10: unexpected token near ','");
	BAD("{\"a\": [,]}", "F:1:8: unexpected token near ','");
	BAD("{,}", "F:1:2: string or '}' expected near ','");
	BAD("{\"a\": 1,,}", "F:1:9: string or '}' expected near ','");
	/* a comma in a string is not a trailing comma */
	c = load("{\"a\": \",}\"}", &path);
	assert_string_equal(cw_config_str_raw(c, "a", NULL), ",}");
	unload(c, path);
}

static void
test_bom(void **state)
{
	struct cw_config *c;
	char *path;

	(void)state;
	c = load("\xEF\xBB\xBF{\"a\": \"b\"}", &path);
	assert_string_equal(cw_config_str_raw(c, "a", NULL), "b");
	unload(c, path);
	/* columns are counted as an editor shows them, without the BOM */
	BAD("\xEF\xBB\xBF{\"a\": x}", "F:1:7: invalid token near 'x'");
	/* only at the start */
	BAD("{\"a\": 1}\xEF\xBB\xBF", "F:1:9: end of file expected near "
	    "'\xEF\xBB\xBF'");
}

static void
test_unterminated_comment(void **state)
{
	struct cw_config *c;
	char *path;

	(void)state;
	BAD("{\"a\": 1 /* oops\n}", "F:1:9: unterminated /* comment");
	BAD("{}\n\n  /*/", "F:3:3: unterminated /* comment");
	BAD("{} /*", "F:1:4: unterminated /* comment");
	c = load("{}/**/", &path);
	unload(c, path);
}

static void
test_error_position(void **state)
{
	(void)state;
	/* the line and column survive a multi-line comment ... */
	BAD("{\n/* one\ntwo\nthree */ \"a\": x}", "F:4:15: invalid token near 'x'");
	/* ... non-ASCII text in it ... */
	BAD("{ /* \xC3\xA9t\xC3\xA9 */ \"a\": x}",
	    "F:1:18: invalid token near 'x'");
	/* ... line comments and CRLF line ends */
	BAD("{ // one\r\n  // two\r\n  \"a\": x}",
	    "F:3:8: invalid token near 'x'");
	BAD("", "F:1:1: unexpected token near end of file");
	/* a broken string is not quoted back: it may be a key */
	BAD("{\"PrimaryKey\": \"C2y6yDjf5/R+ob0N\n8A7Cgv30VRDJ\"}",
	    "F:1:32: unexpected newline in a string");
	BAD("{\"PrimaryKey\": \"C2y6yDjf5",
	    "F:1:25: premature end of input in a string");
	/* other tokens are */
	BAD("{\"a\": tru}", "F:1:9: invalid token near 'tru'");
	BAD("{\"a\": 1,\n \"b\": 2", "F:2:7: '}' expected near end of file");
}

static void
test_root_not_object(void **state)
{
	struct cw_config *c;
	char *path;

	(void)state;
	BAD("[1]", "F:1:1: expected a JSON object at the top, not an array");
	BAD("// c\n  \"x\"", "F:2:3: expected a JSON object at the top, not a string");
	BAD("42", "F:1:1: expected a JSON object at the top, not a number");
	BAD("null", "F:1:1: expected a JSON object at the top, not null");
	c = load("  {}", &path);
	assert_int_equal(cw_config_errors(c), 0);
	unload(c, path);
}

static void
test_unreadable(void **state)
{
	char *missing, *dir;
	cw_err e;

	(void)state;
	missing = cw_asprintf("%s/cwconf-does-not-exist-%ld.json", tmpdir(),
	    (long)getpid());
	assert_null(cw_config_load(missing, &e));
	same(cw_strdup(e.msg), cw_asprintf("%s: No such file or directory",
	    missing));
	/* e may be NULL */
	assert_null(cw_config_load(missing, NULL));
	free(missing);
	dir = cw_strdup(tmpdir());
	assert_null(cw_config_load(dir, &e));
	same(cw_strdup(e.msg), cw_asprintf("%s: Is a directory", dir));
	free(dir);
	/* a runaway file is refused, not read until memory runs out */
	assert_null(cw_config_load("/dev/zero", &e));
	assert_string_equal(e.msg, "/dev/zero: File too large");
}

static void
test_case_insensitive(void **state)
{
	struct cw_config *c;
	char *path;

	(void)state;
	c = load("{\"keyvaultoptions\": {\"KEYVAULTURL\": \"u\"}, "
	    "\"Cartwatch\": {\"stateSTORE\": {\"kind\": \"cosmos\"}}}", &path);
	assert_string_equal(cw_config_str_raw(c, "KeyVaultOptions.KeyVaultUrl",
	    NULL), "u");
	assert_string_equal(cw_config_str_raw(c, "CARTWATCH.StateStore.Kind",
	    NULL), "cosmos");
	assert_string_equal(cw_config_str_raw(c, "cartwatch.statestore.KIND",
	    NULL), "cosmos");
	/* still the whole name, at every level */
	assert_null(cw_config_get_raw(c, "KeyVaultOption.KeyVaultUrl"));
	assert_null(cw_config_get_raw(c, "KeyVaultOptions.KeyVault"));
	assert_null(cw_config_get_raw(c, "Cartwatch.StateStore.Kinds"));
	assert_null(cw_config_get_raw(c, "Cartwatch.StateStore.Kind.x"));
	assert_null(cw_config_get_raw(c, "Cartwatch..Kind"));
	assert_null(cw_config_get_raw(c, ""));
	assert_null(cw_config_get_raw(c, "Cartwatch."));
	unload(c, path);
	/* ASCII case only: no locale decides what matches */
	c = load("{\"\xC3\x89t\xC3\xA9\": 1}", &path);
	assert_non_null(cw_config_get_raw(c, "\xC3\x89t\xC3\xA9"));
	assert_null(cw_config_get_raw(c, "\xC3\xA9t\xC3\xA9"));
	unload(c, path);
}

/*
 * .NET's flat "A:B" keys ignore case and must be unique: a file in which two
 * values land on one key is a FormatException there, and refused here rather
 * than read as one of them. Sections that differ in case merge.
 */
static void
test_twins_refused(void **state)
{
	struct cw_config *c;
	char *path;

	(void)state;
	c = load("{\"S\": {\"K\": 1}, \"s\": {\"x\": 3}, "
	    "\"T\": {\"y\": 4}, \"t\": {\"z\": [5]}}", &path);
	assert_int_equal(cw_config_int_raw(c, "s.k", 0, 0, 9), 1);
	assert_int_equal(cw_config_int_raw(c, "S.x", 0, 0, 9), 3);
	assert_int_equal(cw_config_int_raw(c, "t.Y", 0, 0, 9), 4);
	assert_int_equal(cw_config_int_raw(c, "T.z.0", 0, 0, 9), 5);
	assert_int_equal(cw_config_errors(c), 0);
	unload(c, path);

	BAD("{\"a\": \"one\", \"A\": \"two\"}",
	    "F: keys \"a\" and \"A\" differ only in case; .NET refuses such a file");
	BAD("{\"S\": {\"K\": 1, \"x\": 0}, \"s\": {\"k\": 2}}",
	    "F: keys \"S.K\" and \"s.k\" differ only in case; .NET refuses such a file");
	BAD("{\"L\": [1, {\"m\": 2}], \"l\": [3]}",
	    "F: keys \"L.0\" and \"l.0\" differ only in case; .NET refuses such a file");
	/* the first twin in the file is named, whatever the alphabet says */
	BAD("{\"z\": 1, \"b\": 1, \"Z\": 2, \"B\": 2}",
	    "F: keys \"z\" and \"Z\" differ only in case; .NET refuses such a file");
	/* a key written twice: .NET refuses a value, merges a section; Jansson
	 * would keep the second only, so both are refused */
	BAD("{\"P\": \"smtp\",\n \"P\": \"sendgrid\"}",
	    "F:2:4: the key \"P\" is written twice in one object");
	BAD("{\"S\": {\"x\": 1}, \"S\": {\"y\": 2}}",
	    "F:1:19: the key \"S\" is written twice in one object");
}

static void
test_aliases(void **state)
{
	struct cw_config *c;
	char *path;

	(void)state;
	/* the docs' spellings alone */
	c = load("{\"KeyVaultOptions\": {\"KeyVaultURI\": \"docs\"}, "
	    "\"RetailServerClientOptions\": {\"retailserverurl\": \"rdocs\"}}",
	    &path);
	assert_string_equal(cw_config_str_raw(c, "KeyVaultOptions.KeyVaultUrl",
	    NULL), "docs");
	assert_string_equal(cw_config_str_raw(c, "KeyVaultOptions.KeyVaultURI",
	    NULL), "docs");
	assert_string_equal(cw_config_str_raw(c,
	    "RetailServerClientOptions.RetailServerUri", NULL), "rdocs");
	assert_string_equal(cw_config_str_raw(c,
	    "retailserverclientoptions.RETAILSERVERURL", NULL), "rdocs");
	unload(c, path);
	/* both: the sample's own name wins, wherever it stands */
	c = load("{\"KeyVaultOptions\": {\"KeyVaultUrl\": \"main\", "
	    "\"KeyVaultURI\": \"docs\"}, \"RetailServerClientOptions\": "
	    "{\"RetailServerUrl\": \"rdocs\", \"RetailServerUri\": \"rmain\"}}",
	    &path);
	assert_string_equal(cw_config_str_raw(c, "KeyVaultOptions.KeyVaultUrl",
	    NULL), "main");
	assert_string_equal(cw_config_str_raw(c, "KeyVaultOptions.KeyVaultURI",
	    NULL), "main");
	assert_string_equal(cw_config_str_raw(c,
	    "RetailServerClientOptions.RetailServerUrl", NULL), "rmain");
	unload(c, path);
	/* a null main name does not hide the other */
	c = load("{\"KeyVaultOptions\": {\"KeyVaultUrl\": null, "
	    "\"KeyVaultUri\": \"docs\"}}", &path);
	assert_string_equal(cw_config_str_raw(c, "KeyVaultOptions.KeyVaultUrl",
	    NULL), "docs");
	unload(c, path);
	/* aliases belong to their section only */
	c = load("{\"Other\": {\"KeyVaultURI\": \"x\", \"RetailServerUrl\": "
	    "\"y\"}, \"KeyVaultURI\": \"z\"}", &path);
	assert_null(cw_config_get_raw(c, "Other.KeyVaultUrl"));
	assert_null(cw_config_get_raw(c, "Other.RetailServerUri"));
	assert_null(cw_config_get_raw(c, "KeyVaultUrl"));
	assert_null(cw_config_get_raw(c, "KeyVaultOptions.KeyVaultUrl"));
	unload(c, path);
}

static void
test_int(void **state)
{
	struct cw_config *c;
	struct cap k;
	char *path, *want;

	(void)state;
	c = load("{\"S\": {\"n\": 500, \"s\": \"500\", \"t\": \" 42 \", "
	    "\"neg\": \"-5\", \"pos\": \"+7\", \"r\": 500.0, \"e\": \"\", "
	    "\"min\": -9223372036854775808}}", &path);
	assert_int_equal(cw_config_int_raw(c, "S.n", 1, 0, 1000), 500);
	assert_int_equal(cw_config_int_raw(c, "S.s", 1, 0, 1000), 500);
	assert_int_equal(cw_config_int_raw(c, "S.t", 1, 0, 1000), 42);
	assert_int_equal(cw_config_int_raw(c, "S.neg", 1, -10, 10), -5);
	assert_int_equal(cw_config_int_raw(c, "S.pos", 1, -10, 10), 7);
	assert_int_equal(cw_config_int_raw(c, "S.r", 1, 0, 1000), 500);
	assert_int_equal(cw_config_int_raw(c, "S.e", 9, 0, 1000), 9);
	assert_true(cw_config_int_raw(c, "S.min", 0, LLONG_MIN, 0) == LLONG_MIN);
	assert_int_equal(cw_config_int_raw(c, "S.absent", 77, 0, 10), 77);
	/* the bounds themselves are in range */
	assert_int_equal(cw_config_int_raw(c, "S.n", 1, 500, 500), 500);
	assert_int_equal(cw_config_errors(c), 0);
	unload(c, path);

	c = load("{\"S\": {\"a\": \"abc\", \"b\": \"5x\", \"c\": \"1.5\", "
	    "\"d\": 1.5, \"e\": true, \"f\": {\"x\": 1}, \"g\": 1001, "
	    "\"h\": \"-1\", \"i\": \"99999999999999999999\", \"j\": \"0x10\", "
	    "\"k\": \"\\n\\u0007\", \"l\": \"5 5\"}}", &path);
	cap_start(&k);
	assert_int_equal(cw_config_int_raw(c, "S.a", 3, 0, 1000), 3);
	assert_int_equal(cw_config_int_raw(c, "S.b", 3, 0, 1000), 3);
	assert_int_equal(cw_config_int_raw(c, "S.c", 3, 0, 1000), 3);
	assert_int_equal(cw_config_int_raw(c, "s.D", 3, 0, 1000), 3);
	assert_int_equal(cw_config_int_raw(c, "S.e", 3, 0, 1000), 3);
	assert_int_equal(cw_config_int_raw(c, "S.f", 3, 0, 1000), 3);
	assert_int_equal(cw_config_int_raw(c, "S.g", 3, 0, 1000), 3);
	assert_int_equal(cw_config_int_raw(c, "S.h", 3, 0, 1000), 3);
	assert_int_equal(cw_config_int_raw(c, "S.i", 3, 0, 1000), 3);
	assert_int_equal(cw_config_int_raw(c, "S.j", 3, 0, 1000), 3);
	assert_int_equal(cw_config_int_raw(c, "S.k", 3, 0, 1000), 3);
	assert_int_equal(cw_config_int_raw(c, "S.l", 3, 0, 1000), 3);
	want = cw_asprintf(
	    "%1$s: %2$s: S.a: expected a whole number from 0 to 1000, not \"abc\"\n"
	    "%1$s: %2$s: S.b: expected a whole number from 0 to 1000, not \"5x\"\n"
	    "%1$s: %2$s: S.c: expected a whole number from 0 to 1000, not \"1.5\"\n"
	    "%1$s: %2$s: s.D: expected a whole number from 0 to 1000, not 1.5\n"
	    "%1$s: %2$s: S.e: expected a whole number from 0 to 1000, not true\n"
	    "%1$s: %2$s: S.f: expected a whole number from 0 to 1000, not {\"x\":1}\n"
	    "%1$s: %2$s: S.g: expected a whole number from 0 to 1000, not 1001\n"
	    "%1$s: %2$s: S.h: expected a whole number from 0 to 1000, not \"-1\"\n"
	    "%1$s: %2$s: S.i: expected a whole number from 0 to 1000, "
	    "not \"99999999999999999999\"\n"
	    "%1$s: %2$s: S.j: expected a whole number from 0 to 1000, not \"0x10\"\n"
	    "%1$s: %2$s: S.k: expected a whole number from 0 to 1000, "
	    "not \"\\n\\u0007\"\n"
	    "%1$s: %2$s: S.l: expected a whole number from 0 to 1000, not \"5 5\"\n",
	    program_invocation_short_name, path);
	same(said(c, &k), want);
	assert_int_equal(cw_config_errors(c), 12);
	unload(c, path);
}

static void
test_long_value_shown_short(void **state)
{
	struct cw_buf b = CW_BUF_INIT;
	struct cw_config *c;
	struct cap k;
	char *path, *got;
	int i;

	(void)state;
	cw_buf_adds(&b, "{\"n\": \"");
	for (i = 0; i < 200; i++)
		cw_buf_adds(&b, "\xC3\xA9");
	cw_buf_adds(&b, "\"}");
	c = load(b.data, &path);
	cap_start(&k);
	cw_config_int_raw(c, "n", 0, 0, 1);
	got = said(c, &k);
	assert_true(strlen(got) < 200);
	assert_non_null(strstr(got, "\xC3\xA9...\n"));
	free(got);
	cw_buf_free(&b);
	unload(c, path);
}

static void
test_str(void **state)
{
	struct cw_config *c;
	struct cap k;
	char *path, *want;
	const char *a;

	(void)state;
	c = load("{\"R\": {\"OperatingUnitNumber\": 128, \"r\": 1.5, "
	    "\"t\": 0.1, \"w\": 128.0, \"big\": 9007199254740993, "
	    "\"neg\": -3, \"e\": \"\", \"s\": \"text\", \"huge\": 1e300}}",
	    &path);
	a = cw_config_str_raw(c, "R.OperatingUnitNumber", NULL);
	assert_string_equal(a, "128");
	assert_string_equal(cw_config_str_raw(c, "R.r", NULL), "1.5");
	assert_string_equal(cw_config_str_raw(c, "R.t", NULL), "0.1");
	assert_string_equal(cw_config_str_raw(c, "R.w", NULL), "128");
	assert_string_equal(cw_config_str_raw(c, "R.big", NULL), "9007199254740993");
	assert_string_equal(cw_config_str_raw(c, "R.neg", NULL), "-3");
	assert_string_equal(cw_config_str_raw(c, "R.huge", NULL), "1e+300");
	assert_string_equal(cw_config_str_raw(c, "R.s", "d"), "text");
	/* present but empty is not the default */
	assert_string_equal(cw_config_str_raw(c, "R.e", "d"), "");
	assert_string_equal(cw_config_str_raw(c, "R.absent", "d"), "d");
	assert_null(cw_config_str_raw(c, "R.absent", NULL));
	/* a converted string lives as long as the config */
	assert_string_equal(cw_config_need_str_raw(c, "R.r"), "1.5");
	assert_string_equal(a, "128");
	assert_int_equal(cw_config_errors(c), 0);
	unload(c, path);

	c = load("{\"b\": true, \"o\": {}, \"a\": [\"x\"]}", &path);
	cap_start(&k);
	assert_string_equal(cw_config_str_raw(c, "B", "d"), "d");
	assert_string_equal(cw_config_str_raw(c, "o", "d"), "d");
	assert_null(cw_config_str_raw(c, "a", NULL));
	want = cw_asprintf("%1$s: %2$s: B: expected a string\n"
	    "%1$s: %2$s: o: expected a string\n"
	    "%1$s: %2$s: a: expected a string\n",
	    program_invocation_short_name, path);
	same(said(c, &k), want);
	assert_int_equal(cw_config_errors(c), 3);
	unload(c, path);
}

static void
test_bool(void **state)
{
	struct cw_config *c;
	struct cap k;
	char *path, *want;

	(void)state;
	c = load("{\"t\": true, \"f\": false, \"ts\": \"TRUE\", \"fs\": \" False \","
	    " \"e\": \"\", \"y\": \"yes\", \"one\": 1, \"s1\": \"1\", "
	    "\"tr\": \"truex\", \"o\": {}}", &path);
	assert_int_equal(cw_config_bool_raw(c, "t", 0), 1);
	assert_int_equal(cw_config_bool_raw(c, "f", 1), 0);
	assert_int_equal(cw_config_bool_raw(c, "TS", 0), 1);
	assert_int_equal(cw_config_bool_raw(c, "FS", 1), 0);
	assert_int_equal(cw_config_bool_raw(c, "e", 1), 1);
	assert_int_equal(cw_config_bool_raw(c, "absent", 1), 1);
	assert_int_equal(cw_config_bool_raw(c, "absent", 0), 0);
	assert_int_equal(cw_config_errors(c), 0);
	cap_start(&k);
	assert_int_equal(cw_config_bool_raw(c, "y", 1), 1);
	assert_int_equal(cw_config_bool_raw(c, "one", 0), 0);
	assert_int_equal(cw_config_bool_raw(c, "s1", 0), 0);
	assert_int_equal(cw_config_bool_raw(c, "tr", 0), 0);
	assert_int_equal(cw_config_bool_raw(c, "o", 0), 0);
	want = cw_asprintf("%1$s: %2$s: y: expected true or false\n"
	    "%1$s: %2$s: one: expected true or false\n"
	    "%1$s: %2$s: s1: expected true or false\n"
	    "%1$s: %2$s: tr: expected true or false\n"
	    "%1$s: %2$s: o: expected true or false\n",
	    program_invocation_short_name, path);
	same(said(c, &k), want);
	assert_int_equal(cw_config_errors(c), 5);
	unload(c, path);
}

static void
test_null_is_missing(void **state)
{
	struct cw_config *c;
	struct cap k;
	char *path;

	(void)state;
	c = load("{\"S\": {\"s\": null, \"n\": null, \"b\": null}}", &path);
	/* the raw value is there ... */
	assert_true(json_is_null(cw_config_get_raw(c, "S.s")));
	/* ... but every getter treats it as unset */
	assert_string_equal(cw_config_str_raw(c, "S.s", "d"), "d");
	assert_int_equal(cw_config_int_raw(c, "S.n", 7, 0, 9), 7);
	assert_int_equal(cw_config_bool_raw(c, "S.b", 1), 1);
	assert_int_equal(cw_config_errors(c), 0);
	cap_start(&k);
	assert_string_equal(cw_config_need_str_raw(c, "S.s"), "");
	same(said(c, &k), warnline("%s: S.s: missing", path));
	assert_int_equal(cw_config_errors(c), 1);
	unload(c, path);
}

static void
test_need_str(void **state)
{
	struct cw_config *c;
	struct cap k;
	char *path, *want;

	(void)state;
	c = load("{\"S\": {\"v\": \"x\", \"e\": \"\", \"n\": 5, \"o\": []}}",
	    &path);
	assert_string_equal(cw_config_need_str_raw(c, "S.v"), "x");
	assert_string_equal(cw_config_need_str_raw(c, "S.n"), "5");
	assert_int_equal(cw_config_errors(c), 0);
	cap_start(&k);
	assert_string_equal(cw_config_need_str_raw(c, "S.e"), "");
	assert_string_equal(cw_config_need_str_raw(c, "s.MISSING"), "");
	/* the wrong shape is said once, not also "missing" */
	assert_string_equal(cw_config_need_str_raw(c, "S.o"), "");
	want = cw_asprintf("%1$s: %2$s: S.e: missing\n"
	    "%1$s: %2$s: s.MISSING: missing\n"
	    "%1$s: %2$s: S.o: expected a string\n",
	    program_invocation_short_name, path);
	same(said(c, &k), want);
	assert_int_equal(cw_config_errors(c), 3);
	unload(c, path);
}

static void
test_error_count(void **state)
{
	struct cw_config *c;
	struct cap k;
	char *path, *want;

	(void)state;
	c = load("{\"a\": \"x\", \"b\": \"y\"}", &path);
	assert_int_equal(cw_config_errors(c), 0);
	cw_config_str_raw(c, "a", NULL);
	cw_config_int_raw(c, "zz", 0, 0, 1);
	assert_int_equal(cw_config_errors(c), 0);
	cap_start(&k);
	cw_config_int_raw(c, "a", 0, 0, 1);
	cw_config_bool_raw(c, "b", 0);
	cw_config_need_str_raw(c, "c");
	cw_config_bad(c, "A", "must be %s or %d", "http", 2);
	want = cw_asprintf(
	    "%1$s: %2$s: a: expected a whole number from 0 to 1, not \"x\"\n"
	    "%1$s: %2$s: b: expected true or false\n"
	    "%1$s: %2$s: c: missing\n"
	    "%1$s: %2$s: A: must be http or 2\n",
	    program_invocation_short_name, path);
	same(said(c, &k), want);
	assert_int_equal(cw_config_errors(c), 4);
	unload(c, path);
}

static void
test_empty_config(void **state)
{
	struct cw_config *c;
	struct cap k;

	(void)state;
	c = cw_config_empty();
	assert_string_equal(cw_config_path(c), "");
	assert_null(cw_config_get_raw(c, "KeyVaultOptions.KeyVaultUrl"));
	assert_string_equal(cw_config_str_raw(c, "a.b", "d"), "d");
	assert_int_equal(cw_config_int_raw(c, "a.b", 5, 0, 9), 5);
	assert_int_equal(cw_config_bool_raw(c, "a.b", 1), 1);
	assert_int_equal(cw_config_errors(c), 0);
	cap_start(&k);
	assert_string_equal(cw_config_need_str_raw(c, "KeyVaultOptions.KeyVaultUrl"),
	    "");
	same(said(c, &k),
	    warnline("(no config file): KeyVaultOptions.KeyVaultUrl: missing"));
	assert_int_equal(cw_config_errors(c), 1);
	cw_config_free(c);
	cw_config_free(NULL);
}

static void
test_resolve(void **state)
{
	struct cw_config *c, *e;
	char *dir, *sub, *file, *cwd, *here, *r;
	cw_err err;
	FILE *f;

	(void)state;
	dir = cw_asprintf("%s/cwconf.XXXXXX", tmpdir());
	assert_non_null(mkdtemp(dir));
	sub = cw_asprintf("%s/sub", dir);
	assert_int_equal(mkdir(sub, 0700), 0);
	file = cw_asprintf("%s/app.json", sub);
	f = fopen(file, "w");
	assert_non_null(f);
	fputs("{}", f);
	fclose(f);

	/* absolute config path */
	c = cw_config_load(file, &err);
	assert_non_null(c);
	assert_string_equal(cw_config_path(c), file);
	r = cw_config_resolve(c, "state/cw.db");
	same(r, cw_asprintf("%s/state/cw.db", sub));
	same(cw_config_resolve(c, "/var/lib/cw.db"), cw_strdup("/var/lib/cw.db"));
	same(cw_config_resolve(c, ""), cw_strdup(sub));
	assert_null(cw_config_resolve(c, NULL));
	cw_config_free(c);

	/* relative config path: against the directory it was loaded from */
	cwd = getcwd(NULL, 0);
	assert_non_null(cwd);
	assert_int_equal(chdir(dir), 0);
	here = getcwd(NULL, 0);
	c = cw_config_load("sub/app.json", &err);
	assert_non_null(c);
	e = cw_config_empty();
	assert_int_equal(chdir("/"), 0);
	same(cw_config_resolve(c, "state/cw.db"),
	    cw_asprintf("%s/sub/state/cw.db", here));
	same(cw_config_resolve(e, "state/cw.db"),
	    cw_asprintf("%s/state/cw.db", here));
	cw_config_free(c);
	cw_config_free(e);
	assert_int_equal(chdir(dir), 0);
	c = cw_config_load("app.json", &err);
	assert_null(c);
	assert_int_equal(chdir("sub"), 0);
	c = cw_config_load("app.json", &err);
	assert_non_null(c);
	same(cw_config_resolve(c, "x"), cw_asprintf("%s/sub/x", here));
	cw_config_free(c);
	assert_int_equal(chdir(cwd), 0);

	unlink(file);
	rmdir(sub);
	rmdir(dir);
	free(file);
	free(sub);
	free(dir);
	free(cwd);
	free(here);
}

static void
test_default_path(void **state)
{
	const char *arg = "given.json";
	char *old;

	(void)state;
	old = getenv("CARTWATCH_CONFIG");
	old = old != NULL ? cw_strdup(old) : NULL;

	unsetenv("CARTWATCH_CONFIG");
	assert_string_equal(cw_config_default_path(NULL), "./appsettings.json");
	assert_ptr_equal(cw_config_default_path(arg), arg);
	setenv("CARTWATCH_CONFIG", "/etc/cw/app.json", 1);
	assert_string_equal(cw_config_default_path(NULL), "/etc/cw/app.json");
	/* an argument beats the environment */
	assert_ptr_equal(cw_config_default_path(arg), arg);
	setenv("CARTWATCH_CONFIG", "", 1);
	assert_string_equal(cw_config_default_path(NULL), "./appsettings.json");

	if (old != NULL)
		setenv("CARTWATCH_CONFIG", old, 1);
	else
		unsetenv("CARTWATCH_CONFIG");
	free(old);
}

/* The .NET sample's file, every documented key. */
static void
test_sample_file(void **state)
{
	static const char *viewport[] = { "(max-width:768px)",
	    "(min-width:769px) and (max-width:1599px)", "(min-width:1600px)" };
	static const long long size[] = { 80, 183, 315 };
	struct cw_config *c;
	struct cap k;
	json_t *ports, *p;
	char *path, key[80], *out;
	cw_err e;
	size_t i;

	(void)state;
	path = fixture("appsettings.json");
	c = cw_config_load(path, &e);
	if (c == NULL)
		fail_msg("%s", e.msg);
	cap_start(&k);
	assert_string_equal(cw_config_need_str(c, "KeyVaultOptions.KeyVaultUrl"),
	    "https://cw-test.vault.azure.net/");
	assert_string_equal(cw_config_need_str(c, "KeyVaultOptions.KeyVaultURI"),
	    "https://cw-test.vault.azure.net/");
	assert_string_equal(cw_config_need_str(c,
	    "RetailServerClientOptions.TenantId"),
	    "11111111-2222-3333-4444-555555555555");
	assert_string_equal(cw_config_str(c,
	    "RetailServerClientOptions.RetailServerAudienceId"),
	    "https://commerce.dynamics.com");
	assert_string_equal(cw_config_need_str(c,
	    "RetailServerClientOptions.AppIdKeyVaultSecretName"), "cw-app-id");
	assert_string_equal(cw_config_need_str(c,
	    "RetailServerClientOptions.AppSecretKeyVaultSecretName"),
	    "cw-app-secret");
	assert_string_equal(cw_config_need_str(c,
	    "RetailServerClientOptions.RetailServerUri"),
	    "https://cw-test.commerce.dynamics.com/Commerce");
	assert_string_equal(cw_config_need_str(c,
	    "RetailServerClientOptions.RetailServerUrl"),
	    "https://cw-test.commerce.dynamics.com/Commerce");
	assert_string_equal(cw_config_need_str(c,
	    "RetailServerClientOptions.OperatingUnitNumber"), "128");
	assert_int_equal(cw_config_int(c, "RetailServerClientOptions."
	    "IncludeAbandonedCartsModifiedSinceLastMinutes"), 500);
	assert_int_equal(cw_config_int(c, "RetailServerClientOptions."
	    "ExcludeAbandonedCartsModifiedSinceLastMinutes"), 10);
	assert_string_equal(cw_config_need_str(c,
	    "RetailServerClientOptions.ReturnToCartUrl"),
	    "https://shop.example/en/_msdyn365/signin?ru=https://shop.example/en/cart");
	assert_string_equal(cw_config_str(c, "AzureCosmosOptions.EndPointUri"),
	    "https://localhost:8081");
	assert_string_equal(cw_config_str(c, "AzureCosmosOptions.PrimaryKey"), "");
	assert_string_equal(cw_config_str(c, "AzureCosmosOptions.DatabaseId"),
	    "AbandonedCartSampleDB");
	assert_string_equal(cw_config_str(c, "AzureCosmosOptions.ContainerId"),
	    "RunStatus");
	assert_string_equal(cw_config_str(c, "EmarsysClientOptions.ApiUrl"),
	    "https://api.emarsys.net/api/v2/event/{0}/trigger");
	assert_string_equal(cw_config_need_str(c,
	    "EmarsysClientOptions.ExternalEventId"), "4242");
	assert_string_equal(cw_config_need_str(c,
	    "EmarsysClientOptions.ApiUserNameKeyVaultSecretName"),
	    "cw-emarsys-user");
	assert_string_equal(cw_config_need_str(c,
	    "EmarsysClientOptions.ApiSecretKeyVaultSecretName"),
	    "cw-emarsys-secret");
	assert_string_equal(cw_config_str(c,
	    "EmarsysClientOptions.EmarsysContactKeyId"), "3");
	assert_string_equal(cw_config_need_str(c, "MediaOptions.ImageServerUrl"),
	    "https://images.example/cms/imageFileData/search?fileName=");

	ports = cw_config_get(c, "MediaOptions.ImageViewPorts");
	assert_true(json_is_array(ports));
	assert_int_equal(json_array_size(ports), 3);
	json_array_foreach(ports, i, p) {
		/* the C# property names, as the binder matches them */
		assert_string_equal(cw_json_istr(p, "Viewport"), viewport[i]);
		assert_int_equal(json_integer_value(cw_json_iget(p,
		    "ImageWidth")), size[i]);
		snprintf(key, sizeof(key), "MediaOptions.ImageViewPorts.%zu."
		    "ImageHeight", i);
		assert_int_equal(cw_config_int(c, key), size[i]);
		snprintf(key, sizeof(key), "MediaOptions.ImageViewPorts.%zu."
		    "UseForDefaultImageTag", i);
		assert_int_equal(cw_config_bool(c, key), i == 2);
	}
	assert_null(cw_config_get_raw(c, "MediaOptions.ImageViewPorts.3"));
	assert_null(cw_config_get_raw(c, "MediaOptions.ImageViewPorts.x"));
	assert_null(cw_config_get_raw(c, "MediaOptions.ImageViewPorts.-1"));
	/* our own keys are absent from it, so their defaults apply */
	assert_string_equal(cw_config_str(c, "Cartwatch.StateStore.Kind"), "sqlite");
	assert_null(cw_config_get_raw(c, "KeyVaultOptions.KeyVaultUrn"));
	out = cap_end(&k);
	assert_string_equal(out, "");
	free(out);
	assert_int_equal(cw_config_errors(c), 0);
	cw_config_free(c);
	free(path);
}

/* The table itself: one row per key, each findable, its facts coherent. */
static void
test_keys_table(void **state)
{
	const struct cw_key *k;
	size_t i;

	(void)state;
	assert_true(cw_nkeys > 0);
	for (i = 0; i < cw_nkeys; i++) {
		k = &cw_keys[i];
		/* found as itself, so no two rows match one name */
		assert_ptr_equal(cw_key_find(k->name), k);
		if (k->alias != NULL)
			assert_ptr_equal(cw_key_find(k->alias), k);
		assert_non_null(k->doc);
		assert_true(*k->doc != '\0' && strchr(k->doc, '\t') == NULL &&
		    strchr(k->doc, '\n') == NULL);
		if (k->type == CW_KEY_INT)
			assert_true(k->min <= k->max);
		if (k->type == CW_KEY_BOOL)
			assert_true(k->def == 0 || k->def == 1);
	}
	/* a "*" segment is an array index: digits, nothing else */
	k = cw_key_find("MediaOptions.ImageViewPorts.12.imageWidth");
	assert_non_null(k);
	assert_string_equal(k->name, "MediaOptions.ImageViewPorts.*.imageWidth");
	assert_ptr_equal(cw_key_find("mediaoptions.imageviewports.0.IMAGEWIDTH"), k);
	assert_null(cw_key_find("MediaOptions.ImageViewPorts.x.imageWidth"));
	assert_null(cw_key_find("MediaOptions.ImageViewPorts..imageWidth"));
	assert_null(cw_key_find("MediaOptions.ImageViewPorts.*.imageWidth.x"));
	assert_null(cw_key_find("MediaOptions.ImageViewPorts.0"));
	assert_null(cw_key_find("Cartwatch.Http"));
	assert_null(cw_key_find("Cartwatch.Http.MaxAttempts."));
	assert_null(cw_key_find(""));
	assert_null(cw_key_find(NULL));
	assert_ptr_equal(cw_key_find("KeyVaultOptions.KeyVaultURI"),
	    cw_key_find("KeyVaultOptions.KeyVaultUrl"));
}

/* The getters take each key's default and range from the table. */
static void
test_table_defaults(void **state)
{
	struct cw_config *c;
	struct cap k;
	char *path, *want;

	(void)state;
	c = cw_config_empty();
	assert_int_equal(cw_config_int(c, "Cartwatch.Http.MaxAttempts"), 5);
	assert_int_equal(cw_config_int(c,
	    "RetailServerClientOptions.ExcludeAbandonedCartsModifiedSinceLastMinutes"), 10);
	assert_int_equal(cw_config_int(c, "Cartwatch.Reminders.3.AfterMinutes"), -1);
	assert_string_equal(cw_config_str(c, "Cartwatch.StateStore.Kind"), "sqlite");
	assert_null(cw_config_str(c, "KeyVaultOptions.KeyVaultURI"));
	assert_null(cw_config_str(c, "Cartwatch.Notify.Smtp.User"));
	assert_int_equal(cw_config_bool(c, "Cartwatch.OneCartPerCustomer"), 1);
	assert_int_equal(cw_config_bool(c, "Cartwatch.IncludeGuestCarts"), 0);
	assert_int_equal(cw_config_int_or(c, "Cartwatch.Notify.RequestsPerMinute", 900), 900);
	assert_int_equal(cw_config_int(c, "Cartwatch.Notify.RequestsPerMinute"), 0);
	assert_null(cw_config_get(c, "Cartwatch.Reminders"));
	assert_int_equal(cw_config_errors(c), 0);
	cw_config_free(c);

	c = load("{\"Cartwatch\": {\"Http\": {\"MaxAttempts\": 101}, \"Notify\": "
	    "{\"RequestsPerMinute\": 1000001}}, \"MediaOptions\": {\"ImageViewPorts\": "
	    "[{\"imageWidth\": 0}]}}", &path);
	cap_start(&k);
	assert_int_equal(cw_config_int(c, "Cartwatch.Http.MaxAttempts"), 5);
	assert_int_equal(cw_config_int_or(c, "Cartwatch.Notify.RequestsPerMinute", 900), 900);
	assert_int_equal(cw_config_int(c, "MediaOptions.ImageViewPorts.0.imageWidth"), 0);
	want = cw_asprintf(
	    "%1$s: %2$s: Cartwatch.Http.MaxAttempts: expected a whole number from 1 to 100, "
	    "not 101\n"
	    "%1$s: %2$s: Cartwatch.Notify.RequestsPerMinute: expected a whole number from 0 "
	    "to 1000000, not 1000001\n"
	    "%1$s: %2$s: MediaOptions.ImageViewPorts.0.imageWidth: expected a whole number "
	    "from 1 to 100000, not 0\n",
	    program_invocation_short_name, path);
	same(said(c, &k), want);
	assert_int_equal(cw_config_errors(c), 3);
	unload(c, path);
}

/* Reading a key the table lacks, or as another type, is a bug said aloud. */
static void
test_unknown_key(void **state)
{
	struct cw_config *c;
	struct cap k;
	char *path, *want;

	(void)state;
	c = load("{\"Cartwatch\": {\"Nope\": \"x\", \"StateStore\": {\"Kind\": \"sqlite\"}}}",
	    &path);
	cap_start(&k);
	assert_string_equal(cw_config_str(c, "Cartwatch.Nope"), "");
	assert_string_equal(cw_config_need_str(c, "Cartwatch.Nope"), "");
	assert_int_equal(cw_config_int(c, "Cartwatch.Nope"), 0);
	assert_int_equal(cw_config_int_or(c, "Cartwatch.Nope", 7), 0);
	assert_int_equal(cw_config_bool(c, "Cartwatch.Nope"), 0);
	assert_null(cw_config_get(c, "Cartwatch.Nope"));
	assert_null(cw_config_get(c, "MediaOptions.ImageViewPorts.x.imageWidth"));
	assert_int_equal(cw_config_int(c, "Cartwatch.StateStore.Kind"), 0);
	assert_int_equal(cw_config_bool(c, "Cartwatch.Http.MaxAttempts"), 0);
	assert_string_equal(cw_config_str(c, "Cartwatch.Reminders"), "");
	/* any type may be read whole */
	assert_string_equal(json_string_value(cw_config_get(c, "Cartwatch.StateStore.Kind")),
	    "sqlite");
#define UNKNOWN(key) "%1$s: %2$s: " key ": not in the table of keys (common/core/keys.c)\n"
	want = cw_asprintf(UNKNOWN("Cartwatch.Nope") UNKNOWN("Cartwatch.Nope")
	    UNKNOWN("Cartwatch.Nope") UNKNOWN("Cartwatch.Nope") UNKNOWN("Cartwatch.Nope")
	    UNKNOWN("Cartwatch.Nope") UNKNOWN("MediaOptions.ImageViewPorts.x.imageWidth")
	    "%1$s: %2$s: Cartwatch.StateStore.Kind: read as a whole number, but the table "
	    "of keys has a string\n"
	    "%1$s: %2$s: Cartwatch.Http.MaxAttempts: read as true or false, but the table "
	    "of keys has a whole number\n"
	    "%1$s: %2$s: Cartwatch.Reminders: read as a string, but the table of keys has "
	    "a list\n",
	    program_invocation_short_name, path);
#undef UNKNOWN
	same(said(c, &k), want);
	assert_int_equal(cw_config_errors(c), 10);
	unload(c, path);
}

/*
 * cw_http_opts_default and cw_smtp_opts_default serve callers with no config
 * (tests, drivers); they must say what the table says, or a key would have
 * two defaults again.
 */
static void
test_opts_defaults_are_the_table(void **state)
{
	struct cw_http_opts h;
	struct cw_smtp_opts s;
	struct cw_config *c = cw_config_empty();

	(void)state;
	cw_http_opts_default(&h);
	assert_int_equal(h.max_attempts, cw_config_int(c, "Cartwatch.Http.MaxAttempts"));
	assert_int_equal(h.connect_timeout_ms, cw_config_int(c, "Cartwatch.Http.ConnectTimeoutMs"));
	assert_int_equal(h.timeout_ms, cw_config_int(c, "Cartwatch.Http.TimeoutMs"));
	assert_int_equal(h.backoff_ms, cw_config_int(c, "Cartwatch.Http.BackoffMs"));
	assert_int_equal(h.backoff_max_ms, cw_config_int(c, "Cartwatch.Http.MaxBackoffMs"));
	assert_int_equal(h.retry_wait_max_ms, cw_config_int(c, "Cartwatch.Http.MaxRetryWaitMs"));
	cw_smtp_opts_default(&s);
	assert_int_equal(s.max_attempts, cw_config_int(c, "Cartwatch.Notify.Smtp.MaxAttempts"));
	assert_int_equal(s.connect_timeout_ms,
	    cw_config_int(c, "Cartwatch.Notify.Smtp.ConnectTimeoutMs"));
	assert_int_equal(s.timeout_ms, cw_config_int(c, "Cartwatch.Notify.Smtp.TimeoutMs"));
	assert_int_equal(s.backoff_ms, cw_config_int(c, "Cartwatch.Notify.Smtp.BackoffMs"));
	assert_int_equal(s.backoff_max_ms, cw_config_int(c, "Cartwatch.Notify.Smtp.MaxBackoffMs"));
	assert_int_equal(cw_config_errors(c), 0);
	cw_smtp_opts_free(&s);
	cw_config_free(c);
}

static void
test_json_helpers(void **state)
{
	const char *s;
	json_t *o, *v;

	(void)state;
	s = "{\"Id\": \"a\", \"id\": \"b\", \"N\": 1}";
	o = cw_json_parse(s, strlen(s));
	assert_non_null(o);
	assert_string_equal(cw_json_istr(o, "ID"), "b");
	assert_string_equal(cw_json_istr(o, "iD"), "b");
	assert_int_equal(json_integer_value(cw_json_iget(o, "n")), 1);
	/* not a string, not there, not an object */
	assert_null(cw_json_istr(o, "N"));
	assert_null(cw_json_iget(o, "I"));
	assert_null(cw_json_iget(o, "Idx"));
	assert_null(cw_json_iget(o, NULL));
	assert_null(cw_json_iget(NULL, "Id"));
	assert_null(cw_json_iget(cw_json_iget(o, "Id"), "Id"));
	json_decref(o);

	/* n bytes, not up to a NUL */
	o = cw_json_parse("{}garbage", 2);
	assert_true(json_is_object(o));
	json_decref(o);
	v = cw_json_parse("[1]", 3);
	assert_true(json_is_array(v));
	json_decref(v);
	v = cw_json_parse("42", 2);
	assert_int_equal(json_integer_value(v), 42);
	json_decref(v);
	assert_null(cw_json_parse("{}garbage", 9));
	assert_null(cw_json_parse("{", 1));
	assert_null(cw_json_parse("", 0));
	assert_null(cw_json_parse(NULL, 0));
	/* comments are for the config file only */
	assert_null(cw_json_parse("{} // x", 7));
}

/* The member at a dotted path, exact case, digits indexing arrays; or NULL. */
static json_t *
at(json_t *v, const char *path)
{
	char *copy = cw_strdup(path), *seg, *save = NULL;

	for (seg = strtok_r(copy, ".", &save); seg != NULL && v != NULL;
	    seg = strtok_r(NULL, ".", &save))
		v = json_is_array(v) ? json_array_get(v, strtoul(seg, NULL, 10)) :
		    json_object_get(v, seg);
	free(copy);
	return v;
}

/*
 * cw_config_effective: the table's defaults where the file has none (in the
 * file's own spelling of a section or a null key, so that the printed file
 * loads again), not for members of arrays nor for keys whose default
 * depends on the reader; secrets masked, whether the table marks them or
 * they are named like secrets; what the file says kept.
 */
static void
test_effective(void **state)
{
	char *path, *text;
	struct cw_config *c = load("{ // a comment\n"
	    "\"cartwatch\": {\"statestore\": {\"leaseminutes\": null, \"Kind\": \"sqlite\"},},"
	    "\"AzureCosmosOptions\": {\"PrimaryKey\": \"c2VjcmV0\"},"
	    "\"Other\": {\"ClientSecret\": \"x\", \"SecretName\": \"kept\", \"Empty\": {\"Token\": \"\"}},"
	    "\"MediaOptions\": {\"ImageViewPorts\": [{\"imageWidth\": 80, \"imageHeight\": 80}]}}",
	    &path);
	json_t *doc = cw_config_effective(c);
	struct cw_config *again;
	cw_err e;

	(void)state;
	assert_int_equal(json_integer_value(at(doc, "cartwatch.statestore.leaseminutes")), 30);
	assert_null(json_object_get(json_object_get(json_object_get(doc, "cartwatch"), "statestore"),
	    "LeaseMinutes"));
	assert_null(json_object_get(doc, "Cartwatch"));
	assert_string_equal(json_string_value(at(doc, "cartwatch.statestore.Kind")), "sqlite");
	assert_string_equal(json_string_value(at(doc, "cartwatch.statestore.Path")),
	    "state/cartwatch.db");
	assert_string_equal(json_string_value(at(doc, "AzureCosmosOptions.PrimaryKey")),
	    CW_CONFIG_SECRET_MARK);
	assert_string_equal(json_string_value(at(doc, "Other.ClientSecret")),
	    CW_CONFIG_SECRET_MARK);
	assert_string_equal(json_string_value(at(doc, "Other.SecretName")), "kept");
	assert_string_equal(json_string_value(at(doc, "Other.Empty.Token")), "");
	assert_null(at(doc, "MediaOptions.ImageViewPorts.0.useForDefaultImageTag"));
	assert_null(at(doc, "cartwatch.Notify.RequestsPerMinute"));
	assert_null(at(doc, "cartwatch.Notify.Smtp.From"));
	assert_int_equal(json_integer_value(at(doc, "cartwatch.Http.MaxAttempts")), 5);
	/* What it prints is a configuration that loads. */
	text = json_dumps(doc, 0);
	unlink(path);
	free(path);
	path = writetmp(text, strlen(text));
	again = cw_config_load(path, &e);
	if (again == NULL)
		fail_msg("%s", e.msg);
	cw_config_free(again);
	free(text);
	json_decref(doc);
	unload(c, path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_line_comments),
		cmocka_unit_test(test_block_comments),
		cmocka_unit_test(test_comment_markers_in_strings),
		cmocka_unit_test(test_escapes_in_strings),
		cmocka_unit_test(test_trailing_commas),
		cmocka_unit_test(test_bom),
		cmocka_unit_test(test_unterminated_comment),
		cmocka_unit_test(test_error_position),
		cmocka_unit_test(test_root_not_object),
		cmocka_unit_test(test_unreadable),
		cmocka_unit_test(test_case_insensitive),
		cmocka_unit_test(test_twins_refused),
		cmocka_unit_test(test_aliases),
		cmocka_unit_test(test_int),
		cmocka_unit_test(test_long_value_shown_short),
		cmocka_unit_test(test_str),
		cmocka_unit_test(test_bool),
		cmocka_unit_test(test_null_is_missing),
		cmocka_unit_test(test_need_str),
		cmocka_unit_test(test_error_count),
		cmocka_unit_test(test_empty_config),
		cmocka_unit_test(test_resolve),
		cmocka_unit_test(test_default_path),
		cmocka_unit_test(test_sample_file),
		cmocka_unit_test(test_keys_table),
		cmocka_unit_test(test_table_defaults),
		cmocka_unit_test(test_unknown_key),
		cmocka_unit_test(test_opts_defaults_are_the_table),
		cmocka_unit_test(test_json_helpers),
		cmocka_unit_test(test_effective),
	};

	return cmocka_run_group_tests(tests, scratch_setup, scratch_teardown);
}
