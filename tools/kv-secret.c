/* kv-secret: print secrets from Azure Key Vault or a file: vault, one per line. */
#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cw/core/config.h"
#include "cw/core/util.h"
#include "cw/net/http.h"
#include "cw/net/keyvault.h"
#include "cw/tool/ndjson.h"
#include "cw/tool/tool.h"

static const struct cw_help help[] = {
	CW_HELP_CONFIG,
	{"--vault URL", "the vault to read instead of KeyVaultOptions.KeyVaultUrl"},
	CW_HELP_END
};

static void
usage(FILE *f, int code)
{
	fprintf(f, "usage: %s [-c FILE] [--vault URL] NAME...\n",
	    program_invocation_short_name);
	if (code == CW_EXIT_OK)
		cw_print_help(f, NULL, help);
	exit(code);
}

/* All or nothing: a caller reading line N must get secret N. */
static int
print_secrets(struct cw_vault *vault, int n, char *names[])
{
	char **values = cw_calloc((size_t)n, sizeof(*values));
	int status = CW_EXIT_OK;
	cw_err e;

	for (int i = 0; i < n; i++)
		if (cw_vault_get(vault, names[i], &values[i], &e) != 0) {
			cw_warnx("%s", e.msg);
			status = CW_EXIT_FAIL;
		}
	for (int i = 0; i < n; i++) {
		if (status == CW_EXIT_OK)
			cw_ewrite_line(stdout, values[i], strlen(values[i]));
		cw_secret_free(values[i]);
	}
	free(values);
	return status;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{"config", required_argument, NULL, 'c'},
		{"vault", required_argument, NULL, 'V'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'v'},
		{NULL, 0, NULL, 0}
	};
	const char *cfgpath = NULL, *vaultopt = NULL;
	struct cw_tool t = {0};
	int ch, r;
	cw_err e;

	while ((ch = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c': cfgpath = optarg; break;
		case 'V': vaultopt = optarg; break;
		case 'h': usage(stdout, CW_EXIT_OK); break;
		case 'v': cw_print_version(); return CW_EXIT_OK;
		default: usage(stderr, CW_EXIT_USAGE);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0)
		usage(stderr, CW_EXIT_USAGE);

	/* With --vault the config only tunes HTTP, so it may be absent. */
	if ((r = cw_tool_load(&t, cfgpath, vaultopt != NULL, &e)) != 0)
		return cw_tool_finish(&t, cw_tool_exit(r, &e));
	t.vault_url = vaultopt != NULL ? cw_strdup(vaultopt) : cw_vault_url_config(t.cfg);
	if ((r = cw_tool_check(&t, &e)) != 0 || (r = cw_tool_start(&t, &e)) != 0)
		return cw_tool_finish(&t, cw_tool_exit(r, &e));
	return cw_tool_finish(&t, print_secrets(t.vault, argc, argv));
}
