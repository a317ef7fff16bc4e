/* Cascade, Alice's side: answers Bob's parity requests from her (never changing) key. */
#include <errno.h>
#include <stdlib.h>

#include "cascade_internal.h"

enum { A_IDLE, A_WAIT_INIT, A_RUNNING, A_DONE };

struct dst_cascade_alice {
	struct cas_plan pl;
	int state;
	const uint64_t *src;
	uint64_t n_bits;
	uint32_t frames;
	uint32_t round;
	struct dst_cascade_params par;
	uint64_t *key;   /* frames x nw: each frame word-aligned, padding zero */
	uint64_t *copy;  /* frames x passes x nw: pass-order copies, built on demand */
	uint8_t *built;  /* frames x passes */
	uint8_t *bpar;   /* block parities of one pass */
	struct dst_cascade_stats st;
};

size_t dst_cascade_max_msg(const struct dst_cascade_cfg *cfg)
{
	uint64_t n = cfg->frame_bits, f = cfg->max_frames;
	uint64_t p = cfg->max_passes ? cfg->max_passes : 16;
	/* Every node of one level per frame and pass, in the worst case (at most 5 bytes each). */
	uint64_t query = CAS_HDR + 4 + f * (p * 24 * CAS_GROUP_HDR + CAS_VARINT_MAX * ((n + 1) / 2));
	uint64_t init_ans = CAS_HDR + (f * p * ((n + 1) / 2) + 7) / 8;
	uint64_t init = CAS_HDR + CAS_INIT_FIXED + DST_CASCADE_MAX_PASSES;
	uint64_t m = query > init_ans ? query : init_ans;
	return (size_t)(m > init ? m : init) + 64;
}

struct dst_cascade_alice *dst_cascade_alice_create(const struct dst_cascade_cfg *cfg)
{
	struct dst_cascade_alice *a = calloc(1, sizeof(*a));
	if (!a)
		return NULL;
	if (cas_plan_init(&a->pl, cfg)) {
		free(a);
		return NULL;
	}
	size_t nw = a->pl.nw, F = a->pl.max_frames, P = a->pl.passes;
	a->key = aligned_alloc(64, ((F * nw * 8) + 63) / 64 * 64);
	a->copy = aligned_alloc(64, ((F * P * nw * 8) + 63) / 64 * 64);
	a->built = calloc(F * P, 1);
	a->bpar = malloc(a->pl.n / 2 + 2);
	if (!a->key || !a->copy || !a->built || !a->bpar) {
		dst_cascade_alice_free(a);
		return NULL;
	}
	return a;
}

void dst_cascade_alice_free(struct dst_cascade_alice *a)
{
	if (!a)
		return;
	size_t nw = a->pl.nw, F = a->pl.max_frames, P = a->pl.passes;
	if (a->key)
		explicit_bzero(a->key, F * nw * 8);
	if (a->copy)
		explicit_bzero(a->copy, F * P * nw * 8);
	free(a->key);
	free(a->copy);
	free(a->built);
	free(a->bpar);
	cas_plan_fini(&a->pl);
	free(a);
}

int dst_cascade_alice_begin(struct dst_cascade_alice *a, const uint64_t *key, uint64_t n_bits)
{
	if (!a || !key || n_bits == 0 || n_bits > (uint64_t)a->pl.n * a->pl.max_frames)
		return -EINVAL;
	a->src = key;
	a->n_bits = n_bits;
	a->frames = (uint32_t)((n_bits + a->pl.n - 1) / a->pl.n);
	a->round = 0;
	a->state = A_WAIT_INIT;
	memset(&a->st, 0, sizeof(a->st));
	a->st.bits = n_bits;
	a->st.frames = a->frames;
	return 0;
}

static uint64_t *frame_key(struct dst_cascade_alice *a, uint32_t f) { return a->key + (size_t)f * a->pl.nw; }
static uint64_t *frame_copy(struct dst_cascade_alice *a, uint32_t f, unsigned j)
{
	return a->copy + ((size_t)f * a->pl.passes + j) * a->pl.nw;
}

