/* config.c: the sample's appsettings.json, read the way .NET reads it. */
#include <err.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "cw/core/config.h"
#include "cw/core/file.h"
#include "cw/core/keys.h"
#include "cw/core/util.h"

#define MAXSIZE (64L * 1024 * 1024)  /* no config is this big; /dev/zero is */
#define NOFILE "(no config file)"

struct cw_config {
	char *path;    /* as given; "" for an empty config */
	char *dir;     /* absolute; relative paths in the file start here */
	json_t *root;  /* always an object */
	json_t *keep;  /* strings made from numbers, freed with the config */
	int errors;
	struct cw_buf said;  /* the problems not yet taken, one line each */
};

const char *
cw_config_default_path(const char *path)
{
	const char *env;

	if (path != NULL)
		return path;
	env = getenv("CARTWATCH_CONFIG");
	if (env != NULL && *env != '\0')
		return env;
	return "./appsettings.json";
}

/* Jansson counts columns in characters: a UTF-8 continuation byte adds none. */
static int
startschar(unsigned char ch)
{
	return (ch & 0xC0) != 0x80;
}

/* 1-based line and column of s[off], counted the way Jansson counts them. */
static void
where(const char *s, size_t off, int *line, int *col)
{
	size_t i;

	*line = 1;
	*col = 0;
	for (i = 0; i <= off; i++) {
		if (s[i] == '\n') {
			(*line)++;
			*col = 0;
		} else if (startschar((unsigned char)s[i]))
			(*col)++;
	}
}

/*
 * Turns .NET's relaxed JSON into plain JSON for Jansson: each comment becomes
 * blanks (one per character, newlines kept) so Jansson's line and column still
 * point into the user's file. Returns the offset of an unterminated block
 * comment, or -1.
 */
static long
uncomment(const char *s, size_t n, struct cw_buf *out)
{
	size_t i, start;
	int instr = 0;

	for (i = 0; i < n; i++) {
		if (instr) {
			cw_buf_add(out, &s[i], 1);
			if (s[i] == '\\' && i + 1 < n)
				cw_buf_add(out, &s[++i], 1);
			else if (s[i] == '"')
				instr = 0;
		} else if (s[i] == '/' && i + 1 < n && s[i + 1] == '/') {
			/* nothing follows on the line: no blanks needed */
			while (i + 1 < n && s[i + 1] != '\n')
				i++;
		} else if (s[i] == '/' && i + 1 < n && s[i + 1] == '*') {
			start = i;
			for (i += 2; i + 1 < n; i++)
				if (s[i] == '*' && s[i + 1] == '/')
					break;
			if (i + 1 >= n)
				return (long)start;
			cw_buf_adds(out, "  ");
			for (start += 2; start < i; start++)
				if (s[start] == '\n')
					cw_buf_add(out, "\n", 1);
				else if (startschar((unsigned char)s[start]))
					cw_buf_add(out, " ", 1);
			cw_buf_adds(out, "  ");
			i++;
		} else {
			if (s[i] == '"')
				instr = 1;
			cw_buf_add(out, &s[i], 1);
		}
	}
	cw_buf_add(out, "", 0);  /* NUL-terminated even when empty */
	return -1;
}

static int
isws(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r';
}

/*
 * Blanks a comma that ends an object or array. Only after a value, so that
 * "[,]" and "[1,,]" stay errors, as they are for .NET.
 */
static void
untrail(char *s, size_t n)
{
	size_t i, j;
	char last = '\0';
	int instr = 0;

	for (i = 0; i < n; i++) {
		if (instr) {
			if (s[i] == '\\' && i + 1 < n)
				i++;
			else if (s[i] == '"')
				instr = 0;
			continue;
		}
		if (isws(s[i]))
			continue;
		if (s[i] == '"')
			instr = 1;
		else if (s[i] == ',' && last != ',' && last != '[' &&
		    last != '{' && last != '\0') {
			for (j = i + 1; j < n && isws(s[j]); j++)
				;
			if (j < n && (s[j] == '}' || s[j] == ']')) {
				s[i] = ' ';
				continue;
			}
		}
		last = s[i];
	}
}

static const char *
kind(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
	case JSON_REAL:
		return "a number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	case JSON_NULL:
		return "null";
	default:
		return "an object";
	}
}

