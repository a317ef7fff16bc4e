/* Verification tags: tag length from eps_cor, the dispatched hash, constant-time comparison. */
#include <errno.h>
#include <math.h>
#include <string.h>

#include "dst_cpu.h"
#include "dst_verify.h"
#include "verify_internal.h"

const struct dst_verify_variant dst_verify_variants[] = {
	{"generic", 0, dst_verify_hash_base},
	{"pclmul", DST_CPU_PCLMUL | DST_CPU_SSE42, dst_verify_hash_pclmul},
	{"vpclmul", DST_CPU_LEVEL_VPCLMUL, dst_verify_hash_vpclmul},
	{NULL, 0, NULL},
};

static dst_verify_hash_fn hash_impl = dst_verify_hash_base;
static void (*mul_impl)(const uint64_t a[2], const uint64_t b[2], uint64_t r[2]) = dst_gf128_mul_base;

static void verify_select(unsigned flags)
{
	unsigned pclmul = DST_CPU_PCLMUL | DST_CPU_SSE42;
	mul_impl = (flags & pclmul) == pclmul ? dst_gf128_mul_pclmul : dst_gf128_mul_base;
	hash_impl = dst_verify_hash_base;
	for (const struct dst_verify_variant *v = dst_verify_variants; v->name; v++)
		if ((flags & v->needs) == v->needs)
			hash_impl = v->fn;
}
DST_DISPATCH("verify", verify_select)

void dst_verify_hash(const uint64_t *msg, uint64_t nbits, const uint64_t k[2], uint64_t out[2])
{
	hash_impl(msg, nbits, k, out);
}

void dst_gf128_mul(const uint64_t a[2], const uint64_t b[2], uint64_t r[2])
{
	mul_impl(a, b, r);
}

unsigned dst_verify_tag_bits(uint64_t nbits, double eps_cor)
{
	if (!(eps_cor > 0.0 && eps_cor < 1.0) || nbits > ((uint64_t)1 << 50))
		return 0;
	double blocks = (double)((nbits + 127) / 128) + 1.0; /* message blocks and the length block */
	double t = ceil(log2(blocks) - log2(eps_cor));
	return t <= 128.0 ? (unsigned)(t < 1.0 ? 1.0 : t) : 0;
}

int dst_verify_tag(const uint64_t *msg, uint64_t nbits, const uint8_t seed[DST_VERIFY_SEED_BYTES],
		   double eps_cor, struct dst_verify_tag *tag)
{
	if ((!msg && nbits) || !seed || !tag)
		return -EINVAL;
	unsigned t = dst_verify_tag_bits(nbits, eps_cor);
	if (!t)
		return -EINVAL;
	uint64_t k[2], h[2];
	memcpy(k, seed, 16);
	hash_impl(msg, nbits, k, h);
	tag->w[0] = t >= 64 ? h[0] : h[0] & ((1ULL << t) - 1);
	tag->w[1] = t <= 64 ? 0 : t == 128 ? h[1] : h[1] & ((1ULL << (t - 64)) - 1);
	tag->bits = t;
	return 0;
}

bool dst_verify_equal(const struct dst_verify_tag *a, const struct dst_verify_tag *b)
{
	volatile uint64_t d = (a->w[0] ^ b->w[0]) | (a->w[1] ^ b->w[1]) | (uint64_t)(a->bits ^ b->bits);
	return d == 0;
}
