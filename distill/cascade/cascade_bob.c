/* Cascade, Bob's side: decides which parities to ask, corrects his key, cascades back.
 *
 * Per frame and pass Bob keeps an implicit binary tree over the pass order (level l, node m
 * covers positions [m 2^l, (m+1) 2^l)) with three bits per node: known (Alice's parity of the
 * node is known or implied), diff (Alice's parity differs from Bob's current one) and queued
 * (the node is in the candidate list). A frontier node is known with unknown children; an odd
 * frontier node holds an error, and asking its left child's parity moves the frontier down.
 * A correction toggles diff on every known ancestor of the bit in every pass, which is how
 * corrections cascade back. */
#include <errno.h>
#include <stdlib.h>

#include "cascade_internal.h"

enum { B_IDLE, B_START, B_WAIT_INIT, B_WAIT_PARITY, B_DONE };

/* Candidate node: pass (5 bits) | level (5 bits) | index (22 bits). */
#define CAND(j, l, m) ((uint32_t)(j) << 27 | (uint32_t)(l) << 22 | (uint32_t)(m))
#define CAND_J(c) ((c) >> 27)
#define CAND_L(c) (((c) >> 22) & 31)
#define CAND_M(c) ((c) & 0x3FFFFF)

struct bframe {
	uint64_t *key;   /* nw words, corrected in place */
	uint64_t *copy;  /* passes x nw pass-order copies */
	uint64_t *tree;  /* passes x 3 x tree_words: known, diff, queued */
	uint32_t *cand;  /* passes x pcap candidate nodes (level >= 1), one list per pass */
	uint32_t *nc;    /* entries per pass list (stale ones included until filtered) */
	uint32_t *leaf;  /* pending single-bit corrections (level-0 nodes) */
	uint32_t nleaf;
	uint8_t overflow; /* a list was full: rescan before the frame is finished */
	uint8_t *built;  /* passes */
	uint8_t *deep;   /* passes: copy built or nodes below the blocks known */
	uint32_t cursor; /* highest pass whose blocks are searched */
	uint8_t done, rescanned;
	uint32_t wave;
	uint64_t corrected;
};

struct dst_cascade_bob {
	struct cas_plan pl;
	int state;
	uint64_t n_bits;
	uint32_t frames;
	uint32_t round;
	struct dst_cascade_params par;
	uint32_t tree_words;
	uint32_t off[DST_CASCADE_MAX_PASSES][32]; /* bit offset of level l in pass j's tree */
	struct bframe *fr;
	uint64_t *out_key;
	uint8_t *bpar;
	uint32_t *sent; /* candidates asked this round, in message order (with sent_frame) */
	uint16_t *sent_frame;
	uint32_t nsent, sent_cap;
	uint32_t max_rounds;
	uint32_t pcap; /* capacity of each pass list and of the leaf list */
	uint32_t *scratch; /* pcap entries */
	struct dst_cascade_stats st;
};

static inline uint64_t *t_known(struct dst_cascade_bob *b, struct bframe *F, unsigned j)
{
	return F->tree + (size_t)j * 3 * b->tree_words;
}
static inline uint64_t *t_diff(struct dst_cascade_bob *b, struct bframe *F, unsigned j)
{
	return t_known(b, F, j) + b->tree_words;
}
static inline uint64_t *t_queued(struct dst_cascade_bob *b, struct bframe *F, unsigned j)
{
	return t_known(b, F, j) + 2 * (size_t)b->tree_words;
}
static inline uint64_t nodei(struct dst_cascade_bob *b, unsigned j, unsigned l, uint32_t m)
{
	return b->off[j][l] + m;
}
static inline bool node_exists(struct dst_cascade_bob *b, unsigned l, uint64_t m)
{
	return (m << l) < b->pl.n;
}

