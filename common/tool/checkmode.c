/* checkmode.c: --check-config and --check, as every stage tool takes them. */
#include "cw/core/check.h"
#include "cw/core/config.h"
#include "cw/net/http.h"
#include "cw/net/keyvault.h"
#include "cw/tool/checkmode.h"
#include "cw/tool/tool.h"

int
cw_tool_check_open(struct cw_tool *t, int mode, struct cw_check *k)
{
	cw_err e;

	if (mode != CW_O_CHECK)
		return 1;
	cw_check_ok(k, "configuration %s", cw_config_path(t->cfg));
	t->http = cw_http_new(&t->ho);
	if (t->vault_url != NULL && cw_vault_open(t->vault_url, t->http, &t->vault, &e) != 0) {
		cw_check_bad(k, "KeyVaultOptions.KeyVaultUrl: %s", e.msg);
		return -1;
	}
	return 0;
}

int
cw_tool_check_done(struct cw_check *k)
{
	int code = k->problems != 0 ? CW_EXIT_USAGE : CW_EXIT_OK;

	cw_warn_lines(cw_check_take(k));
	cw_check_free(k);
	return code;
}