/* The directory relative paths in the config are taken against, absolute. */
static char *
basedir(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *cwd, *d;

	if (slash != NULL && path[0] == '/')
		return cw_strndup(path,
		    slash == path ? 1 : (size_t)(slash - path));
	if ((cwd = getcwd(NULL, 0)) == NULL)
		cwd = cw_strdup(".");  /* cwd is gone: relative still works */
	if (slash == NULL)
		return cwd;
	d = cw_asprintf("%s/%.*s", strcmp(cwd, "/") == 0 ? "" : cwd,
	    (int)(slash - path), path);
	free(cwd);
	return d;
}

/* A value's dotted path, as .NET's "A:B" keys name it, and its place in the file. */
struct leaf {
	char *path;
	size_t at;
};

struct leaves {
	struct leaf *v;
	size_t n, cap;
};

/* Every value that is neither an object nor an array, with its path. */
static void
collect(const json_t *v, struct cw_buf *path, struct leaves *l)
{
	size_t len = path->len, i;
	const char *k;
	json_t *m;

	if (json_is_object(v) || json_is_array(v)) {
		if (json_is_object(v)) {
			json_object_foreach((json_t *)v, k, m) {
				cw_buf_addf(path, "%s%s", len > 0 ? "." : "", k);
				collect(m, path, l);
				path->len = len;
			}
		} else {
			json_array_foreach(v, i, m) {
				cw_buf_addf(path, "%s%zu", len > 0 ? "." : "", i);
				collect(m, path, l);
				path->len = len;
			}
		}
		return;
	}
	if (l->n == l->cap) {
		l->cap = l->cap == 0 ? 64 : 2 * l->cap;
		l->v = cw_realloc(l->v, l->cap * sizeof(*l->v));
	}
	l->v[l->n].path = cw_strndup(path->data, path->len);
	l->v[l->n].at = l->n;
	l->n++;
}

static int
leafcmp(const void *x, const void *y)
{
	const struct leaf *a = x, *b = y;
	int c = cw_ascii_casecmp(a->path, b->path);

	return c != 0 ? c : (a->at > b->at) - (a->at < b->at);
}

/*
 * .NET reads the file into one dictionary of "A:B" keys that ignores case, and
 * throws (FormatException, "A duplicate key ... was found") when two values
 * land on one key: {"Provider":"smtp","provider":"sendgrid"}, or the same key
 * in two sections that differ only in case. Which one it means is no one's
 * guess, so such a file is refused here too. Sections that differ only in case
 * but hold different keys merge, as in .NET.
 */
static int
twin_values(const char *file, const json_t *root, cw_err *e)
{
	struct leaves l = {NULL, 0, 0};
	struct cw_buf path = CW_BUF_INIT;
	size_t i, twin = 0;

	cw_buf_add(&path, "", 0);
	collect(root, &path, &l);
	cw_buf_free(&path);
	if (l.n > 1)
		qsort(l.v, l.n, sizeof(*l.v), leafcmp);
	for (i = 1; i < l.n; i++)
		if (cw_ascii_casecmp(l.v[i - 1].path, l.v[i].path) == 0 &&
		    (twin == 0 || l.v[i].at < l.v[twin].at))
			twin = i;
	if (twin != 0)
		cw_seterr(e, "%s: keys \"%s\" and \"%s\" differ only in case; .NET "
		    "refuses such a file", file, l.v[twin - 1].path, l.v[twin].path);
	for (i = 0; i < l.n; i++)
		free(l.v[i].path);
	free(l.v);
	return twin != 0 ? -1 : 0;
}

static struct cw_config *
newconfig(const char *path, json_t *root)
{
	struct cw_config *c = cw_calloc(1, sizeof(*c));

	c->path = cw_strdup(path);
	c->dir = basedir(path);
	c->root = root;
	c->keep = json_array();
	if (c->keep == NULL)
		errx(CW_EXIT_FAIL, "out of memory");
	return c;
}

