/* Verification hash: every variant equals a bit-serial GF(2^128) reference written from the
 * definition in dst_verify.h; tag length from eps_cor; truncation, length block, tail bits. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dst_cpu.h"
#include "dst_verify.h"
#include "unit.h"

/* a * x mod x^128 + x^7 + x^2 + x + 1 */
static void times_x(uint64_t a[2])
{
	uint64_t carry = a[1] >> 63;
	a[1] = a[1] << 1 | a[0] >> 63;
	a[0] = (a[0] << 1) ^ (carry ? 0x87 : 0);
}

/* Shift-and-add multiplication, reducing after every shift. */
static void ref_mul(const uint64_t a[2], const uint64_t b[2], uint64_t r[2])
{
	uint64_t s[2] = {a[0], a[1]}, acc[2] = {0, 0};
	for (int i = 0; i < 128; i++) {
		if ((b[i / 64] >> (i % 64)) & 1) {
			acc[0] ^= s[0];
			acc[1] ^= s[1];
		}
		times_x(s);
	}
	r[0] = acc[0];
	r[1] = acc[1];
}

static unsigned getbit(const uint64_t *p, uint64_t i) { return (unsigned)(p[i / 64] >> (i % 64)) & 1; }

/* H = sum m_i k^(L+2-i) with m_{L+1} = nbits, blocks read bit by bit. */
static void ref_hash(const uint64_t *msg, uint64_t nbits, const uint64_t k[2], uint64_t out[2])
{
	uint64_t acc[2] = {0, 0};
	uint64_t blocks = (nbits + 127) / 128;
	for (uint64_t b = 0; b <= blocks; b++) {
		uint64_t m[2] = {0, 0};
		if (b < blocks) {
			for (uint64_t j = 0; j < 128 && b * 128 + j < nbits; j++)
				m[j / 64] |= (uint64_t)getbit(msg, b * 128 + j) << (j % 64);
		} else {
			m[0] = nbits;
		}
		acc[0] ^= m[0];
		acc[1] ^= m[1];
		ref_mul(acc, k, acc);
	}
	out[0] = acc[0];
	out[1] = acc[1];
}

static void test_field_identities(void)
{
	/* x^127 * x = x^128 = x^7 + x^2 + x + 1; the reference and the hash of a one-block message
	 * (m k^2 + 128 k) agree with hand-derived values. */
	uint64_t a[2] = {0, 1ULL << 63}, x[2] = {2, 0}, r[2];
	ref_mul(a, x, r);
	CU_ASSERT_EQUAL(r[0], 0x87);
	CU_ASSERT_EQUAL(r[1], 0);
	uint64_t one[2] = {1, 0}, k[2] = {1, 0}, out[2];
	/* k = 1: H = m + 128 for a 128-bit message. */
	uint64_t msg[2] = {0x0123456789abcdefULL, 0xfedcba9876543210ULL};
	for (const struct dst_verify_variant *v = dst_verify_variants; v->name; v++) {
		if ((dst_cpu_detected() & v->needs) != v->needs)
			continue;
		v->fn(msg, 128, k, out);
		CU_ASSERT_EQUAL(out[0], msg[0] ^ 128);
		CU_ASSERT_EQUAL(out[1], msg[1]);
		v->fn(msg, 0, one, out); /* empty message: only the length block 0, times k */
		CU_ASSERT_EQUAL(out[0], 0);
		CU_ASSERT_EQUAL(out[1], 0);
	}
}

static void test_variants_vs_reference(void)
{
	static const uint64_t sizes[] = {1, 7, 63, 64, 65, 127, 128, 129, 255, 256, 257, 511, 512,
					 513, 640, 1000, 4099, 65536 + 77};
	uint64_t *msg = malloc(70000 / 8 + 64);
	CU_ASSERT_FATAL(msg != NULL);
	uint64_t seed = 42;
	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		unit_fill_random(msg, 70000 / 8 + 64, 100 + s);
		uint64_t k[2] = {unit_rand(&seed), unit_rand(&seed)}, ref[2];
		ref_hash(msg, sizes[s], k, ref);
		for (const struct dst_verify_variant *v = dst_verify_variants; v->name; v++) {
			if ((dst_cpu_detected() & v->needs) != v->needs)
				continue;
			uint64_t out[2] = {0, 0};
			v->fn(msg, sizes[s], k, out);
			CU_ASSERT(out[0] == ref[0] && out[1] == ref[1]);
		}
	}
	/* The dispatched single product equals the bit-serial reference. */
	for (int i = 0; i < 200; i++) {
		uint64_t x[2] = {unit_rand(&seed), unit_rand(&seed)}, y[2] = {unit_rand(&seed), unit_rand(&seed)};
		uint64_t want[2], got[2];
		ref_mul(x, y, want);
		dst_gf128_mul(x, y, got);
		CU_ASSERT(got[0] == want[0] && got[1] == want[1]);
	}
	/* Bits past nbits do not count. */
	uint64_t k[2] = {unit_rand(&seed), unit_rand(&seed)}, a[2], b[2];
	unit_fill_random(msg, 64, 7);
	dst_verify_hash(msg, 300, k, a);
	msg[300 / 64] ^= 1ULL << 50;
	msg[5] = ~msg[5];
	dst_verify_hash(msg, 300, k, b);
	CU_ASSERT(a[0] == b[0] && a[1] == b[1]);
	free(msg);
}

