/* tool.c: the parts of main() every tool shares: --version, loading the config. */
#include <err.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cw/config.h"
#include "cw/tool.h"
#include "cw/util.h"
#include "cw/version.h"

void
cw_print_version(void)
{
	printf("%s (cartwatch) %s\n", program_invocation_short_name, CW_VERSION);
}

struct cw_config *
cw_tool_config(const char *path, int optional)
{
	const char *file = cw_config_default_path(path);
	struct cw_config *c;
	cw_err e;

	if (optional && path == NULL && access(file, F_OK) == -1 && errno == ENOENT)
		return cw_config_empty();
	if ((c = cw_config_load(file, &e)) == NULL)
		errx(CW_EXIT_USAGE, "%s", e.msg);
	return c;
}

long long
cw_opt_int(const char *opt, const char *arg, long long min, long long max)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(arg, &end, 10);
	if (errno != 0 || end == arg || *end != '\0' || v < min || v > max)
		errx(CW_EXIT_USAGE, "%s: expected a whole number from %lld to %lld, not \"%s\"",
		    opt, min, max, arg);
	return v;
}