struct cw_config *
cw_config_load(const char *path, cw_err *e)
{
	struct cw_buf raw = CW_BUF_INIT, txt = CW_BUF_INIT;
	json_error_t jerr;
	json_t *root = NULL;
	const char *s, *p, *tail;
	size_t n, i;
	long bad;
	int line, col, tlen;

	if (cw_read_file(path, MAXSIZE, 0, &raw, e) != 0)
		goto fail;
	s = raw.data != NULL ? raw.data : "";
	n = raw.len;
	/* Editors on Windows save a BOM; .NET skips it, so do we. */
	if (n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0) {
		s += 3;
		n -= 3;
	}
	if ((bad = uncomment(s, n, &txt)) != -1) {
		where(s, (size_t)bad, &line, &col);
		cw_seterr(e, "%s:%d:%d: unterminated /* comment", path, line,
		    col);
		goto fail;
	}
	untrail(txt.data, txt.len);
	root = json_loadb(txt.data, txt.len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL && json_error_code(&jerr) == json_error_duplicate_key) {
		/*
		 * .NET keeps both members of {"A":{"x":1},"A":{"y":2}} and refuses
		 * a repeated value; Jansson would keep the second only. Refused,
		 * rather than read differently. A key is a name, never a secret:
		 * Jansson's "near '"KEY"'" may be shown.
		 */
		p = strstr(jerr.text, " near '");
		tlen = p != NULL ? (int)strlen(p + 7) - 1 : 0;
		cw_seterr(e, "%s:%d:%d: the key %.*s is written twice in one object",
		    path, jerr.line, jerr.column, tlen > 0 ? tlen : 0, p != NULL ? p + 7 : "");
		goto fail;
	}
	if (root == NULL) {
		/*
		 * Jansson quotes the token it stopped at; a broken string
		 * may be a key (PrimaryKey), which must not reach a log.
		 */
		p = strstr(jerr.text, " near '\"");
		tlen = (int)(p != NULL ? (size_t)(p - jerr.text) :
		    strlen(jerr.text));
		tail = p != NULL ? " in a string" : "";
		if (jerr.line < 1)
			cw_seterr(e, "%s: %.*s%s", path, tlen, jerr.text, tail);
		else
			cw_seterr(e, "%s:%d:%d: %.*s%s", path, jerr.line,
			    jerr.column < 1 ? 1 : jerr.column, tlen, jerr.text,
			    tail);
		goto fail;
	}
	if (!json_is_object(root)) {
		for (i = 0; i < txt.len && isws(txt.data[i]); i++)
			;
		where(txt.data, i, &line, &col);
		cw_seterr(e, "%s:%d:%d: expected a JSON object at the top, "
		    "not %s", path, line, col, kind(root));
		goto fail;
	}
	if (twin_values(path, root, e) != 0)
		goto fail;
	cw_buf_free(&raw);
	cw_buf_free(&txt);
	return newconfig(path, root);
fail:
	json_decref(root);
	cw_buf_free(&raw);
	cw_buf_free(&txt);
	return NULL;
}

struct cw_config *
cw_config_empty(void)
{
	json_t *root = json_object();

	if (root == NULL)
		errx(CW_EXIT_FAIL, "out of memory");
	return newconfig("", root);
}

void
cw_config_free(struct cw_config *c)
{
	if (c == NULL)
		return;
	json_decref(c->root);
	json_decref(c->keep);
	cw_buf_free(&c->said);
	free(c->path);
	free(c->dir);
	free(c);
}

const char *
cw_config_path(const struct cw_config *c)
{
	return c->path;
}


/*
 * One dotted path, no aliases. .NET flattens the file into "A:B" keys before
 * it looks anything up, so {"A":{"x":1},"a":{"y":2}} has both a.x and a.y:
 * every member that matches a segment is searched, and the last hit wins.
 * A numeric segment indexes an array, as "ImageViewPorts:0" does in .NET.
 */
static json_t *
lookup(json_t *v, const char *key)
{
	const char *dot, *k;
	json_t *child, *hit, *found = NULL;
	size_t n;

	dot = strchr(key, '.');
	n = dot != NULL ? (size_t)(dot - key) : strlen(key);
	if (n == 0)
		return NULL;
	if (json_is_array(v)) {
		if (!cw_ascii_digits(key, n) || n > 9)
			return NULL;
		child = json_array_get(v, strtoul(key, NULL, 10));
		return dot != NULL ? lookup(child, dot + 1) : child;
	}
	if (!json_is_object(v))
		return NULL;
	json_object_foreach(v, k, child) {
		if (strlen(k) != n || cw_ascii_ncasecmp(k, key, n) != 0)
			continue;
		hit = dot != NULL ? lookup(child, dot + 1) : child;
		if (hit != NULL)
			found = hit;
	}
	return found;
}

/*
 * A key with a second spelling (the table's alias): the first is the sample's
 * own and wins when a file has both, unless it is null there.
 */
