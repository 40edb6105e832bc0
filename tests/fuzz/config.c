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
	char *p, *said;

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
	cw_config_str(c, "KeyVaultOptions.KeyVaultUrl");
	cw_config_need_str(c, "RetailServerClientOptions.RetailServerUri");
	cw_config_int_raw(c, "RetailServerClientOptions.OperatingUnitNumber", 0, 0, LLONG_MAX);
	cw_config_int(c, "Cartwatch.StateStore.MaxAttempts");
	cw_config_bool(c, "Cartwatch.StateStore.ResendUncertain");
	cw_config_get(c, "MediaOptions.ImageViewPorts.0.imageWidth");
	p = cw_config_resolve(c, cw_config_str(c, "Cartwatch.StateStore.Path"));
	free(p);
	/* whatever the file holds, the table knows every key read above */
	said = cw_config_take_said(c);
	if (strstr(said, "table of keys") != NULL)
		fuzz_fail("a key read is not in the table");
	free(said);
	cw_config_free(c);
	return 0;
}