struct dst_cascade_bob *dst_cascade_bob_create(const struct dst_cascade_cfg *cfg)
{
	struct dst_cascade_bob *b = calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	if (cas_plan_init(&b->pl, cfg)) {
		free(b);
		return NULL;
	}
	size_t nw = b->pl.nw, P = b->pl.passes, F = b->pl.max_frames;
	b->tree_words = (uint32_t)((2ull * b->pl.n + 64 * 32) / 64 + 1);
	/* Odd frontier nodes of one pass are disjoint and each holds an error: n/8 covers QBERs far
	 * past any abort threshold; beyond that a full list only costs a rescan. */
	b->pcap = b->pl.n / 8 + 256;
	b->fr = calloc(F, sizeof(*b->fr));
	b->scratch = malloc(sizeof(uint32_t) * b->pcap);
	b->out_key = aligned_alloc(64, (F * nw * 8 + 63) / 64 * 64);
	b->bpar = malloc(b->pl.n / 2 + 2);
	b->sent_cap = (uint32_t)(F * ((b->pl.n + 1) / 2));
	b->sent = malloc(sizeof(uint32_t) * b->sent_cap);
	b->sent_frame = malloc(sizeof(uint16_t) * b->sent_cap);
	if (!b->fr || !b->scratch || !b->out_key || !b->bpar || !b->sent || !b->sent_frame)
		goto fail;
	for (size_t f = 0; f < F; f++) {
		struct bframe *fr = &b->fr[f];
		fr->key = aligned_alloc(64, (nw * 8 + 63) / 64 * 64);
		fr->copy = aligned_alloc(64, (P * nw * 8 + 63) / 64 * 64);
		fr->tree = calloc(P * 3 * b->tree_words, 8);
		fr->cand = malloc(sizeof(uint32_t) * b->pcap * P);
		fr->nc = calloc(P, sizeof(uint32_t));
		fr->leaf = malloc(sizeof(uint32_t) * b->pcap);
		fr->built = calloc(P, 1);
		fr->deep = calloc(P, 1);
		if (!fr->key || !fr->copy || !fr->tree || !fr->cand || !fr->nc || !fr->leaf || !fr->built ||
		    !fr->deep)
			goto fail;
	}
	return b;
fail:
	dst_cascade_bob_free(b);
	return NULL;
}

void dst_cascade_bob_free(struct dst_cascade_bob *b)
{
	if (!b)
		return;
	size_t nw = b->pl.nw, P = b->pl.passes, F = b->pl.max_frames;
	if (b->fr) {
		for (size_t f = 0; f < F; f++) {
			struct bframe *fr = &b->fr[f];
			if (fr->key)
				explicit_bzero(fr->key, nw * 8);
			if (fr->copy)
				explicit_bzero(fr->copy, P * nw * 8);
			free(fr->key);
			free(fr->copy);
			free(fr->tree);
			free(fr->cand);
			free(fr->nc);
			free(fr->leaf);
			free(fr->built);
			free(fr->deep);
		}
	}
	if (b->out_key)
		explicit_bzero(b->out_key, F * nw * 8);
	free(b->fr);
	free(b->scratch);
	free(b->out_key);
	free(b->bpar);
	free(b->sent);
	free(b->sent_frame);
	cas_plan_fini(&b->pl);
	free(b);
}

