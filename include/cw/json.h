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

/* Parses one JSON value of any type (object, array or scalar) from n bytes;
 * NULL if it is not JSON. Callers check the type they need. Caller decrefs. */
json_t *cw_json_parse(const char *s, size_t n);

#endif
