/* The config loader (common/core/config.c): JSON with comments and trailing commas,
 * as a file, then the typed getters on what it made. No crash, no leak. */
#include <limits.h>
#include <sys/mman.h>

#include "cw/core/config.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
	static int fd = -1;
	static char path[64];
	struct cw_config *c;
	cw_err e;
	char *p;

	/* The loader reads a path: an in-memory file spares the disk. */
	if (fd == -1) {
		if ((fd = memfd_create("appsettings.json", 0)) == -1)
			abort();
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	}
	if (ftruncate(fd, 0) != 0 || pwrite(fd, data, n, 0) != (ssize_t)n)
		abort();
	if ((c = cw_config_load(path, &e)) == NULL) {
		if (memchr(e.msg, '\0', sizeof(e.msg)) == NULL)
			fuzz_fail("error text not terminated");
		return 0;
	}
	cw_config_str(c, "KeyVaultOptions.KeyVaultUrl", NULL);
	cw_config_need_str(c, "RetailServerClientOptions.RetailServerUri");
	cw_config_int(c, "RetailServerClientOptions.OperatingUnitNumber", 0, 0, LLONG_MAX);
	cw_config_int(c, "Cartwatch.StateStore.MaxAttempts", 3, 1, 100);
	cw_config_bool(c, "Cartwatch.StateStore.ResendUncertain", 0);
	cw_config_get(c, "MediaOptions.ImageViewPorts.0.imageWidth");
	p = cw_config_resolve(c, cw_config_str(c, "Cartwatch.StateStore.Path", "state.db"));
	free(p);
	cw_config_free(c);
	return 0;
}