json_t *
cw_config_get_raw(const struct cw_config *c, const char *key)
{
	const struct cw_key *k;
	json_t *v;
	size_t i;

	if (c == NULL || key == NULL)
		return NULL;
	for (i = 0; i < cw_nkeys; i++) {
		k = &cw_keys[i];
		if (k->alias == NULL || (cw_ascii_casecmp(key, k->name) != 0 &&
		    cw_ascii_casecmp(key, k->alias) != 0))
			continue;
		v = lookup(c->root, k->name);
		if (v == NULL || json_is_null(v))
			v = lookup(c->root, k->alias);
		return v != NULL ? v : lookup(c->root, k->name);
	}
	return lookup(c->root, key);
}

static void
vbad(struct cw_config *c, const char *key, const char *fmt, va_list ap)
{
	char msg[512];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	cw_buf_addf(&c->said, "%s: %s: %s\n", *c->path != '\0' ? c->path : NOFILE, key, msg);
	c->errors++;
}

void
cw_config_bad(struct cw_config *c, const char *key, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vbad(c, key, fmt, ap);
	va_end(ap);
}

int
cw_config_errors(const struct cw_config *c)
{
	return c->errors;
}

char *
cw_config_take_said(struct cw_config *c)
{
	return cw_buf_detach(&c->said);
}

/* Shortest text that reads back as the same double: 1.5, not 1.50000000000. */
static void
realtext(double d, char *buf, size_t size)
{
	int prec;

	for (prec = 1; prec < 17; prec++) {
		snprintf(buf, size, "%.*g", prec, d);
		if (strtod(buf, NULL) == d)
			return;
	}
	snprintf(buf, size, "%.17g", d);
}

/* A short, printable rendering of a bad value for a message. */
static void
show(const json_t *v, char *buf, size_t size)
{
	size_t len;
	char *s;

	if (json_is_real(v)) {
		realtext(json_real_value(v), buf, size);
		return;
	}
	s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
	if (s == NULL)
		errx(CW_EXIT_FAIL, "out of memory");
	len = strlen(s);
	if (len >= size && size > 4) {
		/* cut on a character boundary, not inside a UTF-8 sequence */
		len = size - 4;
		while (len > 0 && !startschar((unsigned char)s[len]))
			len--;
		snprintf(buf, size, "%.*s...", (int)len, s);
	} else
		snprintf(buf, size, "%s", s);
	free(s);
}

/* A present, non-null value, or NULL: null means unset in .NET too. */
static json_t *
present(const struct cw_config *c, const char *key)
{
	json_t *v = cw_config_get_raw(c, key);

	return json_is_null(v) ? NULL : v;
}

static const char *
keepstr(struct cw_config *c, const char *s)
{
	json_t *j = json_string(s);

	if (j == NULL || json_array_append_new(c->keep, j) == -1)
		errx(CW_EXIT_FAIL, "out of memory");
	return json_string_value(j);
}

/*
 * The string at key, or NULL when it is missing or of the wrong shape (then
 * reported, and *wrong set).
 */
static const char *
getstr(struct cw_config *c, const char *key, int *wrong)
{
	json_t *v = present(c, key);
	char buf[64];

	*wrong = 0;
	if (v == NULL)
		return NULL;
	if (json_is_string(v))
		return json_string_value(v);
	if (json_is_integer(v)) {
		/* OperatingUnitNumber: a string in the sample's class, 0 in
		 * its file */
		snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT,
		    json_integer_value(v));
		return keepstr(c, buf);
	}
	if (json_is_real(v)) {
		realtext(json_real_value(v), buf, sizeof(buf));
		return keepstr(c, buf);
	}
	*wrong = 1;
	cw_config_bad(c, key, "expected a string");
	return NULL;
}

const char *
cw_config_str_raw(struct cw_config *c, const char *key, const char *def)
{
	const char *s;
	int wrong;

	s = getstr(c, key, &wrong);
	return s != NULL ? s : def;
}

/* Never NULL, so a caller that reads on before checking the count is safe. */
const char *
cw_config_need_str_raw(struct cw_config *c, const char *key)
{
	const char *s;
	int wrong;

	s = getstr(c, key, &wrong);
	if (wrong)
		return "";
	if (s == NULL || *s == '\0') {
		cw_config_bad(c, key, "missing");
		return "";
	}
	return s;
}

/* Leading and trailing blanks are allowed, as .NET's long.Parse allows them. */
static const char *
trim(const char *s, size_t *n)
{
	const char *e;

	while (isws(*s))
		s++;
	e = s + strlen(s);
	while (e > s && isws(e[-1]))
		e--;
	*n = (size_t)(e - s);
	return s;
}

