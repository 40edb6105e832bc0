/* test_crypto.c: base64, SHA-1, HMAC-SHA256, random hex and urlencode against published vectors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cw/core/crypto.h"

/* RFC 4648 section 10. */
static const char *const b64vec[][2] = {
	{ "", "" },
	{ "f", "Zg==" },
	{ "fo", "Zm8=" },
	{ "foo", "Zm9v" },
	{ "foob", "Zm9vYg==" },
	{ "fooba", "Zm9vYmE=" },
	{ "foobar", "Zm9vYmFy" },
};

static void
test_base64_rfc4648(void **state)
{
	size_t i, n;
	unsigned char *d;
	char *e;

	(void)state;
	for (i = 0; i < sizeof(b64vec) / sizeof(b64vec[0]); i++) {
		e = cw_base64(b64vec[i][0], strlen(b64vec[i][0]));
		assert_string_equal(e, b64vec[i][1]);
		free(e);

		n = 12345;
		d = cw_unbase64(b64vec[i][1], &n);
		assert_non_null(d);
		assert_int_equal(n, strlen(b64vec[i][0]));
		assert_memory_equal(d, b64vec[i][0], n);
		assert_int_equal(d[n], '\0');
		free(d);
	}
}

static void
test_base64_invalid(void **state)
{
	static const char *const bad[] = {
		"Zg=",		/* wrong length */
		"Zg",		/* padding missing */
		"Zm9",		/* wrong length */
		"Zm9vY",	/* wrong length */
		"Z===",		/* three pads */
		"====",		/* nothing but pads */
		"Zg=a",		/* pad inside */
		"Z=g=",		/* pad inside */
		"=Zg=",		/* pad first */
		"Zm9v=Zg=",	/* pad mid-string */
		"Zm 9v",	/* whitespace */
		" Zm9v",	/* leading whitespace */
		"Zm9v\n",	/* trailing newline */
		"Zm9v\nYmFy",	/* line break */
		"Zm9-",		/* base64url alphabet */
		"Zm9_",		/* base64url alphabet */
		"Zm*v",		/* not base64 at all */
		"Zm9v\xc3\xa9\xc3\xa9", /* high bytes */
		NULL
	};
	size_t i, n;

	(void)state;
	for (i = 0; bad[i] != NULL; i++) {
		n = 777;
		assert_null(cw_unbase64(bad[i], &n));
		assert_int_equal(n, 777);	/* untouched on failure */
	}
	assert_null(cw_unbase64(NULL, &n));
}

static void
test_base64_binary(void **state)
{
	unsigned char in[1000], *out;
	size_t i, len, n;
	char *e;

	(void)state;
	for (i = 0; i < sizeof(in); i++)
		in[i] = (unsigned char)(i * 7);	/* NULs and high bytes */
	in[0] = in[1] = in[500] = in[999] = 0;
	/* Every length mod 3, so every kind of padding. */
	for (len = 0; len <= sizeof(in); len += len < 10 ? 1 : 331) {
		e = cw_base64(in, len);
		assert_int_equal(strlen(e), (len + 2) / 3 * 4);
		out = cw_unbase64(e, &n);
		assert_non_null(out);
		assert_int_equal(n, len);
		assert_memory_equal(out, in, len);
		free(out);
		free(e);
	}
	/* Larger than one internal chunk. */
	len = 200000;
	out = malloc(len);
	assert_non_null(out);
	for (i = 0; i < len; i++)
		out[i] = (unsigned char)(i ^ (i >> 8));
	e = cw_base64(out, len);
	{
		unsigned char *back = cw_unbase64(e, &n);

		assert_non_null(back);
		assert_int_equal(n, len);
		assert_memory_equal(back, out, len);
		free(back);
	}
	free(e);
	free(out);
}

static void
test_sha1(void **state)
{
	char h[41], h2[41];

	(void)state;
	cw_sha1_hex("abc", 3, h);
	assert_string_equal(h, "a9993e364706816aba3e25717850c26c9cd0d89d");
	cw_sha1_hex("", 0, h);
	assert_string_equal(h, "da39a3ee5e6b4b0d3255bfef95601890afd80709");
	cw_sha1_hex(NULL, 0, h2);
	assert_string_equal(h2, h);
	/* FIPS 180 two-block message. */
	cw_sha1_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56, h);
	assert_string_equal(h, "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
	/* Negative: one bit off is a different digest. */
	cw_sha1_hex("abd", 3, h);
	assert_string_not_equal(h, "a9993e364706816aba3e25717850c26c9cd0d89d");
	/* Length is honoured: bytes past n do not count. */
	cw_sha1_hex("abcdef", 3, h);
	assert_string_equal(h, "a9993e364706816aba3e25717850c26c9cd0d89d");
}

