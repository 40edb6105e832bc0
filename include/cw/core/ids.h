/* ids.h: the notification id, the idempotency key every stage and provider shares. */
#ifndef CW_IDS_H
#define CW_IDS_H

#include <time.h>

#define CW_NOTIFICATION_ID_LEN 40

/*
 * The stable key of (cart id, its ModifiedDateTime, reminder step): the
 * lowercase hex SHA-1 of "cartwatch/1\n<cart id>\n<modified as UTC ISO 8601>\n
 * <step>". The same cart modified again is a new key, so it is owed a new
 * reminder; the time is normalised, so offsets and fraction digits do not
 * matter. out holds 40 chars and a NUL.
 */
void cw_notification_id(const char *cart_id, const struct timespec *modified,
    int step, char out[CW_NOTIFICATION_ID_LEN + 1]);

#endif