static int
parseint(const char *s, size_t n, long long *out)
{
	char buf[32], *end;
	size_t i = 0;

	if (n == 0 || n >= sizeof(buf))
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (buf[0] == '+' || buf[0] == '-')
		i++;
	if (!cw_ascii_digits(buf + i, n - i))
		return -1;
	errno = 0;
	*out = strtoll(buf, &end, 10);
	return errno == 0 && *end == '\0' ? 0 : -1;
}

long long
cw_config_int_raw(struct cw_config *c, const char *key, long long def,
    long long min, long long max)
{
	json_t *v = present(c, key);
	const char *s;
	char buf[80];
	long long n;
	double d;
	size_t len;
	int ok = 0;

	if (v == NULL)
		return def;
	if (json_is_integer(v)) {
		n = json_integer_value(v);
		ok = 1;
	} else if (json_is_real(v)) {
		/* 500.0 is a whole number to a user, though .NET would balk */
		d = json_real_value(v);
		if (d >= -9.2e18 && d <= 9.2e18 && d == (double)(long long)d) {
			n = (long long)d;
			ok = 1;
		}
	} else if (json_is_string(v)) {
		s = trim(json_string_value(v), &len);
		if (len == 0)
			return def;  /* "" means "not set" to its writer */
		ok = parseint(s, len, &n) == 0;
	}
	if (ok && n >= min && n <= max)
		return n;
	show(v, buf, sizeof(buf));
	cw_config_bad(c, key,
	    "expected a whole number from %lld to %lld, not %s", min, max, buf);
	return def;
}

int
cw_config_bool_raw(struct cw_config *c, const char *key, int def)
{
	json_t *v = present(c, key);
	const char *s;
	size_t len;

	if (v == NULL)
		return def;
	if (json_is_boolean(v))
		return json_is_true(v);
	if (json_is_string(v)) {
		s = trim(json_string_value(v), &len);
		if (len == 0)
			return def;
		if (len == 4 && cw_ascii_ncasecmp(s, "true", 4) == 0)
			return 1;
		if (len == 5 && cw_ascii_ncasecmp(s, "false", 5) == 0)
			return 0;
	}
	cw_config_bad(c, key, "expected true or false");
	return def;
}

/*
 * The table's row for a key the code reads, or NULL when the table lacks it
 * or has it as another type (want -1: any type). Either is a bug, reported
 * like a bad value so that the tool exits 2 and a test sees it.
 */
static const struct cw_key *
known(struct cw_config *c, const char *key, int want)
{
	const struct cw_key *k = cw_key_find(key);

	if (k == NULL) {
		cw_config_bad(c, key != NULL ? key : "(null)",
		    "not in the table of keys (common/core/keys.c)");
		return NULL;
	}
	if (want != -1 && k->type != (enum cw_key_type)want) {
		cw_config_bad(c, key, "read as %s, but the table of keys has %s",
		    cw_key_type_name((enum cw_key_type)want), cw_key_type_name(k->type));
		return NULL;
	}
	return k;
}

json_t *
cw_config_get(struct cw_config *c, const char *key)
{
	return known(c, key, -1) != NULL ? cw_config_get_raw(c, key) : NULL;
}

const char *
cw_config_str(struct cw_config *c, const char *key)
{
	const struct cw_key *k = known(c, key, CW_KEY_STR);

	return k != NULL ? cw_config_str_raw(c, key, k->str) : "";
}

const char *
cw_config_need_str(struct cw_config *c, const char *key)
{
	return known(c, key, CW_KEY_STR) != NULL ? cw_config_need_str_raw(c, key) : "";
}

long long
cw_config_int(struct cw_config *c, const char *key)
{
	const struct cw_key *k = known(c, key, CW_KEY_INT);

	return k != NULL ? cw_config_int_raw(c, key, k->def, k->min, k->max) : 0;
}

long long
cw_config_int_or(struct cw_config *c, const char *key, long long def)
{
	const struct cw_key *k = known(c, key, CW_KEY_INT);

	return k != NULL ? cw_config_int_raw(c, key, def, k->min, k->max) : 0;
}

int
cw_config_bool(struct cw_config *c, const char *key)
{
	const struct cw_key *k = known(c, key, CW_KEY_BOOL);

	return k != NULL ? cw_config_bool_raw(c, key, (int)k->def) : 0;
}