static int on_init(struct dst_cascade_alice *a, const uint8_t *in, size_t in_len, uint8_t *out,
		   size_t cap, size_t *out_len)
{
	if (in_len < CAS_HDR + CAS_INIT_FIXED)
		return -EPROTO;
	uint32_t count = cas_get32(in + 8);
	const uint8_t *b = in + CAS_HDR;
	uint32_t passes = cas_get32(b + 24);
	if (count != passes || passes > DST_CASCADE_MAX_PASSES ||
	    in_len != CAS_HDR + CAS_INIT_FIXED + passes || cas_get32(b) != a->pl.n ||
	    cas_get32(b + 4) != a->frames || cas_get64(b + 8) != a->n_bits ||
	    cas_get64(b + 16) != a->pl.seed || cas_get32(b + 28) != 0)
		return -EPROTO;
	struct dst_cascade_params p = {.passes = passes};
	memcpy(p.log2_block, b + CAS_INIT_FIXED, passes);
	if (cas_params_check(&a->pl, &p))
		return -EPROTO;
	uint64_t total = 0;
	for (unsigned j = 0; j < passes; j++)
		total += cas_nblocks(&a->pl, p.log2_block[j]) - (j > 0);
	total *= a->frames;
	if (cap < CAS_HDR + (total + 7) / 8)
		return -ENOSPC;
	a->par = p;
	/* Frames word-aligned with zero padding; pass copies rebuilt for this key. */
	uint32_t n = a->pl.n;
	for (uint32_t f = 0; f < a->frames; f++) {
		uint64_t from = (uint64_t)f * n, len = a->n_bits - from < n ? a->n_bits - from : n;
		uint64_t *k = frame_key(a, f);
		memset(k, 0, a->pl.nw * 8);
		cas_bits_extract(k, a->src, from, len);
	}
	memset(a->built, 0, (size_t)a->frames * a->pl.passes);
	uint8_t *body = out + CAS_HDR;
	memset(body, 0, (total + 7) / 8);
	uint64_t bit = 0;
	for (uint32_t f = 0; f < a->frames; f++) {
		for (unsigned j = 0; j < passes; j++) {
			unsigned lb = p.log2_block[j];
			uint32_t nb = cas_nblocks(&a->pl, lb);
			cas_block_parities(&a->pl, j, lb, frame_key(a, f), frame_copy(a, f, j),
					   &a->built[(size_t)f * a->pl.passes + j], a->bpar);
			/* After the first pass the last block's parity follows from the frame parity. */
			uint32_t send = nb - (j > 0);
			for (uint32_t m = 0; m < send; m++, bit++)
				body[bit >> 3] |= (uint8_t)(a->bpar[m] << (bit & 7));
		}
	}
	a->round = 1;
	cas_put_hdr(out, CAS_MSG_PARITY, 0, (uint32_t)total);
	*out_len = CAS_HDR + (total + 7) / 8;
	a->st.leak_bits += total;
	a->st.rounds++;
	a->state = A_RUNNING;
	return DST_CASCADE_CONTINUE;
}

