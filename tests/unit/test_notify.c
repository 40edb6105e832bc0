/* test_notify: decimals, the notification id, image URLs, return-to-cart URLs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "capture.h"
#include "cw/core/clock.h"
#include "cw/core/config.h"
#include "cw/core/decimal.h"
#include "cw/core/ids.h"
#include "cw/d365/cart.h"
#include "cw/mail/notification.h"

static const char *
dec(json_t *v)
{
	static char buf[CW_DECIMAL_MAX];
	int ok = cw_decimal_ok(v);

	if (cw_decimal_text(v, buf) != 0)
		strcpy(buf, "(error)");
	/* cw_decimal_ok says what cw_decimal_text does, without the text. */
	assert_int_equal(ok, strcmp(buf, "(error)") != 0);
	json_decref(v);
	return buf;
}

static void
test_decimals(void **state)
{
	(void)state;
	assert_string_equal(dec(json_real(19.90)), "19.9");
	assert_string_equal(dec(json_real(49.99)), "49.99");
	assert_string_equal(dec(json_real(1234.5678)), "1234.5678");
	assert_string_equal(dec(json_real(2.0)), "2");
	assert_string_equal(dec(json_real(0.1)), "0.1");
	assert_string_equal(dec(json_real(0.1 + 0.2)), "0.3");
	assert_string_equal(dec(json_real(0)), "0");
	assert_string_equal(dec(json_real(-0.0)), "0");
	assert_string_equal(dec(json_real(99999999.99)), "99999999.99");
	assert_string_equal(dec(json_real(1e20)), "100000000000000000000");
	assert_string_equal(dec(json_real(0.000001)), "0.000001");
	assert_string_equal(dec(json_real(-5.50)), "-5.5");
	assert_string_equal(dec(json_integer(3)), "3");
	assert_string_equal(dec(json_string("19.900")), "19.9");
	assert_string_equal(dec(json_string("2.000")), "2");
	assert_string_equal(dec(json_string("12345678901234567.8900")),
	    "12345678901234567.89");
	/* negative: what is not a number */
	assert_string_equal(dec(json_string("abc")), "(error)");
	assert_string_equal(dec(json_string("")), "(error)");
	assert_string_equal(dec(json_string("1.5x")), "(error)");
	assert_string_equal(dec(json_string("0x1A")), "(error)");
	assert_string_equal(dec(json_string("-0X0")), "(error)");
	assert_string_equal(dec(json_true()), "(error)");
	assert_string_equal(dec(json_null()), "(error)");
	/* the edges of what a real may be */
	assert_string_equal(dec(json_real(1e21)), "(error)");
	assert_string_equal(dec(json_real(-1e21)), "(error)");
	assert_string_equal(dec(json_real(1.7976931348623157e308)), "(error)");
	assert_string_equal(dec(json_real(-999999999999999900000.0)),
	    "-999999999999999868928");
	assert_string_equal(dec(json_real(1e-30)), "0.000000000000000000000000000001");
	assert_string_equal(dec(json_real(-1.234567890123456e-7)), "-0.000000123456789012346");
	assert_string_equal(dec(json_string("1e400")), "(error)");
	assert_string_equal(dec(json_string("1e20")), "100000000000000000000");
}

static const char *
add(const char *a, const char *b)
{
	static char buf[CW_DECIMAL_MAX];

	if (cw_decimal_add(a, b, buf) != 0)
		strcpy(buf, "(error)");
	return buf;
}

/* The report's revenue: money summed as text, to the cent, never a double. */
static void
test_decimal_add(void **state)
{
	char sum[CW_DECIMAL_MAX] = "0.00", big[80];
	int i;

	(void)state;
	assert_string_equal(add("0.00", "19.9"), "19.90");
	assert_string_equal(add("0.1", "0.2"), "0.3");  /* 0.30000000000000004 as doubles */
	assert_string_equal(add("99.99", "0.01"), "100.00");
	assert_string_equal(add("999", "1"), "1000");
	assert_string_equal(add("1234.5678", "0.00"), "1234.5678");
	assert_string_equal(add("-5.5", "2"), "-3.5");
	assert_string_equal(add("2", "-5.5"), "-3.5");
	assert_string_equal(add("5.5", "-5.50"), "0.00");
	assert_string_equal(add("-0.5", "0.25"), "-0.25");
	assert_string_equal(add("10.00", "-0.01"), "9.99");
	assert_string_equal(add("+1", "1"), "2");
	assert_string_equal(add("007", "0"), "7");
	assert_string_equal(add("12345678901234567.89", "0.01"), "12345678901234567.90");
	/* ten thousand cents are exactly one hundred */
	for (i = 0; i < 10000; i++)
		assert_int_equal(cw_decimal_add(sum, "0.01", sum), 0);
	assert_string_equal(sum, "100.00");
	/* negative: what is not a decimal text, or does not fit */
	assert_string_equal(add("1e3", "1"), "(error)");
	assert_string_equal(add("", "1"), "(error)");
	assert_string_equal(add("1.", "1"), "(error)");
	assert_string_equal(add(".5", "1"), "(error)");
	assert_string_equal(add("1.2.3", "1"), "(error)");
	assert_string_equal(add("NaN", "1"), "(error)");
	assert_string_equal(add("1", "- 1"), "(error)");
	memset(big, '9', 70);
	big[70] = '\0';
	assert_string_equal(add(big, "0"), "(error)");  /* 70 digits: too long */
	big[63] = '\0';
	assert_string_equal(add(big, "1"), "(error)");  /* the sum has 64 digits */
	big[62] = '\0';
	assert_string_equal(add(big, "1"),  /* 62 nines and one: 63, it fits */
	    "100000000000000000000000000000000000000000000000000000000000000");
}