int dst_cascade_bob_begin(struct dst_cascade_bob *b, const uint64_t *key, uint64_t n_bits,
			  const struct dst_cascade_params *p)
{
	if (!b || !key || !p || n_bits == 0 || n_bits > (uint64_t)b->pl.n * b->pl.max_frames ||
	    cas_params_check(&b->pl, p) || p->schedule > DST_CASCADE_CONCURRENT)
		return -EINVAL;
	b->par = *p;
	b->n_bits = n_bits;
	b->frames = (uint32_t)((n_bits + b->pl.n - 1) / b->pl.n);
	b->round = 0;
	memset(&b->st, 0, sizeof(b->st));
	b->st.bits = n_bits;
	b->st.frames = b->frames;
	b->max_rounds = 64 * 24 * (p->passes + 4);
	for (unsigned j = 0; j < p->passes; j++) {
		uint64_t o = 0;
		for (unsigned l = 0; l <= p->log2_block[j]; l++) {
			b->off[j][l] = (uint32_t)o;
			o += cas_nblocks(&b->pl, l);
		}
	}
	size_t nw = b->pl.nw;
	for (uint32_t f = 0; f < b->frames; f++) {
		struct bframe *F = &b->fr[f];
		uint64_t from = (uint64_t)f * b->pl.n;
		uint64_t len = n_bits - from < b->pl.n ? n_bits - from : b->pl.n;
		memset(F->key, 0, nw * 8);
		cas_bits_extract(F->key, key, from, len);
		for (unsigned j = 0; j < p->passes; j++) {
			size_t used = (b->off[j][p->log2_block[j]] + cas_nblocks(&b->pl, p->log2_block[j]) + 63) / 64;
			for (int t = 0; t < 3; t++)
				memset(t_known(b, F, j) + (size_t)t * b->tree_words, 0, used * 8);
		}
		memset(F->built, 0, b->pl.passes);
		memset(F->deep, 0, b->pl.passes);
		memset(F->nc, 0, sizeof(uint32_t) * b->pl.passes);
		F->nleaf = 0;
		F->overflow = 0;
		F->cursor = 0;
		F->wave = 0;
		F->done = 0;
		F->rescanned = 0;
		F->corrected = 0;
	}
	b->state = B_START;
	return 0;
}

/* Queue an odd frontier node; a node whose right half lies beyond the frame has the parity of
 * its left half, so it is replaced by that without asking. */
static void add_cand(struct dst_cascade_bob *b, struct bframe *F, unsigned j, unsigned l, uint32_t m)
{
	uint64_t *known = t_known(b, F, j), *diff = t_diff(b, F, j), *queued = t_queued(b, F, j);
	while (l > 0 && !node_exists(b, l - 1, 2ull * m + 1)) {
		if (cas_bit(queued, nodei(b, j, l, m)))
			return;
		uint64_t li = nodei(b, j, l - 1, 2 * m);
		F->deep[j] = 1;
		cas_setbit(known, li);
		cas_putbit(diff, li, cas_bit(diff, nodei(b, j, l, m)));
		l--;
		m *= 2;
	}
	uint64_t i = nodei(b, j, l, m);
	if (cas_bit(queued, i))
		return;
	uint32_t *n = l ? &F->nc[j] : &F->nleaf;
	if (*n >= b->pcap) {
		F->overflow = 1;
		return;
	}
	cas_setbit(queued, i);
	(l ? F->cand + (size_t)j * b->pcap : F->leaf)[(*n)++] = CAND(j, l, m);
}

/* Correct frame bit p and propagate the parity change through every pass. */
static void flip(struct dst_cascade_bob *b, struct bframe *F, uint32_t p)
{
	cas_flipbit(F->key, p);
	F->corrected++;
	for (unsigned j = 0; j < b->par.passes; j++) {
		unsigned top = b->par.log2_block[j];
		/* Half-split passes nobody searched yet: only the block parity changes, and the block
		 * is one bit of the (cache-resident) half mask instead of a random shuffle lookup. */
		if (!F->deep[j] && !F->built[j] && top == b->pl.L - 1) {
			uint32_t blk = cas_bit(b->pl.half[j], p);
			uint64_t bi = nodei(b, j, top, blk);
			cas_flipbit(t_diff(b, F, j), bi);
			if (j <= F->cursor && cas_bit(t_diff(b, F, j), bi))
				add_cand(b, F, j, top, blk);
			continue;
		}
		uint32_t pos = b->pl.inv[j][p];
		if (F->built[j])
			cas_flipbit(F->copy + (size_t)j * b->pl.nw, pos);
		uint64_t *known = t_known(b, F, j), *diff = t_diff(b, F, j);
		unsigned l = top;
		uint32_t m = pos >> top;
		cas_flipbit(diff, nodei(b, j, l, m));
		while (l > 0) {
			uint32_t c = pos >> (l - 1);
			uint64_t ci = nodei(b, j, l - 1, c);
			if (!cas_bit(known, ci))
				break;
			cas_flipbit(diff, ci);
			l--;
			m = c;
		}
		/* A known single bit that now differs would contradict Alice: left to verification. */
		if (j <= F->cursor && l > 0 && cas_bit(diff, nodei(b, j, l, m)))
			add_cand(b, F, j, l, m);
	}
}

