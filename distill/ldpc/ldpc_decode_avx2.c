/* AVX2 layered sum-product sweep: the 32 lanes of a vector are 32 consecutive checks of one
 * layer, so every circulant is read and written as contiguous vectors at its shift (the head of
 * each variable block is repeated after its end, making the cyclic rotation a plain unaligned
 * load). Bit-exact with ldpc_decode_base.c: the same saturating 8-bit operations per lane, with
 * the same check node per row length and plan (forward/backward box-plus, or box-plus then
 * box-minus, optionally capped at the box-plus of the two smallest inputs). */
#include <immintrin.h>
#include <stdbool.h>

#include "ldpc_internal.h"

struct consts {
	__m256i one, cmax, bias, fifteen, tab, tabm; /* bias: 0x70 (see minus_finish) */
};

/* g(x, y) = max(min(x, y) + c[x + y] - c[|x - y|], 0) on magnitudes 0..128; c[15] = 0 stands
 * for every index >= 15. Indices clamped by min and |x - y| as max - min: saturating adds run on
 * two of Zen's four vector ports, min, max and plain adds on all four. */
static inline __m256i boxplus(const struct consts *k, __m256i x, __m256i y)
{
	__m256i lo = _mm256_min_epu8(x, y), hi = _mm256_max_epu8(x, y);
	__m256i s = _mm256_shuffle_epi8(k->tab, _mm256_min_epu8(_mm256_adds_epu8(x, y), k->fifteen));
	__m256i d = _mm256_shuffle_epi8(k->tab, _mm256_min_epu8(_mm256_sub_epi8(hi, lo), k->fifteen));
	return _mm256_subs_epu8(_mm256_add_epi8(lo, s), d);
}

/* Extrinsic input of one edge: t = app - c2v saturated to [-128, 127], kept for the way out;
 * signs into hd (hard decisions) and par (extrinsic parity). Returns |t| (0..128 unsigned). */
static inline __m256i take(const int8_t *ap, const int8_t *cp, __m256i *tt,
			   __m256i *hd, __m256i *par)
{
	__m256i a = _mm256_loadu_si256((const __m256i *)ap);
	__m256i c = _mm256_load_si256((const __m256i *)cp);
	*hd = _mm256_xor_si256(*hd, a);
	__m256i t = _mm256_subs_epi8(a, c);
	_mm256_store_si256(tt, t);
	*par = _mm256_xor_si256(*par, t);
	return _mm256_abs_epi8(t);
}

/* Signed message from its magnitude (<= LDPC_C2V_MAX; stored), and the edge's new LLR. */
static inline __m256i give(const struct consts *k, __m256i mag, __m256i t, __m256i par, int8_t *cp)
{
	__m256i v = _mm256_sign_epi8(mag, _mm256_or_si256(_mm256_xor_si256(par, t), k->one));
	_mm256_store_si256((__m256i *)cp, v);
	return _mm256_adds_epi8(t, v);
}

/* One row: where each circulant's 64 LLRs of the current chunk pair start. */
struct row {
	uint32_t dc, z;
	int8_t *c2v;      /* edge j of chunk k at c2v + k * dc + 64 * j (ldpc_c2v_at) */
	int8_t *blk[256]; /* variable block of circulant j */
	uint32_t pos[256];/* position of check k in it */
};

/* New LLRs of circulant j for checks k..k+63 at position p; the head [0, 64) of a block and its
 * repetition stay equal (extra stores in 2 of z / 64 chunk pairs). */
static inline void put(const struct row *w, uint32_t j, __m256i a, __m256i b)
{
	uint32_t p = w->pos[j], z = w->z;
	int8_t *ap = w->blk[j] + p;
	_mm256_storeu_si256((__m256i *)ap, a);
	_mm256_storeu_si256((__m256i *)(ap + 32), b);
	if (__builtin_expect(p < LDPC_APP_TAIL, 0)) {
		_mm256_storeu_si256((__m256i *)(ap + z), a);
		_mm256_storeu_si256((__m256i *)(ap + z + 32), b);
	}
	if (__builtin_expect(p + 64 > z, 0)) {
		_mm256_storeu_si256((__m256i *)(ap - z), a);
		_mm256_storeu_si256((__m256i *)(ap - z + 32), b);
	}
}