static void
test_notification_id(void **state)
{
	struct timespec a, b, c;
	char x[41], y[41], z[41];

	(void)state;
	assert_int_equal(cw_iso8601_parse("2026-11-24T10:00:00.5+01:00", &a), 0);
	assert_int_equal(cw_iso8601_parse("2026-11-24T09:00:00.5000000Z", &b), 0);
	cw_notification_id("cart-1", &a, 1, x);
	cw_notification_id("cart-1", &b, 1, y);
	assert_int_equal(strlen(x), 40);
	assert_string_equal(x, y);  /* the same instant written two ways */
	cw_notification_id("cart-1", &b, 2, z);
	assert_string_not_equal(x, z);  /* another step */
	cw_notification_id("cart-2", &b, 1, z);
	assert_string_not_equal(x, z);  /* another cart */
	c = b;
	c.tv_nsec += 100;
	cw_notification_id("cart-1", &c, 1, z);
	assert_string_not_equal(x, z);  /* modified again, 100 ns later */
}

static struct cw_config *
config(const char *text)
{
	char path[] = "/tmp/cw-notify-XXXXXX";
	struct cw_config *c;
	int fd = mkstemp(path);
	cw_err e;

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	c = cw_config_load(path, &e);
	unlink(path);
	assert_non_null(c);
	return c;
}

static void
test_images(void **state)
{
	struct cw_config *c = config("{\"RetailServerClientOptions\":{\"ReturnToCartUrl\":"
	    "\"https://shop.example/cart\"},\"MediaOptions\":{\"ImageServerUrl\":"
	    "\"https://img.example/cms\",\"ImageViewPorts\":[{\"viewport\":\"(max-width:768px)\","
	    "\"imageWidth\":80,\"imageHeight\":\"80\"},{\"Viewport\":\"(min-width:769px)\","
	    "\"ImageWidth\":315,\"ImageHeight\":315,\"UseForDefaultImageTag\":true}]}}");
	struct cw_notify_opts o;
	json_t *p, *img;
	char *s;

	(void)state;
	cw_notify_config(&o, c);
	assert_int_equal(cw_config_errors(c), 0);

	p = json_loads("{\"ProductName\":\"Mug\",\"Image\":{\"Items\":[{\"Url\":"
	    "\"Products/M_000_001.png\",\"AltText\":\"\"}]}}", 0, NULL);
	img = cw_notify_image(&o, p);
	s = json_dumps(img, JSON_COMPACT);
	assert_string_equal(s, "{\"altText\":\"Mug\",\"viewPortImages\":["
	    "{\"url\":\"https://img.example/cms/Products/M_000_001.png&w=80&h=80&q=80&m=6&f=jpg\","
	    "\"media\":\"(max-width:768px)\",\"useForDefaultImageTag\":false},"
	    "{\"url\":\"https://img.example/cms/Products/M_000_001.png&w=315&h=315&q=80&m=6&f=jpg\","
	    "\"media\":\"(min-width:769px)\",\"useForDefaultImageTag\":true}]}");
	free(s);
	json_decref(img);
	json_decref(p);

	p = json_loads("{\"ProductName\":\"Mug\",\"Image\":{\"Items\":[{\"Url\":"
	    "\"HTTPS://cdn.example/m.png\",\"AltText\":\"A mug\"}]}}", 0, NULL);
	img = cw_notify_image(&o, p);
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    json_object_get(img, "viewPortImages"), 1), "url")), "HTTPS://cdn.example/m.png");
	assert_string_equal(json_string_value(json_object_get(img, "altText")), "A mug");
	json_decref(img);
	json_decref(p);

	p = json_loads("{\"ProductName\":\"Mug\",\"Image\":{\"Items\":[{\"Url\":\"  \"}]}}",
	    0, NULL);
	img = cw_notify_image(&o, p);
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    json_object_get(img, "viewPortImages"), 0), "url")), "");
	json_decref(img);
	json_decref(p);

	/* negative: no image at all is null, not an empty object */
	p = json_loads("{\"ProductName\":\"Mug\",\"Image\":{\"Items\":[]}}", 0, NULL);
	img = cw_notify_image(&o, p);
	assert_true(json_is_null(img));
	json_decref(img);
	json_decref(p);
	p = json_loads("{\"ProductName\":\"Mug\",\"Image\":null}", 0, NULL);
	img = cw_notify_image(&o, p);
	assert_true(json_is_null(img));
	json_decref(img);
	json_decref(p);
	cw_notify_free(&o);
	cw_config_free(c);
}

