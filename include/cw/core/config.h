/* config.h: the sample's appsettings.json, read as .NET reads it (doc/DESIGN.md section 2). */
#ifndef CW_CONFIG_H
#define CW_CONFIG_H

#include <jansson.h>
#include "cw/core/util.h"

struct cw_config;  /* opaque; owns the parsed document and every string it hands out */

/*
 * Finds the file to read: path if not NULL, else $CARTWATCH_CONFIG, else
 * "./appsettings.json". Returned string is static or borrowed from the
 * environment/argument: do not free.
 */
const char *cw_config_default_path(const char *path);

/*
 * Loads and parses a config file: // and block comments and trailing commas are
 * accepted. Returns NULL with e set ("FILE:LINE:COL: reason" or "FILE: errno
 * text") when the file cannot be read or is not a JSON object. Free with
 * cw_config_free().
 */
struct cw_config *cw_config_load(const char *path, cw_err *e);

/* An empty configuration (no file), for tools that can run on flags alone. */
struct cw_config *cw_config_empty(void);

void cw_config_free(struct cw_config *c);

const char *cw_config_path(const struct cw_config *c);  /* "" for an empty config */

/*
 * Every getter below reads a key of the table of keys (cw/core/keys.h), as
 * the code spells it ("MediaOptions.ImageViewPorts.0.imageWidth" for the row
 * "MediaOptions.ImageViewPorts.*.imageWidth"), and takes the key's default
 * and range from its row. A key the table lacks, or one read as another type
 * than its row's, is a bug: reported as "FILE: KEY: not in the table of keys
 * (common/core/keys.c)" or "FILE: KEY: read as a string, but the table of
 * keys has a whole number" and counted like a bad value (so the tool exits
 * CW_EXIT_USAGE and a test sees it); the getter then gives NULL, "", 0.
 *
 * cw_config_get is the lookup of a dotted key ("Section.Key"), matched
 * case-insensitively at each level, with the aliases of the table
 * (KeyVaultUrl/KeyVaultURI, RetailServerUri/RetailServerUrl). Where keys
 * differ only in case the last one wins, as in .NET. A numeric segment
 * indexes an array ("MediaOptions.ImageViewPorts.0.imageWidth"); sections
 * whose names differ only in case are searched together, as .NET's flattened
 * keys are. Returns a borrowed value or NULL.
 */
json_t *cw_config_get(struct cw_config *c, const char *key);

/*
 * Typed getters. A missing key (or JSON null) gives the table's default. A
 * present key of the wrong shape is reported as "FILE: KEY: why" (kept for
 * cw_config_take_said) and counted; the default is returned. Strings
 * returned are owned by c.
 *   str:  a string, or a number (given back as its decimal text).
 *   int:  a number or a string of digits, within the table's range.
 *   bool: true/false or "true"/"false" (any case).
 * The need_ variants also report a missing or empty value as
 * "FILE: KEY: missing" and count it, and return "" (never NULL) for it,
 * so a caller may read on before checking cw_config_errors().
 *   int also takes a number with no fraction (500.0); "" or blanks count as
 *   unset for int and bool. Messages use "(no config file)" as FILE for
 *   cw_config_empty().
 * cw_config_int_or is for a key whose default depends on the caller
 * (Cartwatch.Notify.RequestsPerMinute: 900 for Emarsys, 0 for the others):
 * def in place of the table's default, the table's range.
 */
const char *cw_config_str(struct cw_config *c, const char *key);
const char *cw_config_need_str(struct cw_config *c, const char *key);
long long cw_config_int(struct cw_config *c, const char *key);
long long cw_config_int_or(struct cw_config *c, const char *key, long long def);
int cw_config_bool(struct cw_config *c, const char *key);

/*
 * The same getters for a key the caller describes itself, not checked
 * against the table: for the reader's own tests (tests/unit/test_config.c).
 * The code reads through the getters above, so that a key's facts live in
 * the table alone; tests/0005-config-schema.t fails on a _raw call in
 * common/ or tools/.
 */
json_t *cw_config_get_raw(const struct cw_config *c, const char *key);
const char *cw_config_str_raw(struct cw_config *c, const char *key, const char *def);
const char *cw_config_need_str_raw(struct cw_config *c, const char *key);
long long cw_config_int_raw(struct cw_config *c, const char *key, long long def,
    long long min, long long max);
int cw_config_bool_raw(struct cw_config *c, const char *key, int def);

/* Reports a problem with key yourself (for checks the getters cannot make),
 * as "FILE: KEY: message", counted like the getters' own. */
void cw_config_bad(struct cw_config *c, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Number of problems reported so far. A tool reads every key it needs, then
 * exits CW_EXIT_USAGE if this is not 0, before any network call. */
int cw_config_errors(const struct cw_config *c);

/* The problems reported since the last call, one line each ("FILE: KEY:
 * why\n"), oldest first; "" when there are none. The library never prints
 * them: the tool does (cw_tool_check). Caller frees. */
char *cw_config_take_said(struct cw_config *c);

/* What cw_config_effective shows in place of a secret. */
#define CW_CONFIG_SECRET_MARK "(secret, not shown)"

/*
 * The effective configuration (cartwatch-run --print-config): the file as
 * plain JSON (comments and trailing commas gone), with every key of the
 * table of keys that has a default and is absent or null filled in with
 * it, in the table's spelling unless the file spells its section or the
 * key itself otherwise (not the members of arrays, nor a key marked
 * CW_KEY_VARIES or CW_KEY_SECRET). The value of a secret is replaced by
 * CW_CONFIG_SECRET_MARK: a key the table marks CW_KEY_SECRET, and a key it
 * lacks whose name ends in Password, Secret, Key or Token, or that sits in
 * a section whose name holds ConnectionString. The caller owns the result
 * (json_decref).
 */
json_t *cw_config_effective(const struct cw_config *c);

/* A path from the config made absolute against the config file's directory
 * (absolute paths are returned as they are). Caller frees. */
char *cw_config_resolve(const struct cw_config *c, const char *path);

#endif
