/* config_keys.c: test driver: the table of configuration keys, one tab-separated line per key. */
#include <stdio.h>
#include <string.h>

#include "cw/core/keys.h"
#include "cw/core/util.h"

/*
 * NAME TYPE DEFAULT RANGE ALIAS DOC, with "-" for what a key has not (a
 * string without a default, a range of a string, no alias), for
 * scripts/check-config-keys and for a reader. TYPE is str, int, bool, list
 * or object.
 */

static const char *const types[] = {"str", "int", "bool", "list", "object"};

int
main(int argc, char **argv)
{
	const struct cw_key *k;
	char def[64], range[64];
	size_t i;

	(void)argv;
	if (argc != 1) {
		fputs("usage: config_keys\n", stderr);
		return CW_EXIT_USAGE;
	}
	for (i = 0; i < cw_nkeys; i++) {
		k = &cw_keys[i];
		strcpy(range, "-");
		if (k->type == CW_KEY_STR)
			snprintf(def, sizeof(def), "%s", k->str == NULL ? "-" :
			    *k->str == '\0' ? "\"\"" : k->str);
		else if (k->type == CW_KEY_BOOL)
			strcpy(def, k->def ? "true" : "false");
		else if (k->type == CW_KEY_INT) {
			if (k->def >= k->min && k->def <= k->max)
				snprintf(def, sizeof(def), "%lld", k->def);
			else
				strcpy(def, "-");
			snprintf(range, sizeof(range), "%lld..%lld", k->min, k->max);
		} else
			strcpy(def, "-");
		printf("%s\t%s\t%s\t%s\t%s\t%s\n", k->name, types[k->type], def, range,
		    k->alias != NULL ? k->alias : "-", k->doc);
	}
	return fflush(stdout) == 0 && !ferror(stdout) ? CW_EXIT_OK : CW_EXIT_FAIL;
}
