/* Sift file: header with parameters and counts, then Alice's and Bob's raw key and test bits. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dst_sift.h"

#define SFT_MAGIC "QKDSFT\0\1"
#define SFT_VERSION 1u
#define SFT_HEADER 264u
#define SFT_NPARAMS 13u

static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }
static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static uint64_t get64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }
static uint32_t get32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }

/* Same order as the event file's parameter block. */
static double *param(struct dst_link_params *p, unsigned i)
{
	double *f[] = {&p->p_z, &p->mu[0], &p->mu[1], &p->mu[2], &p->p_mu[0], &p->p_mu[1],
		       &p->p_mu[2], &p->pulse_rate_hz, &p->loss_db, &p->eta_det, &p->p_dark,
		       &p->e_mis, &p->p_ap};
	return f[i];
}

static uint64_t *count_field(struct dst_sift_counts *c, unsigned i)
{
	uint64_t *f[] = {&c->n_key[0], &c->n_key[1], &c->n_key[2], &c->n_test[0], &c->n_test[1],
			 &c->n_test[2], &c->m_test[0], &c->m_test[1], &c->m_test[2], &c->m_key[0],
			 &c->m_key[1], &c->m_key[2]};
	return f[i];
}

int dst_sift_file_encode(const struct dst_link_params *p, const struct dst_sift_block *b,
			 uint8_t **buf, size_t *len)
{
	if (!p || !b || !buf || !len || dst_link_params_check(p, NULL))
		return -EINVAL;
	size_t kw = (b->key_bits + 63) / 64, tw = (b->test_bits + 63) / 64;
	size_t total = SFT_HEADER + 16 * kw + 32 * tw;
	uint8_t *o = calloc(1, total);
	if (!o)
		return -ENOMEM;
	memcpy(o, SFT_MAGIC, 8);
	put32(o + 8, SFT_VERSION);
	put32(o + 12, SFT_HEADER);
	put64(o + 16, b->key_bits);
	put64(o + 24, b->test_bits);
	put64(o + 32, b->c.events);
	put64(o + 40, b->c.slot_begin);
	put64(o + 48, b->c.slot_end);
	put32(o + 56, p->n_classes);
	struct dst_sift_counts c = b->c;
	for (unsigned i = 0; i < 12; i++)
		put64(o + 64 + 8 * i, *count_field(&c, i));
	struct dst_link_params q = *p;
	for (unsigned i = 0; i < SFT_NPARAMS; i++)
		memcpy(o + 160 + 8 * i, param(&q, i), 8);
	uint8_t *d = o + SFT_HEADER;
	const uint64_t *planes[] = {b->key_a, b->key_b, b->test_a, b->test_b, b->test_cls_lo,
				    b->test_cls_hi};
	for (int k = 0; k < 6; k++) {
		size_t w = k < 2 ? kw : tw;
		memcpy(d, planes[k], 8 * w);
		d += 8 * w;
	}
	*buf = o;
	*len = total;
	return 0;
}

static int bad(const char **why, const char *msg)
{
	if (why)
		*why = msg;
	return -EINVAL;
}

