/* The sifting kernels' body, included by sift_base.c and sift_avx2.c with SIFT_PEXT (bit extract),
 * SIFT_POPCNT and SIFT_LIST (offsets from k0 of the non-zero detection words in [k0, k1)) defined, so
 * every variant runs the same logic and gives identical output. */
#include <stdint.h>

#include "dst_sift.h"

/* OR the low n bits of v (clean above n) into plane at bit position *pos; planes are zeroed on
 * reset and have one spare word, so the spill into the next word is written unconditionally
 * (it is zero when nothing spills): no branch to mispredict. */
static inline void sift_append(uint64_t *plane, size_t *pos, uint64_t v, unsigned n)
{
	size_t p = *pos;
	unsigned s = (unsigned)(p & 63);
	plane[p >> 6] |= v << s;
	plane[(p >> 6) + 1] |= (v >> 1) >> (63 - s);
	*pos = p + n;
}

/* 64 bits of a plane starting at bit pos (pos + 63 inside the plane). */
static inline uint64_t sift_load(const uint64_t *plane, size_t pos)
{
	unsigned s = (unsigned)(pos & 63);
	uint64_t v = plane[pos >> 6] >> s;
	if (s)
		v |= plane[(pos >> 6) + 1] << (64 - s);
	return v;
}

struct sift_word {
	uint64_t ab, abit, lo, hi, bb, bbit;
};

/* The block's write positions and counters, copied into locals for the duration of a call so
 * they live in registers rather than behind the block pointer. */
struct sift_state {
	uint64_t *ka, *kb, *ta, *tb, *tlo, *thi;
	size_t kpos, tpos, cap_key, cap_test;
	uint64_t n_key[3], n_test[3], m_key[3], m_test[3], events;
};

static inline void sift_state_load(struct sift_state *s, const struct dst_sift_block *b)
{
	s->ka = b->key_a;
	s->kb = b->key_b;
	s->ta = b->test_a;
	s->tb = b->test_b;
	s->tlo = b->test_cls_lo;
	s->thi = b->test_cls_hi;
	s->kpos = b->key_bits;
	s->tpos = b->test_bits;
	s->cap_key = b->cap_key;
	s->cap_test = b->cap_test;
	for (int k = 0; k < 3; k++) {
		s->n_key[k] = 0;
		s->n_test[k] = 0;
		s->m_key[k] = 0;
		s->m_test[k] = 0;
	}
	s->events = 0;
}

static inline void sift_state_store(const struct sift_state *s, struct dst_sift_block *b)
{
	b->key_bits = s->kpos;
	b->test_bits = s->tpos;
	for (int k = 0; k < 3; k++) {
		b->c.n_key[k] += s->n_key[k];
		b->c.n_test[k] += s->n_test[k];
		b->c.m_key[k] += s->m_key[k];
		b->c.m_test[k] += s->m_test[k];
	}
	b->c.events += s->events;
}

/* Sift the events selected by 'valid' (a chunk of up to 64 in one word). Returns 0, or 1 without
 * touching the state when the chunk's matches do not fit (the caller then goes event by event). */
static inline int sift_chunk(struct sift_state *s, const struct sift_word *w, uint64_t valid)
{
	uint64_t ok = valid & ~(w->lo & w->hi); /* class 3 does not exist: such events are dropped */
	uint64_t z = ok & ~(w->ab | w->bb), x = ok & w->ab & w->bb;
	unsigned nz = (unsigned)SIFT_POPCNT(z), nx = (unsigned)SIFT_POPCNT(x);
	if (s->kpos + nz > s->cap_key || s->tpos + nx > s->cap_test)
		return 1;
	size_t kp = s->kpos;
	sift_append(s->ka, &kp, SIFT_PEXT(w->abit, z), nz);
	sift_append(s->kb, &s->kpos, SIFT_PEXT(w->bbit, z), nz);
	if (x) { /* test matches are the rare case on sparse dense planes */
		size_t tp = s->tpos, tp2 = s->tpos, tp3 = s->tpos;
		sift_append(s->ta, &tp, SIFT_PEXT(w->abit, x), nx);
		sift_append(s->tlo, &tp2, SIFT_PEXT(w->lo, x), nx);
		sift_append(s->thi, &tp3, SIFT_PEXT(w->hi, x), nx);
		sift_append(s->tb, &s->tpos, SIFT_PEXT(w->bbit, x), nx);
	}
	uint64_t e = w->abit ^ w->bbit;
	uint64_t c1 = w->lo & ~w->hi, c2 = w->hi & ~w->lo;
	unsigned z1 = (unsigned)SIFT_POPCNT(z & c1), z2 = (unsigned)SIFT_POPCNT(z & c2);
	unsigned x1 = (unsigned)SIFT_POPCNT(x & c1), x2 = (unsigned)SIFT_POPCNT(x & c2);
	uint64_t ze = z & e, xe = x & e;
	unsigned ze0 = (unsigned)SIFT_POPCNT(ze), ze1 = (unsigned)SIFT_POPCNT(ze & c1),
		 ze2 = (unsigned)SIFT_POPCNT(ze & c2);
	unsigned xe0 = (unsigned)SIFT_POPCNT(xe), xe1 = (unsigned)SIFT_POPCNT(xe & c1),
		 xe2 = (unsigned)SIFT_POPCNT(xe & c2);
	s->n_key[0] += nz - z1 - z2;
	s->n_key[1] += z1;
	s->n_key[2] += z2;
	s->n_test[0] += nx - x1 - x2;
	s->n_test[1] += x1;
	s->n_test[2] += x2;
	s->m_key[0] += ze0 - ze1 - ze2;
	s->m_key[1] += ze1;
	s->m_key[2] += ze2;
	s->m_test[0] += xe0 - xe1 - xe2;
	s->m_test[1] += xe1;
	s->m_test[2] += xe2;
	s->events += (uint64_t)SIFT_POPCNT(valid);
	return 0;
}