static void test_tags(void)
{
	/* 10^6 bits: 7813 blocks + length block; log2(7814) + log2(1e15) = 62.77 -> 63 bits. */
	CU_ASSERT_EQUAL(dst_verify_tag_bits(1000000, 1e-15), 63);
	CU_ASSERT_EQUAL(dst_verify_tag_bits(128, 0.25), 3);    /* (1+1)/2^3 <= 1/4 */
	CU_ASSERT_EQUAL(dst_verify_tag_bits(1000000, 1e-40), 0); /* would need 146 bits */
	CU_ASSERT_EQUAL(dst_verify_tag_bits(1000, 0), 0);
	uint64_t msg[16];
	unit_fill_random(msg, sizeof(msg), 3);
	uint8_t seed[16];
	unit_fill_random(seed, 16, 4);
	uint64_t k[2], ref[2];
	memcpy(k, seed, 16);
	ref_hash(msg, 1000, k, ref);
	struct dst_verify_tag t, u;
	CU_ASSERT_EQUAL_FATAL(dst_verify_tag(msg, 1000, seed, 1e-15, &t), 0);
	unsigned bits = (unsigned)ceil(log2(9.0) + 15 * log2(10.0));
	CU_ASSERT_EQUAL(t.bits, bits);
	CU_ASSERT_EQUAL(t.w[0], ref[0] & ((1ULL << bits) - 1));
	CU_ASSERT_EQUAL(t.w[1], 0);
	CU_ASSERT_EQUAL(dst_verify_tag(msg, 1000, seed, 1e-30, &u), 0); /* log2(9) + 99.66 -> 103 bits */
	CU_ASSERT_EQUAL(u.bits, 103);
	CU_ASSERT_EQUAL(u.w[0], ref[0]);
	CU_ASSERT_EQUAL(u.w[1], ref[1] & ((1ULL << 39) - 1));
	CU_ASSERT(!dst_verify_equal(&t, &u));
	/* The other side with the same key agrees; one flipped bit does not. */
	uint64_t other[16];
	memcpy(other, msg, sizeof(msg));
	CU_ASSERT_EQUAL(dst_verify_tag(other, 1000, seed, 1e-15, &u), 0);
	CU_ASSERT(dst_verify_equal(&t, &u));
	other[7] ^= 1ULL << 33;
	CU_ASSERT_EQUAL(dst_verify_tag(other, 1000, seed, 1e-15, &u), 0);
	CU_ASSERT(!dst_verify_equal(&t, &u));
	/* Appending a zero bit changes the length block, so the tag. */
	memcpy(other, msg, sizeof(msg));
	other[1000 / 64] &= ~(1ULL << (1000 % 64));
	CU_ASSERT_EQUAL(dst_verify_tag(other, 1000, seed, 1e-15, &t), 0);
	CU_ASSERT_EQUAL(dst_verify_tag(other, 1001, seed, 1e-15, &u), 0);
	CU_ASSERT_EQUAL(t.bits, u.bits);
	CU_ASSERT(!dst_verify_equal(&t, &u));
	CU_ASSERT_EQUAL(dst_verify_tag(NULL, 10, seed, 1e-15, &t), -EINVAL);
	CU_ASSERT_EQUAL(dst_verify_tag(msg, 10, seed, 1e-60, &t), -EINVAL);
}

static CU_TestInfo verify_tests[] = {
	{"field identities", test_field_identities},
	{"every variant equals the bit-serial reference", test_variants_vs_reference},
	{"tag length, truncation, comparison", test_tags},
	CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
	{"verify", NULL, NULL, NULL, NULL, verify_tests},
	CU_SUITE_INFO_NULL,
};

int main(void)
{
	return unit_run(suites);
}