/* RFC 4231 test cases 1, 2 and 6. */
static void
test_hmac_sha256(void **state)
{
	static const unsigned char tc1[32] = {
		0xb0, 0x34, 0x4c, 0x61, 0xd8, 0xdb, 0x38, 0x53,
		0x5c, 0xa8, 0xaf, 0xce, 0xaf, 0x0b, 0xf1, 0x2b,
		0x88, 0x1d, 0xc2, 0x00, 0xc9, 0x83, 0x3d, 0xa7,
		0x26, 0xe9, 0x37, 0x6c, 0x2e, 0x32, 0xcf, 0xf7
	};
	unsigned char key[131], mac[32];
	char hex[65];
	const char *m6 = "Test Using Larger Than Block-Size Key - Hash Key First";

	(void)state;
	memset(key, 0x0b, 20);
	cw_hmac_sha256(key, 20, "Hi There", 8, mac);
	assert_memory_equal(mac, tc1, 32);
	cw_hmac_sha256_hex(key, 20, "Hi There", 8, hex);
	assert_string_equal(hex,
	    "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");

	cw_hmac_sha256_hex("Jefe", 4, "what do ya want for nothing?", 28, hex);
	assert_string_equal(hex,
	    "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");

	memset(key, 0xaa, sizeof(key));
	cw_hmac_sha256_hex(key, sizeof(key), m6, strlen(m6), hex);
	assert_string_equal(hex,
	    "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");

	/* Negative: another key, or another message, another MAC. */
	cw_hmac_sha256_hex("Jeff", 4, "what do ya want for nothing?", 28, hex);
	assert_string_not_equal(hex,
	    "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
	cw_hmac_sha256_hex("Jefe", 4, "what do ya want for nothing!", 28, hex);
	assert_string_not_equal(hex,
	    "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");

	/* Empty key and message are valid HMAC inputs (Python's hmac agrees). */
	cw_hmac_sha256_hex(NULL, 0, NULL, 0, hex);
	assert_string_equal(hex,
	    "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
}

/*
 * The HMAC context is kept keyed between calls: the same key again, a key
 * that is a prefix of the last, one of the same length, an empty one and a
 * long one, in turns, each giving its own RFC 4231 answer every time.
 */
static void
test_hmac_sha256_rekeyed(void **state)
{
	static const char *const want[] = {
		"5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
		"b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
		"60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
		"b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad",
	};
	const char *m6 = "Test Using Larger Than Block-Size Key - Hash Key First";
	unsigned char k1[20], k6[131];
	char hex[65], other[65];

	(void)state;
	memset(k1, 0x0b, sizeof(k1));
	memset(k6, 0xaa, sizeof(k6));
	for (int round = 0; round < 3; round++) {
		cw_hmac_sha256_hex("Jefe", 4, "what do ya want for nothing?", 28, hex);
		assert_string_equal(hex, want[0]);
		cw_hmac_sha256_hex("Jefe", 4, "what do ya want for nothing?", 28, hex);
		assert_string_equal(hex, want[0]);
		/* Same length, one byte apart; and a prefix of it. */
		cw_hmac_sha256_hex("Jeff", 4, "what do ya want for nothing?", 28, other);
		assert_string_not_equal(other, want[0]);
		cw_hmac_sha256_hex("Jef", 3, "what do ya want for nothing?", 28, hex);
		assert_string_not_equal(hex, want[0]);
		assert_string_not_equal(hex, other);
		cw_hmac_sha256_hex(k1, sizeof(k1), "Hi There", 8, hex);
		assert_string_equal(hex, want[1]);
		cw_hmac_sha256_hex(k6, sizeof(k6), m6, strlen(m6), hex);
		assert_string_equal(hex, want[2]);
		cw_hmac_sha256_hex(k6, sizeof(k6), m6, strlen(m6), hex);
		assert_string_equal(hex, want[2]);
		cw_hmac_sha256_hex(NULL, 0, NULL, 0, hex);
		assert_string_equal(hex, want[3]);
	}
}

static int
ishex(const char *s)
{
	for (; *s != '\0'; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
			return 0;
	return 1;
}

static void
test_random_hex(void **state)
{
	char a[33], b[33], big[2 * 200 + 1], z[1];

	(void)state;
	memset(a, 'X', sizeof(a));
	assert_int_equal(cw_random_hex(a, 16), 0);
	assert_int_equal(strlen(a), 32);
	assert_true(ishex(a));
	assert_int_equal(cw_random_hex(b, 16), 0);
	assert_int_equal(strlen(b), 32);
	assert_true(ishex(b));
	assert_string_not_equal(a, b);

	/* More than one internal block, exactly filled. */
	memset(big, 'X', sizeof(big));
	assert_int_equal(cw_random_hex(big, 200), 0);
	assert_int_equal(strlen(big), 400);
	assert_true(ishex(big));

	z[0] = 'X';
	assert_int_equal(cw_random_hex(z, 0), 0);
	assert_int_equal(z[0], '\0');

	/* The checker itself rejects what is not lowercase hex. */
	assert_false(ishex("0123456789abcdeF"));
	assert_false(ishex("g"));
}

static void
check_url(const char *in, const char *want)
{
	char *s = cw_urlencode(in);

	assert_string_equal(s, want);
	free(s);
}

static void
test_urlencode(void **state)
{
	(void)state;
	check_url("ABCXYZabcxyz0189-._~", "ABCXYZabcxyz0189-._~");
	check_url("", "");
	check_url("a b", "a%20b");
	check_url("/", "%2F");
	check_url("+", "%2B");
	check_url("=", "%3D");
	check_url("&", "%26");
	check_url("%", "%25");
	check_url("!*'();:@$,?#[]\"<>\\^`{|}", "%21%2A%27%28%29%3B%3A%40%24%2C%3F"
	    "%23%5B%5D%22%3C%3E%5C%5E%60%7B%7C%7D");
	check_url("\x01\x7f", "%01%7F");
	/* UTF-8 "é€", bytes as unsigned, uppercase hex. */
	check_url("\xc3\xa9\xe2\x82\xac", "%C3%A9%E2%82%AC");
	check_url("\xff", "%FF");
	check_url("type=master&ver=1.0&sig=a+b/c=",
	    "type%3Dmaster%26ver%3D1.0%26sig%3Da%2Bb%2Fc%3D");
}

/* RFC 4648 section 10 in the URL alphabet, unpadded; then what is refused. */
static void
test_base64url(void **state)
{
	static const char *const bad[] = {
		"Zg==", "Zm8=", "Z", "Zm9vY", "Zm+v", "Zm/v", "Zm9 v", "Zh", "Zm9", "Zm\n",
	};
	unsigned char *d;
	size_t n;
	char *e;

	(void)state;
	for (size_t i = 0; i < sizeof(b64vec) / sizeof(b64vec[0]); i++) {
		size_t want = strcspn(b64vec[i][1], "=");

		e = cw_base64url(b64vec[i][0], strlen(b64vec[i][0]));
		assert_int_equal(strlen(e), want);
		assert_memory_equal(e, b64vec[i][1], want);
		d = cw_unbase64url(e, strlen(e), &n);
		assert_non_null(d);
		assert_int_equal(n, strlen(b64vec[i][0]));
		assert_memory_equal(d, b64vec[i][0], n);
		free(d);
		free(e);
	}
	e = cw_base64url("\xfb\xff\xbf", 3);
	assert_string_equal(e, "-_-_");
	free(e);
	/* "Zh" and "Zm9" set bits no byte uses: "Zg" and "Zm8" are the encodings. */
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if ((d = cw_unbase64url(bad[i], strlen(bad[i]), &n)) != NULL)
			fail_msg("accepted \"%s\"", bad[i]);
	assert_int_equal(cw_ct_equal("abc", "abc", 3), 1);
	assert_int_equal(cw_ct_equal("abc", "abd", 3), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_base64_rfc4648),
		cmocka_unit_test(test_base64_invalid),
		cmocka_unit_test(test_base64_binary),
		cmocka_unit_test(test_base64url),
		cmocka_unit_test(test_sha1),
		cmocka_unit_test(test_hmac_sha256),
		cmocka_unit_test(test_hmac_sha256_rekeyed),
		cmocka_unit_test(test_random_hex),
		cmocka_unit_test(test_urlencode),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
