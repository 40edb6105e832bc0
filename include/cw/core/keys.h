/* keys.h: every configuration key the code reads, with its type, default and range. */
#ifndef CW_KEYS_H
#define CW_KEYS_H

#include <stddef.h>

enum cw_key_type {
	CW_KEY_STR,     /* a string (a number is given back as its text) */
	CW_KEY_INT,     /* a whole number within [min, max] */
	CW_KEY_BOOL,    /* true or false */
	CW_KEY_LIST,    /* an array, read whole (cw_config_get) */
	CW_KEY_OBJECT   /* an object, read whole (cw_config_get) */
};

/*
 * One key. The config getters take its default and range from here, so that
 * each fact is written once; the man pages document it (cartwatch.7 lists
 * every key), and tests/0005-config-schema.t holds the three together.
 */
struct cw_key {
	const char *name;   /* "Section.Key"; a "*" segment is any array index */
	enum cw_key_type type;
	const char *str;    /* CW_KEY_STR: the default, or NULL for none */
	long long def;      /* CW_KEY_INT, CW_KEY_BOOL: the default; for an int
	                     * outside [min, max], a mark for "not set" */
	long long min, max; /* CW_KEY_INT: the range */
	const char *alias;  /* the same key's other spelling, or NULL */
	const char *doc;    /* one line for a reader */
	unsigned flags;     /* CW_KEY_SECRET, CW_KEY_VARIES */
};

/* The value is a secret (never printed: cw_config_effective masks it). */
#define CW_KEY_SECRET 1u
/* The default depends on the reader (a provider's own, or none where a
 * reader needs the key): not filled in by cw_config_effective. */
#define CW_KEY_VARIES 2u

/* The table, in the order of the man page; static, never freed. */
extern const struct cw_key cw_keys[];
extern const size_t cw_nkeys;

/*
 * The row for a key as the code spells it ("MediaOptions.ImageViewPorts.2.
 * imageWidth" finds "MediaOptions.ImageViewPorts.*.imageWidth"): ASCII case
 * ignored, the alias accepted, "*" matching a segment of digits (or "*":
 * a row's name finds the row). NULL when the table lacks it.
 */
const struct cw_key *cw_key_find(const char *name);

/* "a string", "a whole number", "true or false", "a list", "an object". */
const char *cw_key_type_name(enum cw_key_type t);

#endif