/* Forward/backward box-plus on checks k..k+63 (two chunks A, B: the chains are serial within a
 * chunk, a second independent one keeps the vector units busy). tt: t and forward values. */
static inline void pair_fb(const struct consts *K, const struct row *w, const int8_t *sy,
			   uint32_t k, __m256i *tt, __m256i *hdA, __m256i *hdB)
{
	const uint32_t dc = w->dc;
	__m256i *fw = tt + 2 * 256;
	__m256i parA = _mm256_load_si256((const __m256i *)sy);
	__m256i parB = _mm256_load_si256((const __m256i *)(sy + 32));
	*hdA = parA;
	*hdB = parB;
	__m256i fA = parA, fB = parB;
	for (uint32_t j = 0; j < dc; j++) {
		const int8_t *ap = w->blk[j] + w->pos[j], *cp = w->c2v + (size_t)k * dc + 64 * j;
		_mm_prefetch((const char *)(ap + 127), _MM_HINT_T0); /* see pair_minus */
		__m256i mA = take(ap, cp, tt + 2 * j, hdA, &parA);
		__m256i mB = take(ap + 32, cp + 32, tt + 2 * j + 1, hdB, &parB);
		fA = j == 0 ? mA : boxplus(K, fA, mA);
		fB = j == 0 ? mB : boxplus(K, fB, mB);
		_mm256_store_si256(fw + 2 * j, fA);
		_mm256_store_si256(fw + 2 * j + 1, fB);
	}
	__m256i bA = parA, bB = parB;
	for (uint32_t j = dc; j-- > 0;) {
		__m256i tA = _mm256_load_si256(tt + 2 * j), tB = _mm256_load_si256(tt + 2 * j + 1);
		__m256i mA = _mm256_abs_epi8(tA), mB = _mm256_abs_epi8(tB), gA, gB;
		if (j == dc - 1) {
			gA = _mm256_load_si256(fw + 2 * j - 2);
			gB = _mm256_load_si256(fw + 2 * j - 1);
			bA = mA;
			bB = mB;
		} else if (j == 0) {
			gA = bA;
			gB = bB;
		} else {
			gA = boxplus(K, _mm256_load_si256(fw + 2 * j - 2), bA);
			gB = boxplus(K, _mm256_load_si256(fw + 2 * j - 1), bB);
			bA = boxplus(K, bA, mA);
			bB = boxplus(K, bB, mB);
		}
		gA = _mm256_min_epu8(gA, K->cmax);
		gB = _mm256_min_epu8(gB, K->cmax);
		int8_t *cp = w->c2v + (size_t)k * dc + 64 * j;
		put(w, j, give(K, gA, tA, parA, cp), give(K, gB, tB, parB, cp + 32));
	}
}

/* Check-node state of one chunk for the box-minus form (mn2: second smallest, for cap2). */
struct minus {
	__m256i par, mn, rest, mn2;
};

static inline void minus_take(const struct consts *K, struct minus *s, __m256i m, bool cap2)
{
	__m256i x = _mm256_max_epu8(m, s->mn);
	s->rest = boxplus(K, s->rest, x);
	if (cap2)
		s->mn2 = _mm256_min_epu8(s->mn2, x);
	s->mn = _mm256_min_epu8(m, s->mn);
}

/* Totals between the passes: S, the cap of an edge holding mn (E) and of any other (E, mn, and
 * with cap2 g(mn, mn2)); all <= LDPC_C2V_MAX. */
struct minus_out {
	__m256i par, mn, total, kb, cap, capn;
};