/* Walk every known tree of the searched passes and queue odd frontier nodes nobody queued:
 * the safety net before a frame is declared finished. */
static void rescan(struct dst_cascade_bob *b, struct bframe *F)
{
	struct {
		uint8_t l;
		uint32_t m;
	} stack[64];
	for (unsigned j = 0; j <= F->cursor && j < b->par.passes; j++) {
		uint64_t *known = t_known(b, F, j), *diff = t_diff(b, F, j);
		unsigned top = b->par.log2_block[j];
		uint32_t nb = cas_nblocks(&b->pl, top);
		for (uint32_t blk = 0; blk < nb; blk++) {
			int sp = 0;
			stack[sp].l = (uint8_t)top;
			stack[sp++].m = blk;
			while (sp > 0) {
				sp--;
				unsigned l = stack[sp].l;
				uint32_t m = stack[sp].m;
				if (l > 0 && cas_bit(known, nodei(b, j, l - 1, 2 * m))) {
					stack[sp].l = (uint8_t)(l - 1);
					stack[sp++].m = 2 * m;
					if (node_exists(b, l - 1, 2ull * m + 1) &&
					    cas_bit(known, nodei(b, j, l - 1, 2 * m + 1))) {
						stack[sp].l = (uint8_t)(l - 1);
						stack[sp++].m = 2 * m + 1;
					}
				} else if (cas_bit(diff, nodei(b, j, l, m))) {
					add_cand(b, F, j, l, m);
				}
			}
		}
	}
}

/* Apply the pending single-bit corrections (each may queue more). A round ends many searches
 * at once, so the shuffle lookups of a batch are prefetched before the corrections run: they
 * are random accesses into tables far larger than the caches. */
static void apply_leaves(struct dst_cascade_bob *b, struct bframe *F)
{
	uint32_t *batch = b->scratch;
	while (F->nleaf) {
		uint32_t cnt = F->nleaf;
		memcpy(batch, F->leaf, cnt * sizeof(uint32_t));
		F->nleaf = 0;
		for (uint32_t i = 0; i < cnt; i++)
			__builtin_prefetch(&b->pl.perm[CAND_J(batch[i])][CAND_M(batch[i])]);
		for (uint32_t i = 0; i < cnt; i++) {
			uint32_t p = b->pl.perm[CAND_J(batch[i])][CAND_M(batch[i])];
			for (unsigned j = 0; j < 2 && j < b->par.passes; j++)
				__builtin_prefetch(&b->pl.inv[j][p]);
		}
		for (uint32_t i = 0; i < cnt; i++) {
			uint32_t c = batch[i];
			unsigned j = CAND_J(c);
			uint32_t m = CAND_M(c);
			uint64_t ni = nodei(b, j, 0, m);
			cas_clrbit(t_queued(b, F, j), ni);
			if (cas_bit(t_known(b, F, j), ni) && cas_bit(t_diff(b, F, j), ni) &&
			    F->corrected < b->pl.n)
				flip(b, F, b->pl.perm[j][m]);
		}
	}
}

/* Drop pass j's candidates that are no longer odd frontier nodes; returns how many remain. */
static uint32_t filter_pass(struct dst_cascade_bob *b, struct bframe *F, unsigned j)
{
	uint32_t *list = F->cand + (size_t)j * b->pcap, w = 0;
	uint64_t *known = t_known(b, F, j), *diff = t_diff(b, F, j);
	for (uint32_t i = 0; i < F->nc[j]; i++) {
		uint32_t c = list[i];
		unsigned l = CAND_L(c);
		uint32_t m = CAND_M(c);
		uint64_t ni = nodei(b, j, l, m);
		if (cas_bit(known, ni) && cas_bit(diff, ni) && !cas_bit(known, nodei(b, j, l - 1, 2 * m)))
			list[w++] = c;
		else
			cas_clrbit(t_queued(b, F, j), ni);
	}
	return F->nc[j] = w;
}

