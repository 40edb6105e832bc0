/* result.h: result records, the check every notification passes, the data object providers share. */
#ifndef CW_RESULT_H
#define CW_RESULT_H

#include <jansson.h>
#include "cw/core/util.h"

/*
 * A result record (doc/DESIGN.md section 3) for notification rec: its
 * notificationId, cartId, customerId, modifiedDateTime, step, email and
 * channelId, then status ("sent", "failed", "skipped"), provider,
 * providerMessageId (when not NULL) and error (when not NULL). New reference.
 */
json_t *cw_result(const json_t *rec, const char *status, const char *provider,
    const char *message_id, const char *error);

/*
 * A skipped result: nothing was sent, and the ledger makes that final for
 * the notification. reason is one of doc/DESIGN.md section 8 item 8's
 * ("purchased", "frequency-cap", "quiet-hours", "suppressed", "late"), why
 * the words a person reads (the result's "error"). New reference.
 */
json_t *cw_result_skipped(const json_t *rec, const char *provider, const char *reason,
    const char *why);

/*
 * The result of a send whose outcome is unknown: the request may have reached
 * the provider (the body was sent, then the connection dropped or the answer
 * came too late). A failed result that also carries "uncertain": true; the
 * ledger does not send it again by itself (Cartwatch.StateStore.ResendUncertain
 * chooses otherwise). New reference.
 */
json_t *cw_result_uncertain(const json_t *rec, const char *provider, const char *error);

/* A failed result, made by cw_result_uncertain() when uncertain is not 0.
 * New reference. */
json_t *cw_result_failed(const json_t *rec, const char *provider, const char *error,
    int uncertain);

/*
 * Checks a notification record before any provider sees it: notificationId,
 * cartId, an email address that cw_email_valid() accepts (email.h), orderDetails
 * an array. 0, or -1 with the problem in e, which names what is wrong with
 * the address but not the address.
 */
int cw_notification_check(const json_t *rec, cw_err *e);

/* The data object the sample sends to Emarsys, which SendGrid and Mandrill
 * templates get too: firstName, lastName, language, currency,
 * returnToCartUrl, orderDetails; and unsubscribeUrl when rec has one
 * (cart-notify adds it with Cartwatch.Unsubscribe.Url). New reference. */
json_t *cw_notification_data(const json_t *rec);

#endif