/* Walks a QUERY body; with answer set, writes the parities (validation pass first). */
static int walk_query(struct dst_cascade_alice *a, const uint8_t *p, const uint8_t *end,
		      uint32_t count, uint8_t *answer)
{
	if (end - p < 4)
		return -EPROTO;
	uint32_t groups = cas_get32(p), seen = 0;
	p += 4;
	for (uint32_t g = 0; g < groups; g++) {
		if (end - p < CAS_GROUP_HDR)
			return -EPROTO;
		uint32_t f = cas_get16(p), j = p[2], l = p[3], k = cas_get32(p + 4);
		p += CAS_GROUP_HDR;
		if (f >= a->frames || j >= a->par.passes || l >= a->par.log2_block[j] || k == 0 ||
		    k > count - seen)
			return -EPROTO;
		uint64_t *c = frame_copy(a, f, j), idx = 0;
		uint8_t *built = &a->built[(size_t)f * a->pl.passes + j];
		if (answer && !*built) {
			cas_k->gather(c, frame_key(a, f), a->pl.perm[j], a->pl.n);
			*built = 1;
		}
		for (uint32_t i = 0; i < k; i++) {
			uint32_t v;
			if (!(p = cas_get_varint(p, end, &v)))
				return -EPROTO;
			idx = i ? idx + 1 + v : v;
			if ((idx << l) >= a->pl.n)
				return -EPROTO;
			if (answer) {
				uint64_t s = idx << l, t = s + (1ull << l);
				uint32_t bit = seen + i;
				answer[bit >> 3] |= (uint8_t)(cas_parity_range(c, s, t < a->pl.n ? t : a->pl.n)
							      << (bit & 7));
			}
		}
		seen += k;
	}
	return p == end && seen == count ? 0 : -EPROTO;
}

static int on_query(struct dst_cascade_alice *a, const uint8_t *in, size_t in_len, uint8_t *out,
		    size_t cap, size_t *out_len)
{
	uint32_t count = cas_get32(in + 8);
	if (count == 0 || count > (uint64_t)a->frames * a->pl.n)
		return -EPROTO;
	/* Validate the whole request before answering any of it. */
	if (walk_query(a, in + CAS_HDR, in + in_len, count, NULL))
		return -EPROTO;
	if (cap < CAS_HDR + ((uint64_t)count + 7) / 8)
		return -ENOSPC;
	uint8_t *body = out + CAS_HDR;
	memset(body, 0, (count + 7) / 8);
	walk_query(a, in + CAS_HDR, in + in_len, count, body);
	cas_put_hdr(out, CAS_MSG_PARITY, a->round, count);
	*out_len = CAS_HDR + (count + 7) / 8;
	a->round++;
	a->st.leak_bits += count;
	a->st.rounds++;
	return DST_CASCADE_CONTINUE;
}

static int on_done(struct dst_cascade_alice *a, const uint8_t *in, size_t in_len)
{
	if (in_len != CAS_HDR + CAS_DONE_BODY || cas_get32(in + 8) != 0)
		return -EPROTO;
	if (cas_get64(in + CAS_HDR) != a->st.leak_bits)
		return -EPROTO;
	a->st.bits_corrected = cas_get64(in + CAS_HDR + 8);
	a->state = A_DONE;
	/* The frame and pass copies are key material: wipe them now, not at the next key. */
	explicit_bzero(a->key, (size_t)a->frames * a->pl.nw * 8);
	explicit_bzero(a->copy, (size_t)a->frames * a->pl.passes * a->pl.nw * 8);
	return DST_CASCADE_DONE;
}

int dst_cascade_alice_step(struct dst_cascade_alice *a, const uint8_t *in, size_t in_len,
			   uint8_t *out, size_t out_cap, size_t *out_len)
{
	if (!a || !out_len || (a->state != A_WAIT_INIT && a->state != A_RUNNING))
		return -EINVAL;
	*out_len = 0;
	if (!in || in_len < CAS_HDR || in[1] != CAS_VERSION || in[2] || in[3] ||
	    cas_get32(in + 4) != a->round)
		return -EPROTO;
	int rc;
	if (a->state == A_WAIT_INIT)
		rc = in[0] == CAS_MSG_INIT ? on_init(a, in, in_len, out, out_cap, out_len) : -EPROTO;
	else if (in[0] == CAS_MSG_QUERY)
		rc = on_query(a, in, in_len, out, out_cap, out_len);
	else if (in[0] == CAS_MSG_DONE)
		rc = on_done(a, in, in_len);
	else
		rc = -EPROTO;
	if (rc >= 0)
		a->st.msg_bytes += in_len + *out_len;
	else if (rc == -EPROTO)
		a->state = A_IDLE;
	return rc;
}

void dst_cascade_alice_stats(const struct dst_cascade_alice *a, struct dst_cascade_stats *s)
{
	*s = a->st;
}