/* Bob's block parities of every pass against Alice's INIT answer. */
static int on_init_answer(struct dst_cascade_bob *b, const uint8_t *in, size_t in_len)
{
	uint64_t total = 0;
	for (unsigned j = 0; j < b->par.passes; j++)
		total += cas_nblocks(&b->pl, b->par.log2_block[j]) - (j > 0);
	total *= b->frames;
	if (in[0] != CAS_MSG_PARITY || cas_get32(in + 8) != total || in_len != CAS_HDR + (total + 7) / 8)
		return -EPROTO;
	const uint8_t *body = in + CAS_HDR;
	uint64_t bit = 0;
	for (uint32_t f = 0; f < b->frames; f++) {
		struct bframe *F = &b->fr[f];
		unsigned frame_parity = 0;
		for (unsigned j = 0; j < b->par.passes; j++) {
			unsigned lb = b->par.log2_block[j];
			uint32_t nb = cas_nblocks(&b->pl, lb);
			cas_block_parities(&b->pl, j, lb, F->key, F->copy + (size_t)j * b->pl.nw,
					   &F->built[j], b->bpar);
			uint64_t *known = t_known(b, F, j), *diff = t_diff(b, F, j);
			unsigned acc = 0;
			for (uint32_t m = 0; m < nb; m++) {
				unsigned ap;
				if (j > 0 && m == nb - 1) {
					ap = frame_parity ^ acc;
				} else {
					ap = (body[bit >> 3] >> (bit & 7)) & 1;
					bit++;
				}
				acc ^= ap;
				uint64_t ni = nodei(b, j, lb, m);
				cas_setbit(known, ni);
				cas_putbit(diff, ni, ap ^ b->bpar[m]);
			}
			if (j == 0)
				frame_parity = acc;
		}
		uint32_t nb0 = cas_nblocks(&b->pl, b->par.log2_block[0]);
		for (uint32_t m = 0; m < nb0; m++)
			if (cas_bit(t_diff(b, F, 0), nodei(b, 0, b->par.log2_block[0], m)))
				add_cand(b, F, 0, b->par.log2_block[0], m);
	}
	return 0;
}

/* Alice's answers, in the order of the entries Bob sent. */
static int on_parity(struct dst_cascade_bob *b, const uint8_t *in, size_t in_len)
{
	if (in[0] != CAS_MSG_PARITY || cas_get32(in + 8) != b->nsent ||
	    in_len != CAS_HDR + ((uint64_t)b->nsent + 7) / 8)
		return -EPROTO;
	const uint8_t *body = in + CAS_HDR;
	for (uint32_t i = 0; i < b->nsent; i++) {
		struct bframe *F = &b->fr[b->sent_frame[i]];
		uint32_t c = b->sent[i];
		unsigned j = CAND_J(c), l = CAND_L(c);
		uint32_t m = CAND_M(c);
		unsigned ans = (body[i >> 3] >> (i & 7)) & 1;
		uint64_t *known = t_known(b, F, j), *diff = t_diff(b, F, j);
		const uint64_t *copy = F->copy + (size_t)j * b->pl.nw;
		uint64_t s = (uint64_t)(2 * m) << (l - 1), t = s + (1ull << (l - 1));
		unsigned dq = ans ^ cas_parity_range(copy, s, t < b->pl.n ? t : b->pl.n);
		uint64_t qi = nodei(b, j, l - 1, 2 * m), ri = qi + 1;
		unsigned dr = cas_bit(diff, nodei(b, j, l, m)) ^ dq;
		cas_setbit(known, qi);
		cas_putbit(diff, qi, dq);
		cas_setbit(known, ri);
		cas_putbit(diff, ri, dr);
		cas_clrbit(t_queued(b, F, j), nodei(b, j, l, m));
		if (dq)
			add_cand(b, F, j, l - 1, 2 * m);
		if (dr)
			add_cand(b, F, j, l - 1, 2 * m + 1);
	}
	return 0;
}

