/* kv-secret: print secrets from Azure Key Vault or a file: vault, one per line. */
#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cw/config.h"
#include "cw/http.h"
#include "cw/keyvault.h"
#include "cw/ndjson.h"
#include "cw/tool.h"
#include "cw/util.h"

static void
usage(FILE *f, int code)
{
	fprintf(f, "usage: %s [-c FILE] [--vault URL] NAME...\n",
	    program_invocation_short_name);
	exit(code);
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
	struct cw_http_opts ho;
	struct cw_config *cfg;
	struct cw_vault *vault;
	struct cw_http *http;
	char *url, **values;
	int ch, code, status = CW_EXIT_OK;
	cw_err e;

	while ((ch = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			cfgpath = optarg;
			break;
		case 'V':
			vaultopt = optarg;
			break;
		case 'h':
			usage(stdout, CW_EXIT_OK);
			break;
		case 'v':
			cw_print_version();
			return CW_EXIT_OK;
		default:
			usage(stderr, CW_EXIT_USAGE);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0)
		usage(stderr, CW_EXIT_USAGE);

	/* With --vault the config only tunes HTTP, so it may be absent. */
	cfg = cw_tool_config(cfgpath, vaultopt != NULL);
	url = vaultopt != NULL ? cw_strdup(vaultopt) : cw_vault_url_config(cfg);
	cw_http_opts_default(&ho);
	cw_http_opts_config(&ho, cfg);
	if (cw_config_errors(cfg) != 0) {
		free(url);
		cw_config_free(cfg);
		return CW_EXIT_USAGE;
	}
	cw_output_init();
	http = cw_http_new(&ho);
	if ((vault = cw_vault_open(url, http, &code, &e)) == NULL) {
		cw_warnx("%s", e.msg);
		free(url);
		cw_http_free(http);
		cw_config_free(cfg);
		return code;
	}

	/* All or nothing: a caller reading line N must get secret N. */
	values = cw_calloc((size_t)argc, sizeof(*values));
	for (int i = 0; i < argc; i++)
		if (cw_vault_get(vault, argv[i], &values[i], &e) != 0) {
			cw_warnx("%s", e.msg);
			status = CW_EXIT_FAIL;
		}
	for (int i = 0; i < argc; i++) {
		if (status == CW_EXIT_OK)
			cw_write_line(stdout, values[i], strlen(values[i]));
		cw_secret_free(values[i]);
	}
	free(values);
	cw_vault_close(vault);
	cw_http_free(http);
	free(url);
	cw_config_free(cfg);
	cw_output_finish();
	return status;
}
