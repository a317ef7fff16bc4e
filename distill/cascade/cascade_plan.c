/* Per-link shuffle plan, parameter choice and block parities shared by both sides. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "cascade_internal.h"

/* xoshiro256** seeded through splitmix64: a fast PRNG both sides derive the shuffles from. */
struct cas_rng {
	uint64_t s[4];
};

static uint64_t splitmix(uint64_t *x)
{
	uint64_t z = (*x += 0x9E3779B97F4A7C15ULL);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t rng_next(struct cas_rng *r)
{
	uint64_t *s = r->s;
	uint64_t out = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return out;
}

/* Uniform in [0, bound) (Lemire's multiply-shift with rejection). */
static uint32_t rng_below(struct cas_rng *r, uint32_t bound)
{
	uint64_t m = (uint64_t)(uint32_t)rng_next(r) * bound;
	if ((uint32_t)m < bound) {
		uint32_t t = (uint32_t)(-bound) % bound;
		while ((uint32_t)m < t)
			m = (uint64_t)(uint32_t)rng_next(r) * bound;
	}
	return (uint32_t)(m >> 32);
}

void cas_plan_fini(struct cas_plan *pl)
{
	for (unsigned j = 0; j < DST_CASCADE_MAX_PASSES; j++) {
		free(pl->perm[j]);
		free(pl->inv[j]);
		free(pl->half[j]);
		pl->perm[j] = pl->inv[j] = NULL;
		pl->half[j] = NULL;
	}
}

int cas_plan_init(struct cas_plan *pl, const struct dst_cascade_cfg *cfg)
{
	memset(pl, 0, sizeof(*pl));
	uint32_t passes = cfg->max_passes ? cfg->max_passes : 16;
	if (cfg->frame_bits < DST_CASCADE_MIN_FRAME_BITS || cfg->frame_bits > DST_CASCADE_MAX_FRAME_BITS ||
	    cfg->max_frames == 0 || cfg->max_frames > 65535 || passes < 2 || passes > DST_CASCADE_MAX_PASSES)
		return -EINVAL;
	pl->n = cfg->frame_bits;
	pl->nw = (pl->n + 63) / 64;
	pl->L = 0;
	while ((1ull << pl->L) < pl->n)
		pl->L++;
	pl->passes = passes;
	pl->max_frames = cfg->max_frames;
	pl->seed = cfg->seed;
	uint64_t half = 1ull << (pl->L - 1);
	for (unsigned j = 0; j < passes; j++) {
		pl->perm[j] = malloc(sizeof(uint32_t) * pl->n);
		pl->inv[j] = malloc(sizeof(uint32_t) * pl->n);
		pl->half[j] = calloc(pl->nw, sizeof(uint64_t));
		if (!pl->perm[j] || !pl->inv[j] || !pl->half[j]) {
			cas_plan_fini(pl);
			return -ENOMEM;
		}
		uint64_t x = cfg->seed ^ (0xC2B2AE3D27D4EB4FULL * (j + 1));
		struct cas_rng r = {{splitmix(&x), splitmix(&x), splitmix(&x), splitmix(&x)}};
		uint32_t *p = pl->perm[j];
		for (uint32_t i = 0; i < pl->n; i++)
			p[i] = i;
		for (uint32_t i = pl->n - 1; i > 0; i--) {
			uint32_t k = rng_below(&r, i + 1);
			uint32_t t = p[i];
			p[i] = p[k];
			p[k] = t;
		}
		for (uint32_t i = 0; i < pl->n; i++) {
			pl->inv[j][p[i]] = i;
			if (i >= half)
				cas_setbit(pl->half[j], p[i]);
		}
	}
	return 0;
}

void dst_cascade_params_for_qber(double qber, uint32_t frame_bits, uint32_t max_passes,
				 struct dst_cascade_params *p)
{
	if (!(qber >= 0.001))
		qber = 0.001;
	if (qber > 0.25)
		qber = 0.25;
	unsigned L = 0;
	while ((1ull << L) < frame_bits)
		L++;
	unsigned passes = max_passes ? max_passes : 16;
	if (passes > DST_CASCADE_MAX_PASSES)
		passes = DST_CASCADE_MAX_PASSES;
	/* First two passes: the paper's shape, k1 ~ 2^(log2(1/Q) - 1/2) and k2 ~ 2^(log2(1/Q) + 3),
	 * calibrated per QBER by Monte Carlo on 10^5..10^6-bit frames with batched searches
	 * (perf/results/cascade.json): at every point these were within 1% of the best efficiency
	 * found and took about half the round trips. Between points the nearest one (log scale). */
	static const struct {
		double q;
		int b1, b2;
	} cal[] = {{0.01, 6, 9}, {0.02, 5, 8}, {0.03, 5, 7}, {0.05, 4, 7}, {0.08, 3, 7}, {0.11, 3, 6}};
	int b1, b2;
	if (qber < 0.0075) {
		b1 = (int)lround(log2(1.0 / qber) - 0.5);
		b2 = b1 + 3;
	} else {
		unsigned best = 0;
		for (unsigned i = 1; i < sizeof(cal) / sizeof(cal[0]); i++)
			if (fabs(log(qber / cal[i].q)) < fabs(log(qber / cal[best].q)))
				best = i;
		b1 = cal[best].b1;
		b2 = cal[best].b2;
	}
	/* Later passes: halves of 2^(L-1) bits, unless the second half would be under a quarter
	 * of the frame (frame just above a power of two); then quarters, which still split the
	 * frame into two large blocks. */
	int late = (int)L - 1;
	if (L >= 3 && frame_bits - (1u << (L - 1)) < (1u << (L - 2)))
		late = (int)L - 2;
	memset(p, 0, sizeof(*p));
	p->passes = passes;
	for (unsigned j = 0; j < passes; j++) {
		int b = j == 0 ? b1 : j == 1 ? b2 : late;
		if (b < 1)
			b = 1;
		if (b > (int)L - 1)
			b = (int)L - 1;
		p->log2_block[j] = (uint8_t)b;
	}
}

int cas_params_check(const struct cas_plan *pl, const struct dst_cascade_params *p)
{
	if (p->passes < 1 || p->passes > pl->passes)
		return -EPROTO;
	for (unsigned j = 0; j < p->passes; j++)
		if (p->log2_block[j] < 1 || p->log2_block[j] > pl->L - 1)
			return -EPROTO;
	return 0;
}

void cas_block_parities(const struct cas_plan *pl, unsigned j, unsigned b, const uint64_t *key,
			uint64_t *copy, uint8_t *built, uint8_t *par)
{
	if (b == pl->L - 1) {
		unsigned hi = __builtin_parityll(cas_k->fold_and(key, pl->half[j], pl->nw));
		unsigned all = __builtin_parityll(cas_k->fold(key, pl->nw));
		par[0] = (uint8_t)(all ^ hi);
		par[1] = (uint8_t)hi;
		return;
	}
	if (!*built) {
		cas_k->gather(copy, key, pl->perm[j], pl->n);
		*built = 1;
	}
	uint32_t nb = cas_nblocks(pl, b);
	if (b >= 6) {
		uint32_t wpb = 1u << (b - 6);
		for (uint32_t m = 0; m < nb; m++) {
			uint64_t w0 = (uint64_t)m * wpb, w1 = w0 + wpb;
			if (w1 > pl->nw)
				w1 = pl->nw;
			par[m] = (uint8_t)__builtin_parityll(cas_k->fold(copy + w0, w1 - w0));
		}
		return;
	}
	/* Blocks inside words: fold each 2^b-bit chunk onto its lowest bit. */
	unsigned k = 1u << b, per = 64 / k;
	for (uint32_t w = 0; w < pl->nw; w++) {
		uint64_t x = copy[w];
		for (unsigned s = 1; s < k; s <<= 1)
			x ^= x >> s;
		for (unsigned c = 0; c < per; c++) {
			uint64_t m = (uint64_t)w * per + c;
			if (m < nb)
				par[m] = (uint8_t)((x >> (c * k)) & 1);
		}
	}
}

void cas_bits_extract(uint64_t *dst, const uint64_t *src, uint64_t from, uint64_t nbits)
{
	uint64_t nw = (nbits + 63) / 64, sw = from >> 6;
	unsigned sh = from & 63;
	for (uint64_t i = 0; i < nw; i++) {
		uint64_t lo = src[sw + i] >> sh;
		/* Read the next source word only when it still holds wanted bits. */
		if (sh && (sw + i + 1) * 64 < from + nbits)
			lo |= src[sw + i + 1] << (64 - sh);
		dst[i] = lo;
	}
	if (nbits & 63)
		dst[nw - 1] &= ~0ULL >> (64 - (nbits & 63));
}

void cas_bits_insert(uint64_t *dst, uint64_t at, const uint64_t *src, uint64_t nbits)
{
	uint64_t i = 0;
	if ((at & 63) == 0) {
		for (; i + 64 <= nbits; i += 64)
			dst[(at + i) >> 6] = src[i >> 6];
	}
	for (; i < nbits; i++)
		cas_putbit(dst, at + i, cas_bit(src, i));
}