/* S is clamped to LDPC_C2V_MAX, where every message is capped anyway: then the table index
 * m - S + 0x70 is m + kb with kb = 0x70 - S in one plain add (m >= S; m - S >= 16 lands at 128
 * or above, where pshufb gives 0) and S + c' stays below 256. */
static inline struct minus_out minus_finish(const struct consts *K, const struct minus *s, bool cap2)
{
	__m256i cap = _mm256_min_epu8(s->rest, K->cmax);
	__m256i total = _mm256_min_epu8(boxplus(K, s->mn, s->rest), K->cmax);
	__m256i capn = _mm256_min_epu8(cap, s->mn);
	if (cap2)
		capn = _mm256_min_epu8(capn, boxplus(K, s->mn, s->mn2));
	struct minus_out o = {s->par, s->mn, total, _mm256_sub_epi8(K->bias, total), cap, capn};
	return o;
}

static inline __m256i minus_mag(const struct consts *K, const struct minus_out *o, __m256i m)
{
	__m256i h = _mm256_add_epi8(o->total, _mm256_shuffle_epi8(K->tabm, _mm256_add_epi8(m, o->kb)));
	h = _mm256_min_epu8(h, o->capn);
	return _mm256_blendv_epi8(h, o->cap, _mm256_cmpeq_epi8(m, o->mn));
}

/* Box-plus on the way in, box-minus on the way out, on checks k..k+63 (cap2 a constant: each
 * form compiles to its own loop). */
static inline __attribute__((always_inline)) void
pair_minus(const struct consts *K, const struct row *w, const int8_t *sy, uint32_t k, __m256i *tt,
	   __m256i *hdA, __m256i *hdB, bool cap2)
{
	const uint32_t dc = w->dc;
	struct minus A, B;
	A.par = *hdA = _mm256_load_si256((const __m256i *)sy);
	B.par = *hdB = _mm256_load_si256((const __m256i *)(sy + 32));
	/* edges 0 and 1 start mn and E; then one box-plus per edge */
	const int8_t *ap = w->blk[0] + w->pos[0], *cp = w->c2v + (size_t)k * dc;
	A.mn = take(ap, cp, tt, hdA, &A.par);
	B.mn = take(ap + 32, cp + 32, tt + 1, hdB, &B.par);
	ap = w->blk[1] + w->pos[1];
	cp += 64;
	__m256i mA = take(ap, cp, tt + 2, hdA, &A.par);
	__m256i mB = take(ap + 32, cp + 32, tt + 3, hdB, &B.par);
	A.rest = A.mn2 = _mm256_max_epu8(mA, A.mn);
	A.mn = _mm256_min_epu8(mA, A.mn);
	B.rest = B.mn2 = _mm256_max_epu8(mB, B.mn);
	B.mn = _mm256_min_epu8(mB, B.mn);
	/* two edges per loop turn: 4% faster sweeps (loop overhead, scheduling) */
#pragma GCC unroll 2
	for (uint32_t j = 2; j < dc; j++) {
		ap = w->blk[j] + w->pos[j];
		cp = w->c2v + (size_t)k * dc + 64 * j;
		/* the end of the next chunk pair's LLRs (its start shares a line with this one's
		 * end): one stream per edge is more than the hardware prefetcher follows (6% faster
		 * sweeps) */
		_mm_prefetch((const char *)(ap + 127), _MM_HINT_T0);
		minus_take(K, &A, take(ap, cp, tt + 2 * j, hdA, &A.par), cap2);
		minus_take(K, &B, take(ap + 32, cp + 32, tt + 2 * j + 1, hdB, &B.par), cap2);
	}
	const struct minus_out oA = minus_finish(K, &A, cap2), oB = minus_finish(K, &B, cap2);
#pragma GCC unroll 2
	for (uint32_t j = 0; j < dc; j++) {
		__m256i tA = _mm256_load_si256(tt + 2 * j), tB = _mm256_load_si256(tt + 2 * j + 1);
		__m256i gA = minus_mag(K, &oA, _mm256_abs_epi8(tA));
		__m256i gB = minus_mag(K, &oB, _mm256_abs_epi8(tB));
		int8_t *cp = w->c2v + (size_t)k * dc + 64 * j;
		put(w, j, give(K, gA, tA, oA.par, cp), give(K, gB, tB, oB.par, cp + 32));
	}
}