/* Event by event through a chunk that may not fit: returns the bit index (0..64) of the first
 * event of 'valid' that did not fit, or 64 when all did. */
static inline unsigned sift_chunk_slow(struct sift_state *s, const struct sift_word *w,
				       uint64_t valid)
{
	while (valid) {
		uint64_t one = valid & (0 - valid);
		if (sift_chunk(s, w, one))
			return (unsigned)__builtin_ctzll(one);
		valid ^= one;
	}
	return 64;
}

static size_t SIFT_FN(events)(struct dst_sift_block *b, const struct dst_events *ev, size_t from)
{
	size_t n = ev->n, i = from, words = (n + 63) / 64;
	const uint64_t *restrict pab = ev->a_basis, *restrict pabit = ev->a_bit,
			       *restrict plo = ev->cls_lo, *restrict phi = ev->cls_hi,
			       *restrict pbb = ev->b_basis,
			       *restrict pbbit = ev->b_bit ? ev->b_bit : ev->a_bit;
	struct sift_state s;
	sift_state_load(&s, b);
	while (i < n) {
		unsigned cnt = n - i >= 64 ? 64 : (unsigned)(n - i);
		struct sift_word w;
		uint64_t valid = cnt == 64 ? ~0ULL : (1ULL << cnt) - 1;
		if (((i + 63) >> 6) < words) { /* the 64-bit window lies inside the planes */
			w.ab = sift_load(pab, i);
			w.abit = sift_load(pabit, i);
			w.lo = sift_load(plo, i);
			w.hi = sift_load(phi, i);
			w.bb = sift_load(pbb, i);
			w.bbit = sift_load(pbbit, i);
		} else { /* tail inside the last word */
			unsigned sh = (unsigned)(i & 63);
			size_t k = i >> 6;
			w.ab = pab[k] >> sh;
			w.abit = pabit[k] >> sh;
			w.lo = plo[k] >> sh;
			w.hi = phi[k] >> sh;
			w.bb = pbb[k] >> sh;
			w.bbit = pbbit[k] >> sh;
		}
		w.abit &= valid;
		w.bbit &= valid;
		if (sift_chunk(&s, &w, valid)) {
			unsigned stop = sift_chunk_slow(&s, &w, valid);
			if (stop < cnt) {
				i += stop;
				sift_state_store(&s, b);
				if (ev->slot && ev->slot[i] > b->c.slot_end)
					b->c.slot_end = ev->slot[i];
				return i;
			}
		}
		i += cnt;
	}
	sift_state_store(&s, b);
	if (ev->slot && n > from && ev->slot[n - 1] + 1 > b->c.slot_end)
		b->c.slot_end = ev->slot[n - 1] + 1;
	return n;
}

static size_t SIFT_FN(planes)(struct dst_sift_block *b, const struct dst_planes *pl, size_t from)
{
	size_t n = pl->nslots;
	if (from >= n) {
		b->c.slot_end = pl->slot0 + n;
		return n;
	}
	size_t words = (n + 63) / 64;
	const uint64_t *restrict det = pl->det, *restrict pab = pl->a_basis,
			       *restrict pabit = pl->a_bit, *restrict plo = pl->cls_lo,
			       *restrict phi = pl->cls_hi, *restrict pbb = pl->b_basis,
			       *restrict pbbit = pl->b_bit ? pl->b_bit : pl->a_bit;
	struct sift_state s;
	sift_state_load(&s, b);
	/* Work through the window in batches: first list the words with clicks (branch-free, so
	 * sparse clicks cost no mispredictions), then sift those words. */
	uint32_t idx[256 + 4]; /* spare entries for SIFT_LIST's whole-vector stores */
	for (size_t k0 = from >> 6; k0 < words; k0 += 256) {
		size_t k1 = k0 + 256 < words ? k0 + 256 : words;
		unsigned cnt = SIFT_LIST(det, k0, k1, idx);
		for (unsigned j = 0; j < cnt; j++) {
			size_t k = k0 + idx[j];
			uint64_t valid = det[k];
			if (k == (from >> 6))
				valid &= ~0ULL << (from & 63);
			if (k == words - 1 && (n & 63))
				valid &= (1ULL << (n & 63)) - 1;
			struct sift_word w = {pab[k], pabit[k] & valid, plo[k], phi[k], pbb[k],
					      pbbit[k] & valid};
			if (sift_chunk(&s, &w, valid)) {
				unsigned stop = sift_chunk_slow(&s, &w, valid);
				if (stop < 64) {
					size_t pos = k * 64 + stop;
					sift_state_store(&s, b);
					b->c.slot_end = pl->slot0 + pos;
					return pos;
				}
			}
		}
	}
	sift_state_store(&s, b);
	b->c.slot_end = pl->slot0 + n;
	return n;
}