char *
cw_config_resolve(const struct cw_config *c, const char *path)
{
	if (path == NULL)
		return NULL;
	if (path[0] == '/')
		return cw_strdup(path);
	if (path[0] == '\0')
		return cw_strdup(c->dir);
	return cw_asprintf("%s%s%s", c->dir,
	    c->dir[strlen(c->dir) - 1] == '/' ? "" : "/", path);
}

/* The member of object v whose name is n bytes of name, ignoring ASCII case
 * (the last, as .NET's last wins), or NULL; its name in *key. */
static json_t *
member(json_t *v, const char *name, size_t n, const char **key)
{
	const char *k;
	json_t *m, *found = NULL;

	json_object_foreach(v, k, m)
		if (strlen(k) == n && cw_ascii_ncasecmp(k, name, n) == 0) {
			found = m;
			*key = k;
		}
	return found;
}

/* Puts the default of row k in doc where it is missing (see cw_config_effective). */
static void
fill(json_t *doc, const struct cw_key *k)
{
	const char *seg = k->name, *dot, *key;
	json_t *v = doc, *m, *def;
	char *own;

	if (k->type == CW_KEY_STR && k->str != NULL)
		def = json_string(k->str);
	else if (k->type == CW_KEY_INT && k->def >= k->min && k->def <= k->max)
		def = json_integer(k->def);
	else if (k->type == CW_KEY_BOOL)
		def = json_boolean(k->def);
	else
		return;
	for (;;) {
		dot = strchr(seg, '.');
		m = member(v, seg, dot != NULL ? (size_t)(dot - seg) : strlen(seg), &key);
		if (dot == NULL || (m != NULL && !json_is_object(m)))
			break;
		if (m == NULL) {
			own = cw_strndup(seg, (size_t)(dot - seg));
			json_object_set_new(v, own, m = json_object());
			free(own);
		}
		v = m;
		seg = dot + 1;
	}
	if (dot == NULL && m == NULL)
		json_object_set_new(v, seg, def);
	else if (dot == NULL && json_is_null(m))
		json_object_set_new(v, key, def);
	else
		json_decref(def);
}

/* Whether a key the table lacks is named as secrets are. */
static int
secret_name(const char *name)
{
	static const char *const ends[] = {"password", "secret", "key", "token"};
	const char *seg = strrchr(name, '.') != NULL ? strrchr(name, '.') + 1 : name;
	size_t n = strlen(seg), i;

	for (i = 0; i < sizeof(ends) / sizeof(*ends); i++)
		if (n >= strlen(ends[i]) &&
		    cw_ascii_casecmp(seg + n - strlen(ends[i]), ends[i]) == 0)
			return 1;
	return strcasestr(name, "connectionstring") != NULL;
}

/* Replaces the secrets under v, whose dotted path is in path. */
static void
mask(json_t *v, struct cw_buf *path)
{
	size_t len = path->len, i;
	const char *k;
	const struct cw_key *row;
	json_t *m;

	json_object_foreach(v, k, m) {
		cw_buf_addf(path, "%s%s", len > 0 ? "." : "", k);
		row = cw_key_find(path->data);
		if (json_is_object(m))
			mask(m, path);
		else if (json_is_array(m))
			for (i = 0; i < json_array_size(m); i++) {
				size_t at = path->len;

				cw_buf_addf(path, ".%zu", i);
				if (json_is_object(json_array_get(m, i)))
					mask(json_array_get(m, i), path);
				path->len = at;
				path->data[at] = '\0';
			}
		else if ((row != NULL ? (row->flags & CW_KEY_SECRET) != 0 : secret_name(path->data)) &&
		    !json_is_null(m) && !(json_is_string(m) && *json_string_value(m) == '\0'))
			json_object_set_new(v, k, json_string(CW_CONFIG_SECRET_MARK));
		path->len = len;
		path->data[len] = '\0';
	}
}

json_t *
cw_config_effective(const struct cw_config *c)
{
	json_t *doc = json_deep_copy(c->root);
	struct cw_buf path = CW_BUF_INIT;
	size_t i;

	for (i = 0; i < cw_nkeys; i++)
		if (strchr(cw_keys[i].name, '*') == NULL &&
		    (cw_keys[i].flags & (CW_KEY_VARIES | CW_KEY_SECRET)) == 0 &&
		    (cw_config_get_raw(c, cw_keys[i].name) == NULL ||
		    json_is_null(cw_config_get_raw(c, cw_keys[i].name))))
			fill(doc, &cw_keys[i]);
	cw_buf_add(&path, "", 0);
	mask(doc, &path);
	cw_buf_free(&path);
	return doc;
}