int dst_sift_file_decode(const uint8_t *in, size_t len, struct dst_link_params *p,
			 struct dst_sift_block **out, const char **why)
{
	if (!in || !p || !out)
		return bad(why, "no input");
	*out = NULL;
	if (len < 16)
		return bad(why, "truncated header");
	if (memcmp(in, SFT_MAGIC, 8))
		return bad(why, "not a sift file (bad magic)");
	if (get32(in + 8) != SFT_VERSION)
		return bad(why, "unsupported sift-file version");
	if (get32(in + 12) != SFT_HEADER || len < SFT_HEADER)
		return bad(why, "truncated header");
	uint64_t kb = get64(in + 16), tb = get64(in + 24);
	if (kb > ((uint64_t)1 << 40) || tb > ((uint64_t)1 << 40))
		return bad(why, "bit counts out of range");
	uint64_t kw = (kb + 63) / 64, tw = (tb + 63) / 64;
	if ((uint64_t)len != SFT_HEADER + 16 * kw + 32 * tw)
		return bad(why, "file size does not match the bit counts (truncated or trailing data)");
	struct dst_link_params q;
	memset(&q, 0, sizeof(q));
	q.n_classes = get32(in + 56);
	if (get32(in + 60))
		return bad(why, "reserved header field is not zero");
	for (unsigned i = 0; i < SFT_NPARAMS; i++)
		memcpy(param(&q, i), in + 160 + 8 * i, 8);
	const char *pw;
	if (dst_link_params_check(&q, &pw))
		return bad(why, pw);
	struct dst_sift_counts c;
	memset(&c, 0, sizeof(c));
	for (unsigned i = 0; i < 12; i++)
		*count_field(&c, i) = get64(in + 64 + 8 * i);
	c.events = get64(in + 32);
	c.slot_begin = get64(in + 40);
	c.slot_end = get64(in + 48);
	uint64_t sk = 0, st = 0;
	for (unsigned k = 0; k < DST_MAX_CLASSES; k++) {
		if (c.m_key[k] > c.n_key[k] || c.m_test[k] > c.n_test[k])
			return bad(why, "more errors than matches in the counts");
		if (k >= q.n_classes && (c.n_key[k] || c.n_test[k]))
			return bad(why, "counts for an intensity class the file does not have");
		if (c.n_key[k] > ((uint64_t)1 << 40) || c.n_test[k] > ((uint64_t)1 << 40))
			return bad(why, "counts out of range");
		sk += c.n_key[k];
		st += c.n_test[k];
	}
	if (sk != kb || st != tb)
		return bad(why, "per-class counts do not add up to the bit counts");
	if (c.events < kb + tb || c.slot_end < c.slot_begin || c.slot_end - c.slot_begin < c.events)
		return bad(why, "event count or slot window inconsistent with the bits");
	const uint8_t *d = in + SFT_HEADER;
	for (int k = 0; k < 6; k++) {
		uint64_t bits = k < 2 ? kb : tb, w = k < 2 ? kw : tw;
		if ((bits & 63) && (get64(d + 8 * (w - 1)) >> (bits & 63)))
			return bad(why, "padding bits after the last bit are not zero");
		d += 8 * w;
	}
	/* The class planes of the test bits must agree with the per-class test counts. */
	const uint8_t *lo = in + SFT_HEADER + 16 * kw + 16 * tw, *hi = lo + 8 * tw;
	uint64_t per[4] = {0, 0, 0, 0};
	for (uint64_t w = 0; w < tw; w++) {
		uint64_t l = get64(lo + 8 * w), h = get64(hi + 8 * w);
		uint64_t valid = (w == tw - 1 && (tb & 63)) ? (1ULL << (tb & 63)) - 1 : ~0ULL;
		per[1] += (uint64_t)__builtin_popcountll(l & ~h);
		per[2] += (uint64_t)__builtin_popcountll(h & ~l);
		per[3] += (uint64_t)__builtin_popcountll(h & l);
		per[0] += (uint64_t)__builtin_popcountll(~(l | h) & valid);
	}
	if (per[3] || per[0] != c.n_test[0] || per[1] != c.n_test[1] || per[2] != c.n_test[2])
		return bad(why, "test-bit classes do not match the per-class test counts");
	struct dst_sift_block *b = dst_sift_block_create(kb ? kb : 1, tb ? tb : 1);
	if (!b)
		return -ENOMEM;
	d = in + SFT_HEADER;
	uint64_t *planes[] = {b->key_a, b->key_b, b->test_a, b->test_b, b->test_cls_lo,
			      b->test_cls_hi};
	for (int k = 0; k < 6; k++) {
		size_t w = k < 2 ? kw : tw;
		memcpy(planes[k], d, 8 * w);
		d += 8 * w;
	}
	b->key_bits = kb;
	b->test_bits = tb;
	b->c = c;
	*p = q;
	*out = b;
	if (why)
		*why = NULL;
	return 0;
}