/* The 64 LLRs of circulant j start at position (shift + k) mod z of its block and read across
 * its end through the repeated head. z is a multiple of 64. */
uint32_t ldpc_sweep_avx2(const struct ldpc_dec *d)
{
	const uint32_t z = d->z;
	const struct consts K = {
		_mm256_set1_epi8(1),
		_mm256_set1_epi8(LDPC_C2V_MAX),
		_mm256_set1_epi8(0x70),
		_mm256_set1_epi8(15),
		_mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)d->corr)),
		_mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)d->corr_minus)),
	};
	uint32_t unsatisfied = 0;
	__m256i *tt = (__m256i *)d->tmp;
	struct row w;
	w.z = z;
	for (uint32_t r = 0; r < d->mb; r++) {
		const uint32_t e0 = d->row_start[r];
		w.dc = d->row_start[r + 1] - e0;
		w.c2v = d->c2v + (size_t)e0 * z;
		for (uint32_t j = 0; j < w.dc; j++) {
			w.blk[j] = d->app + (size_t)d->col[e0 + j] * d->app_stride;
			w.pos[j] = d->shift[e0 + j];
		}
		for (uint32_t k = 0; k < z; k += 64) {
			const int8_t *sy = d->synd + (size_t)r * z + k;
			__m256i hdA, hdB;
			if (w.dc < d->minus_dc)
				pair_fb(&K, &w, sy, k, tt, &hdA, &hdB);
			else if (d->cap2)
				pair_minus(&K, &w, sy, k, tt, &hdA, &hdB, true);
			else
				pair_minus(&K, &w, sy, k, tt, &hdA, &hdB, false);
			unsatisfied += (uint32_t)__builtin_popcount((unsigned)_mm256_movemask_epi8(hdA)) +
				       (uint32_t)__builtin_popcount((unsigned)_mm256_movemask_epi8(hdB));
			for (uint32_t j = 0; j < w.dc; j++)
				w.pos[j] = w.pos[j] + 64 < z ? w.pos[j] + 64 : w.pos[j] + 64 - z;
		}
	}
	return unsatisfied;
}

uint32_t ldpc_check_avx2(const struct ldpc_dec *d)
{
	const uint32_t z = d->z;
	uint32_t unsatisfied = 0;
	for (uint32_t r = 0; r < d->mb; r++) {
		const uint32_t e0 = d->row_start[r], dc = d->row_start[r + 1] - e0;
		for (uint32_t k = 0; k < z; k += 64) {
			const int8_t *sy = d->synd + (size_t)r * z + k;
			__m256i a = _mm256_load_si256((const __m256i *)sy);
			__m256i b = _mm256_load_si256((const __m256i *)(sy + 32));
			for (uint32_t j = 0; j < dc; j++) {
				uint32_t p = d->shift[e0 + j] + k;
				const int8_t *ap = d->app + (size_t)d->col[e0 + j] * d->app_stride +
						   (p < z ? p : p - z);
				a = _mm256_xor_si256(a, _mm256_loadu_si256((const __m256i *)ap));
				b = _mm256_xor_si256(b, _mm256_loadu_si256((const __m256i *)(ap + 32)));
			}
			unsatisfied += (uint32_t)__builtin_popcount((unsigned)_mm256_movemask_epi8(a)) +
				       (uint32_t)__builtin_popcount((unsigned)_mm256_movemask_epi8(b));
		}
	}
	return unsatisfied;
}