/* Which candidates go out this round. Waves: the frame's current wave pass keeps asking until it
 * has no work (new odd nodes of that pass join), then the lowest pass with work starts the next
 * wave; searches in one pass are disjoint, so no parity is spent on an error another search is
 * about to correct. Concurrent: every candidate of every searched pass at once, fewer rounds, a
 * little more leak. */
/* Next request: every frame's candidates the schedule lets through. */
static int cmp_u32(const void *x, const void *y)
{
	uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
	return a < b ? -1 : a > b;
}

static int build_query(struct dst_cascade_bob *b, uint8_t *out, size_t cap, size_t *out_len)
{
	uint8_t *e = out + CAS_HDR + 4;
	uint32_t groups = 0;
	b->nsent = 0;
	for (uint32_t f = 0; f < b->frames; f++) {
		struct bframe *F = &b->fr[f];
		if (F->done)
			continue;
		/* Passes [lo, hi] go out this round; none when the frame is finished. */
		unsigned lo = 1, hi = 0;
		for (;;) {
			apply_leaves(b, F);
			if (b->par.schedule == DST_CASCADE_CONCURRENT) {
				for (unsigned j = 0; j <= F->cursor; j++)
					if (F->nc[j] && filter_pass(b, F, j))
						lo = 0, hi = F->cursor;
			} else if (F->nc[F->wave] && filter_pass(b, F, F->wave)) {
				lo = hi = F->wave;
			} else {
				for (unsigned j = 0; j <= F->cursor && lo > hi; j++)
					if (F->nc[j] && filter_pass(b, F, j))
						lo = hi = F->wave = j;
			}
			if (lo <= hi || F->nleaf)
				break;
			if (F->cursor + 1 < b->par.passes) {
				unsigned j = ++F->cursor, lb = b->par.log2_block[j];
				uint32_t nb = cas_nblocks(&b->pl, lb);
				for (uint32_t m = 0; m < nb; m++)
					if (cas_bit(t_diff(b, F, j), nodei(b, j, lb, m)))
						add_cand(b, F, j, lb, m);
				continue;
			}
			if (F->rescanned && !F->overflow)
				break;
			F->rescanned = 1;
			F->overflow = 0;
			rescan(b, F);
		}
		if (lo > hi && !F->nleaf) {
			F->done = 1;
			continue;
		}
		F->rescanned = 0;
		for (unsigned j = lo; j <= hi; j++) {
			const uint32_t *list = F->cand + (size_t)j * b->pcap;
			if (F->nc[j] && !F->built[j]) {
				cas_k->gather(F->copy + (size_t)j * b->pl.nw, F->key, b->pl.perm[j], b->pl.n);
				F->built[j] = 1;
			}
			/* Level then index order (the candidate code sorts so): one group per level,
			 * indices as gaps. */
			qsort(F->cand + (size_t)j * b->pcap, F->nc[j], sizeof(uint32_t), cmp_u32);
			uint8_t *grp = NULL;
			uint32_t glevel = 0, gk = 0, prev = 0;
			for (uint32_t i = 0; i < F->nc[j]; i++) {
				uint32_t c = list[i], idx = 2 * CAND_M(c);
				if ((size_t)(e - out) + CAS_GROUP_HDR + CAS_VARINT_MAX > cap ||
				    b->nsent >= b->sent_cap)
					return -ENOSPC;
				if (!grp || CAND_L(c) != glevel) {
					if (grp)
						cas_put32(grp + 4, gk);
					grp = e;
					glevel = CAND_L(c);
					gk = 0;
					cas_put16(e, (uint16_t)f);
					e[2] = (uint8_t)j;
					e[3] = (uint8_t)(glevel - 1);
					e += CAS_GROUP_HDR;
					groups++;
				}
				e = cas_put_varint(e, gk ? idx - prev - 1 : idx);
				prev = idx;
				gk++;
				b->sent[b->nsent] = c;
				b->sent_frame[b->nsent++] = (uint16_t)f;
			}
			if (grp)
				cas_put32(grp + 4, gk);
		}
	}
	if (b->nsent == 0)
		return 0;
	cas_put_hdr(out, CAS_MSG_QUERY, b->round, b->nsent);
	cas_put32(out + CAS_HDR, groups);
	*out_len = (size_t)(e - out);
	return 1;
}

