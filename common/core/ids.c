/* ids.c: the notification id, the idempotency key every stage and provider shares. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cw/core/clock.h"
#include "cw/core/crypto.h"
#include "cw/core/ids.h"
#include "cw/core/util.h"

void
cw_notification_id(const char *cart_id, const struct timespec *modified, int step,
    char out[CW_NOTIFICATION_ID_LEN + 1])
{
	char iso[CW_ISO8601_MAX];
	char *s;

	cw_iso8601_format(modified, iso);
	s = cw_asprintf("cartwatch/1\n%s\n%s\n%d", cart_id, iso, step);
	cw_sha1_hex(s, strlen(s), out);
	free(s);
}
