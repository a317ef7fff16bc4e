/* Sifting: block management and the CPU dispatch between the kernel variants. */
#include <stdlib.h>
#include <string.h>

#include "dst_cpu.h"
#include "sift_internal.h"

const struct dst_sift_variant dst_sift_variants[] = {
	{"generic", 0, dst_sift_events_base, dst_sift_planes_base},
	{"avx2", DST_CPU_AVX2 | DST_CPU_BMI2, dst_sift_events_avx2, dst_sift_planes_avx2},
	{NULL, 0, NULL, NULL},
};

static const struct dst_sift_variant *active = &dst_sift_variants[0];

static void sift_select(unsigned flags)
{
	active = &dst_sift_variants[0];
	for (const struct dst_sift_variant *v = dst_sift_variants; v->name; v++)
		if ((flags & v->needs) == v->needs)
			active = v;
}
DST_DISPATCH("sift", sift_select)

size_t dst_sift_events(struct dst_sift_block *b, const struct dst_events *ev, size_t from)
{
	return active->events(b, ev, from);
}

size_t dst_sift_planes(struct dst_sift_block *b, const struct dst_planes *pl, size_t from)
{
	return active->planes(b, pl, from);
}

/* One spare word so appends never need a bounds check. */
static uint64_t *bits_alloc(size_t bits)
{
	return calloc(bits / 64 + 2, sizeof(uint64_t));
}

struct dst_sift_block *dst_sift_block_create(size_t cap_key, size_t cap_test)
{
	if (!cap_key || !cap_test || cap_key > ((size_t)1 << 40) || cap_test > ((size_t)1 << 40))
		return NULL;
	struct dst_sift_block *b = calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	b->cap_key = cap_key;
	b->cap_test = cap_test;
	b->key_a = bits_alloc(cap_key);
	b->key_b = bits_alloc(cap_key);
	b->test_a = bits_alloc(cap_test);
	b->test_b = bits_alloc(cap_test);
	b->test_cls_lo = bits_alloc(cap_test);
	b->test_cls_hi = bits_alloc(cap_test);
	if (!b->key_a || !b->key_b || !b->test_a || !b->test_b || !b->test_cls_lo || !b->test_cls_hi) {
		dst_sift_block_free(b);
		return NULL;
	}
	return b;
}

void dst_sift_block_free(struct dst_sift_block *b)
{
	if (!b)
		return;
	/* Raw key material: wipe before release. */
	if (b->key_a)
		explicit_bzero(b->key_a, (b->cap_key / 64 + 2) * sizeof(uint64_t));
	if (b->key_b)
		explicit_bzero(b->key_b, (b->cap_key / 64 + 2) * sizeof(uint64_t));
	free(b->key_a);
	free(b->key_b);
	free(b->test_a);
	free(b->test_b);
	free(b->test_cls_lo);
	free(b->test_cls_hi);
	free(b);
}

void dst_sift_block_reset(struct dst_sift_block *b, uint64_t slot_begin)
{
	size_t kw = (b->key_bits + 63) / 64 + 1, tw = (b->test_bits + 63) / 64 + 1;
	explicit_bzero(b->key_a, kw * sizeof(uint64_t));
	explicit_bzero(b->key_b, kw * sizeof(uint64_t));
	memset(b->test_a, 0, tw * sizeof(uint64_t));
	memset(b->test_b, 0, tw * sizeof(uint64_t));
	memset(b->test_cls_lo, 0, tw * sizeof(uint64_t));
	memset(b->test_cls_hi, 0, tw * sizeof(uint64_t));
	b->key_bits = 0;
	b->test_bits = 0;
	memset(&b->c, 0, sizeof(b->c));
	b->c.slot_begin = slot_begin;
	b->c.slot_end = slot_begin;
}

uint64_t dst_sift_test_errors(struct dst_sift_block *b, const uint64_t *peer_test)
{
	uint64_t m[DST_MAX_CLASSES] = {0, 0, 0};
	size_t words = (b->test_bits + 63) / 64;
	for (size_t w = 0; w < words; w++) {
		uint64_t e = b->test_a[w] ^ peer_test[w];
		if (w == words - 1 && (b->test_bits & 63))
			e &= (1ULL << (b->test_bits & 63)) - 1;
		uint64_t lo = b->test_cls_lo[w], hi = b->test_cls_hi[w];
		m[1] += (uint64_t)__builtin_popcountll(e & lo & ~hi);
		m[2] += (uint64_t)__builtin_popcountll(e & hi & ~lo);
		m[0] += (uint64_t)__builtin_popcountll(e & ~(lo | hi));
	}
	for (int k = 0; k < DST_MAX_CLASSES; k++)
		b->c.m_test[k] = m[k];
	return m[0] + m[1] + m[2];
}
