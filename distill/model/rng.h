/* xoshiro256** (Blackman & Vigna): the link model's deterministic random stream. Private header. */
#ifndef DST_MODEL_RNG_H
#define DST_MODEL_RNG_H

#include <stdint.h>

struct dst_rng {
	uint64_t s[4];
};

static inline uint64_t dst_rng_rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static inline uint64_t dst_rng_next(struct dst_rng *r)
{
	uint64_t *s = r->s;
	uint64_t out = dst_rng_rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = dst_rng_rotl(s[3], 45);
	return out;
}

/* The state comes from splitmix64 of the seed, so every seed (0 included) gives a good stream. */
static inline void dst_rng_seed(struct dst_rng *r, uint64_t seed)
{
	for (int i = 0; i < 4; i++) {
		uint64_t z = (seed += 0x9E3779B97F4A7C15ULL);
		z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
		z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
		r->s[i] = z ^ (z >> 31);
	}
}

/* Uniform in [0, 1) with 53 random bits. */
static inline double dst_rng_unit(struct dst_rng *r)
{
	return (double)(dst_rng_next(r) >> 11) * 0x1.0p-53;
}

/* Uniform in (0, 1]. */
static inline double dst_rng_unit_open0(struct dst_rng *r)
{
	return (double)((dst_rng_next(r) >> 11) + 1) * 0x1.0p-53;
}

#endif
