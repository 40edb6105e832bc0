/* jscan.h: a JSON line cut into tokens in place, without building values, for a fast path. */
#ifndef CW_JSCAN_H
#define CW_JSCAN_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

enum cw_jtype {
	CW_J_OBJECT, CW_J_ARRAY, CW_J_STRING, CW_J_INTEGER, CW_J_REAL, CW_J_TRUE,
	CW_J_FALSE, CW_J_NULL
};

/* One value of the text. Offsets are into the scanned text, which the
 * tokens point into and do not own. */
struct cw_jtok {
	unsigned char type;      /* enum cw_jtype */
	unsigned char escaped;   /* a string with a backslash escape in it */
	uint32_t at, len;        /* the value's text; a string's without its quotes */
	uint32_t key_at, key_len;  /* a member of an object: its key, without
	                          * quotes (never escaped); else both 0 */
	uint32_t end;            /* the index of the first token past this one's
	                          * members or elements: its next sibling */
};

/*
 * Cuts the n bytes of s (one JSON text, whitespace around it allowed) into at
 * most max tokens in t, in document order, a container before its members.
 * Returns how many, or -1 when not sure: whenever Jansson's json_loadb(s, n,
 * JSON_REJECT_DUPLICATES) would refuse the text, when an object has two keys
 * that differ only in ASCII case and not the same value text (the record
 * driver refuses those), and for whatever lies outside the plain subset this
 * scanner vouches for: a key with an escape, a \u escape of NUL or of a
 * surrogate, a number with an exponent or of more than 18 digits (integers)
 * or 300 characters, nesting deeper than 32, more than 512 members in one
 * object, more than max tokens, a text of 4 GiB or more. A caller falls back on Jansson then, so
 * that a line reads the same either way.
 */
int cw_jscan(const char *s, size_t n, struct cw_jtok *t, size_t max);

/*
 * Room for the tokens of a text of n bytes: this thread's array, kept from
 * call to call (released at exit), and in *max how many it holds, which may
 * be fewer than such a text could have (cw_jscan then says not sure).
 */
struct cw_jtok *cw_jscan_room(size_t n, size_t *max);

/*
 * json_loadb(s, n, flags, NULL) for a text cw_jscan vouches for, built from
 * its tokens, several times faster; NULL when cw_jscan is not sure (the
 * caller parses with Jansson then) or out of memory. The same tree: same
 * values, same key order. flags may be 0 or JSON_REJECT_DUPLICATES: the
 * scanner leaves texts with duplicate keys to Jansson either way.
 */
json_t *cw_json_scanload(const char *s, size_t n);

#endif