static void
test_default_viewports_and_bad_ones(void **state)
{
	struct cw_config *c = config("{\"RetailServerClientOptions\":{\"ReturnToCartUrl\":\"x\"},"
	    "\"MediaOptions\":{\"ImageServerUrl\":\"https://i\"}}");
	struct cw_notify_opts o;
	struct capture cap;
	char *err;

	(void)state;
	cw_notify_config(&o, c);
	assert_int_equal(json_array_size(o.viewports), 3);  /* the sample's three */
	cw_notify_free(&o);
	cw_config_free(c);

	c = config("{\"RetailServerClientOptions\":{},\"MediaOptions\":{\"ImageViewPorts\":"
	    "[{\"viewport\":\"a\",\"imageWidth\":0,\"imageHeight\":5}]}}");
	capture_begin(&cap);
	cw_notify_config(&o, c);
	err = capture_end(&cap);
	assert_string_equal(err, "");  /* the library never prints */
	free(err);
	err = cw_config_take_said(c);
	assert_int_equal(cw_config_errors(c), 3);
	assert_non_null(strstr(err, "RetailServerClientOptions.ReturnToCartUrl: missing"));
	assert_non_null(strstr(err, "MediaOptions.ImageServerUrl: missing"));
	assert_non_null(strstr(err, "MediaOptions.ImageViewPorts.0.imageWidth"));
	free(err);
	cw_notify_free(&o);
	cw_config_free(c);
}

static void
test_return_url(void **state)
{
	struct cw_config *c = config("{\"RetailServerClientOptions\":{\"ReturnToCartUrl\":"
	    "\"https://shop.example/cart?id={cartId}#top\"},\"MediaOptions\":{\"ImageServerUrl\":"
	    "\"i\"},\"Cartwatch\":{\"ReturnToCartParameters\":{\"utm_source\":\"cartwatch\","
	    "\"utm_campaign\":\"a b&c\"}}}");
	struct cw_notify_opts o;
	char *u;

	(void)state;
	cw_notify_config(&o, c);
	u = cw_notify_return_url(&o, "c/1 2");
	assert_string_equal(u, "https://shop.example/cart?id=c%2F1%202"
	    "&utm_source=cartwatch&utm_campaign=a%20b%26c#top");
	free(u);
	cw_notify_free(&o);
	cw_config_free(c);

	c = config("{\"RetailServerClientOptions\":{\"ReturnToCartUrl\":\"https://s/cart\"},"
	    "\"MediaOptions\":{\"ImageServerUrl\":\"i\"}}");
	cw_notify_config(&o, c);
	u = cw_notify_return_url(&o, "c1");
	assert_string_equal(u, "https://s/cart");  /* as the sample: unchanged */
	free(u);
	cw_notify_free(&o);
	cw_config_free(c);
}

/* The cart check says what is wrong through cw_err, naming the cart and the
 * field, word for word as the stages print it. */
static void
test_cart_check(void **state)
{
	static const struct {
		const char *cart, *why;
	} bad[] = {
		{"{}", "not a cart: no Id"},
		{"{\"Id\": \"c1\"}", "cart c1: ModifiedDateTime is not an ISO 8601 time"},
		{"{\"Id\": \"c1\", \"ModifiedDateTime\": \"2024-01-02T03:04:05Z\", "
		    "\"CustomerId\": 7}", "cart c1: CustomerId and ReceiptEmail must be strings"},
		{"{\"Id\": \"c1\", \"ModifiedDateTime\": \"2024-01-02T03:04:05Z\", "
		    "\"CartLines\": [{\"ProductId\": \"x\"}]}",
		    "cart c1: CartLines[0].ProductId is not a number"},
		{"{\"Id\": \"c1\", \"ModifiedDateTime\": \"2024-01-02T03:04:05Z\", "
		    "\"CartLines\": [{\"Quantity\": []}]}",
		    "cart c1: CartLines[0]: Quantity and Price must be numbers"},
	};
	struct timespec t = {0};
	json_t *cart;
	cw_err e;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		cart = json_loads(bad[i].cart, 0, NULL);
		assert_int_equal(cw_cart_check(cart, &t, &e), -1);
		assert_string_equal(e.msg, bad[i].why);
		json_decref(cart);
	}
	cart = json_loads("{\"Id\": \"c1\", \"ModifiedDateTime\": \"2024-01-02T03:04:05Z\"}",
	    0, NULL);
	assert_int_equal(cw_cart_check(cart, &t, &e), 0);
	assert_int_equal(t.tv_sec, 1704164645);
	json_decref(cart);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decimals),
		cmocka_unit_test(test_decimal_add),
		cmocka_unit_test(test_notification_id),
		cmocka_unit_test(test_images),
		cmocka_unit_test(test_default_viewports_and_bad_ones),
		cmocka_unit_test(test_return_url),
		cmocka_unit_test(test_cart_check),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
