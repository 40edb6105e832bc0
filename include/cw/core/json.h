/* json.h: small Jansson helpers shared by the tools. */
#ifndef CW_JSON_H
#define CW_JSON_H

#include <jansson.h>

/* Member of obj whose key equals key ignoring ASCII case; the last such member
 * wins. Borrowed; NULL if obj is not an object or has no such member. */
json_t *cw_json_iget(const json_t *obj, const char *key);

/* The string value of obj[key] (case-insensitive), or NULL if absent or not a
 * string. Borrowed. */
const char *cw_json_istr(const json_t *obj, const char *key);

/*
 * Looks through v and every object and array inside it for an object with two
 * keys that differ only in ASCII case, which cw_json_iget cannot tell apart,
 * and whose values differ (json_equal): twins of one value mislead no reader,
 * and a cart has two, Retail Server's "ChannelId" and cart-fetch's "channelId".
 * Returns 1 with the first such pair (*a written before *b in that object;
 * borrowed from v) and, if where is not NULL, the object's place in v, e.g.
 * "CartLines[0]" or "" for v itself (caller frees); or 0. Sorts the keys of a
 * big object rather than comparing every pair: a record may have hundreds.
 */
int cw_json_case_twins(const json_t *v, const char **a, const char **b, char **where);

/* Parses one JSON value of any type (object, array or scalar) from n bytes;
 * NULL if it is not JSON. Callers check the type they need. Caller decrefs. */
json_t *cw_json_parse(const char *s, size_t n);

#endif