int dst_cascade_bob_step(struct dst_cascade_bob *b, const uint8_t *in, size_t in_len,
			 uint8_t *out, size_t out_cap, size_t *out_len)
{
	if (!b || !out || !out_len)
		return -EINVAL;
	*out_len = 0;
	int rc;
	if (b->state == B_START) {
		if (in)
			return -EINVAL;
		size_t len = CAS_HDR + CAS_INIT_FIXED + b->par.passes;
		if (out_cap < len)
			return -ENOSPC;
		cas_put_hdr(out, CAS_MSG_INIT, 0, b->par.passes);
		uint8_t *p = out + CAS_HDR;
		cas_put32(p, b->pl.n);
		cas_put32(p + 4, b->frames);
		cas_put64(p + 8, b->n_bits);
		cas_put64(p + 16, b->pl.seed);
		cas_put32(p + 24, b->par.passes);
		cas_put32(p + 28, 0);
		memcpy(p + CAS_INIT_FIXED, b->par.log2_block, b->par.passes);
		*out_len = len;
		b->st.msg_bytes += len;
		b->state = B_WAIT_INIT;
		return DST_CASCADE_CONTINUE;
	}
	if (b->state != B_WAIT_INIT && b->state != B_WAIT_PARITY)
		return -EINVAL;
	if (!in || in_len < CAS_HDR || in[1] != CAS_VERSION || in[2] || in[3] ||
	    cas_get32(in + 4) != b->round) {
		b->state = B_IDLE;
		return -EPROTO;
	}
	rc = b->state == B_WAIT_INIT ? on_init_answer(b, in, in_len) : on_parity(b, in, in_len);
	if (rc) {
		b->state = B_IDLE;
		return rc;
	}
	b->st.leak_bits += cas_get32(in + 8);
	b->st.rounds++;
	b->st.msg_bytes += in_len;
	b->round++;
	if (b->round > b->max_rounds) {
		b->state = B_IDLE;
		return -EPROTO;
	}
	rc = build_query(b, out, out_cap, out_len);
	if (rc < 0) {
		b->state = B_IDLE;
		return rc;
	}
	if (rc > 0) {
		b->st.msg_bytes += *out_len;
		b->state = B_WAIT_PARITY;
		return DST_CASCADE_CONTINUE;
	}
	if (out_cap < CAS_HDR + CAS_DONE_BODY) {
		b->state = B_IDLE;
		return -ENOSPC;
	}
	uint64_t corrected = 0;
	memset(b->out_key, 0, (b->n_bits + 63) / 64 * 8);
	for (uint32_t f = 0; f < b->frames; f++) {
		corrected += b->fr[f].corrected;
		cas_bits_insert(b->out_key, (uint64_t)f * b->pl.n, b->fr[f].key,
				f + 1 == b->frames ? b->n_bits - (uint64_t)f * b->pl.n : b->pl.n);
	}
	b->st.bits_corrected = corrected;
	/* Only the corrected key stays: wipe the per-frame working copies. */
	for (uint32_t f = 0; f < b->frames; f++) {
		explicit_bzero(b->fr[f].key, b->pl.nw * 8);
		explicit_bzero(b->fr[f].copy, (size_t)b->pl.passes * b->pl.nw * 8);
	}
	cas_put_hdr(out, CAS_MSG_DONE, b->round, 0);
	cas_put64(out + CAS_HDR, b->st.leak_bits);
	cas_put64(out + CAS_HDR + 8, corrected);
	*out_len = CAS_HDR + CAS_DONE_BODY;
	b->st.msg_bytes += *out_len;
	b->state = B_DONE;
	return DST_CASCADE_DONE;
}

const uint64_t *dst_cascade_bob_key(const struct dst_cascade_bob *b)
{
	return b->state == B_DONE ? b->out_key : NULL;
}

void dst_cascade_bob_stats(const struct dst_cascade_bob *b, struct dst_cascade_stats *s)
{
	*s = b->st;
}
