/* jdump.h: JSON written out as Jansson's compact dump writes it, without its per-token callbacks. */
#ifndef CW_JDUMP_H
#define CW_JDUMP_H

#include <jansson.h>
#include "cw/core/util.h"

/*
 * Appends to b the very text json_dumps(v, JSON_COMPACT |
 * JSON_REAL_PRECISION(precision)) makes of v (precision 1 to 17; for v an
 * object or an array), in a fraction of its time. Returns 0, or -1 when
 * not sure (nesting deeper than 2048, a value of no JSON type; b then
 * holds part of it): the caller uses json_dumps then.
 */
int cw_json_dump_compact(struct cw_buf *b, const json_t *v, int precision);

#endif
