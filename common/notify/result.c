/* result.c: result records, the check every notification passes, the data object providers share. */

#include "cw/core/json.h"
#include "cw/net/email.h"
#include "cw/notify/result.h"

static void
copy(json_t *dst, const json_t *src, const char *key)
{
	json_t *v = cw_json_iget(src, key);

	json_object_set(dst, key, v != NULL ? v : json_null());
}

json_t *
cw_result(const json_t *rec, const char *status, const char *provider,
    const char *message_id, const char *error)
{
	static const char *const keys[] = {
		"notificationId", "cartId", "customerId", "modifiedDateTime", "step",
		"email", "channelId"
	};
	json_t *r = json_object();

	for (size_t i = 0; i < sizeof(keys) / sizeof(*keys); i++)
		copy(r, rec, keys[i]);
	json_object_set_new(r, "status", json_string(status));
	json_object_set_new(r, "provider", json_string(provider));
	if (message_id != NULL)
		json_object_set_new(r, "providerMessageId", json_string(message_id));
	if (error != NULL)
		json_object_set_new(r, "error", json_string(error));
	return r;
}

json_t *
cw_result_skipped(const json_t *rec, const char *provider, const char *reason,
    const char *why)
{
	json_t *r = cw_result(rec, "skipped", provider, NULL, why);

	json_object_set_new(r, "reason", json_string(reason));
	return r;
}

json_t *
cw_result_uncertain(const json_t *rec, const char *provider, const char *error)
{
	json_t *r = cw_result(rec, "failed", provider, NULL, error);

	json_object_set_new(r, "uncertain", json_true());
	return r;
}

json_t *
cw_result_failed(const json_t *rec, const char *provider, const char *error, int uncertain)
{
	return uncertain ? cw_result_uncertain(rec, provider, error) :
	    cw_result(rec, "failed", provider, NULL, error);
}

int
cw_notification_check(const json_t *rec, cw_err *e)
{
	const char *id = cw_json_istr(rec, "notificationId");
	const char *email = cw_json_istr(rec, "email");
	cw_err bad;

	if (id == NULL || *id == '\0')
		return cw_seterr(e, "not a notification: no notificationId");
	if (cw_json_istr(rec, "cartId") == NULL)
		return cw_seterr(e, "notification %s: no cartId", id);
	if (email == NULL || *email == '\0')
		return cw_seterr(e, "no email address");
	/* The result carries the address already: the error says only what is
	 * wrong with it, and a diagnostic never prints the address raw. */
	if (cw_email_check(email, CW_EMAIL_RECIPIENT, &bad) != 0)
		return cw_seterr(e, "not an email address: %s", bad.msg);
	if (!json_is_array(cw_json_iget(rec, "orderDetails")))
		return cw_seterr(e, "orderDetails is not a list");
	return 0;
}

json_t *
cw_notification_data(const json_t *rec)
{
	static const char *const keys[] = {
		"firstName", "lastName", "language", "currency", "returnToCartUrl",
		"orderDetails"
	};
	json_t *d = json_object(), *v;

	for (size_t i = 0; i < sizeof(keys) / sizeof(*keys); i++)
		copy(d, rec, keys[i]);
	/* Only where cart-notify signed one (Cartwatch.Unsubscribe.Url): without
	 * it the object is the sample's, as it was. */
	if ((v = cw_json_iget(rec, "unsubscribeUrl")) != NULL)
		json_object_set(d, "unsubscribeUrl", v);
	return d;
}
