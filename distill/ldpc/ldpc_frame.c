/* Frames: workspace, Alice's syndrome, Bob's decode loop around the dispatched sweep kernel. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dst_cpu.h"
#include "ldpc_internal.h"

/* check the word after a sweep that saw at most this many checks violated at its layers' starts
 * (a check costs a tenth of a sweep; the end of a sweep holds about a quarter of those) */
#define LDPC_CHECK_AT 64

enum { G_KEY = 0, G_PUNCT = 1, G_SHORT = 2, G_REVEALED = 3 };

struct dst_ldpc_ws {
	uint32_t n, max_m, app_stride, max_nb;
	uint64_t c2v_bytes;
	int8_t *app_buf, *c2v, *synd, *tmp, *app_out;
	uint64_t *word;
	uint8_t *gclass;

	const struct ldpc_variant *forced;
	const struct ldpc_variant *last;
	const struct dst_ldpc_code *last_code;
	/* shape of the failed decode the state holds, for dst_ldpc_bob_resume (resumable false
	 * after a success or before any decode) */
	bool resumable;
	uint32_t last_punctured, last_shortened, last_revealed;
};

/* block 0 of the APP LLRs (64 bytes of scratch before it, see struct ldpc_dec) */
static int8_t *app_blocks(const struct dst_ldpc_ws *ws)
{
	return ws->app_buf + 64;
}

static void *zalloc_aligned(size_t len)
{
	void *p = NULL;
	len = (len + 63) / 64 * 64;
	if (posix_memalign(&p, 64, len ? len : 64))
		return NULL;
	memset(p, 0, len);
	return p;
}

void dst_ldpc_ws_free(struct dst_ldpc_ws *ws)
{
	if (!ws)
		return;
	free(ws->app_buf);
	free(ws->c2v);
	free(ws->synd);
	free(ws->tmp);
	free(ws->app_out);
	free(ws->word);
	free(ws->gclass);
	free(ws);
}

struct dst_ldpc_ws *dst_ldpc_ws_create(const struct dst_ldpc_family *fam)
{
	if (!fam)
		return NULL;
	struct dst_ldpc_ws *ws = calloc(1, sizeof(*ws));
	if (!ws)
		return NULL;
	ws->n = fam->n;
	ws->max_m = fam->max_m;
	ws->max_nb = fam->max_nb;
	ws->app_stride = fam->max_z + LDPC_APP_PAD;
	ws->c2v_bytes = fam->max_edge_bytes;
	ws->app_buf = zalloc_aligned((size_t)ws->app_stride * fam->max_nb);
	ws->c2v = zalloc_aligned(ws->c2v_bytes);
	ws->synd = zalloc_aligned(fam->max_m);
	ws->tmp = zalloc_aligned(4 * 256 * 32);
	ws->app_out = zalloc_aligned(fam->n);
	ws->word = zalloc_aligned(fam->n / 8);
	ws->gclass = zalloc_aligned(fam->n / LDPC_GRAN);
	if (!ws->app_buf || !ws->c2v || !ws->synd || !ws->tmp || !ws->app_out || !ws->word ||
	    !ws->gclass) {
		dst_ldpc_ws_free(ws);
		return NULL;
	}
	return ws;
}

static bool plan_fits(const struct dst_ldpc_ws *ws, const struct dst_ldpc_plan *p)
{
	const struct dst_ldpc_code *c = p ? p->code : NULL;
	return c && c->n == ws->n && c->m <= ws->max_m && c->nb <= ws->max_nb &&
	       c->z + LDPC_APP_PAD <= ws->app_stride && (uint64_t)c->ne * c->z <= ws->c2v_bytes &&
	       p->punctured <= c->npunct_gran * LDPC_GRAN && p->shortened <= c->nshort_gran * LDPC_GRAN &&
	       p->revealed <= p->punctured && p->punctured % LDPC_GRAN == 0 &&
	       p->shortened % LDPC_GRAN == 0 && p->revealed % LDPC_GRAN == 0 &&
	       p->key_bits == c->n - p->punctured - p->shortened && p->llr > 0 &&
	       p->check_node < DST_LDPC_CN_COUNT;
}

static void mark_granules(struct dst_ldpc_ws *ws, const struct dst_ldpc_plan *p)
{
	const struct dst_ldpc_code *c = p->code;
	memset(ws->gclass, G_KEY, c->n / LDPC_GRAN);
	for (uint32_t i = 0; i < p->punctured / LDPC_GRAN; i++)
		ws->gclass[c->punct_order[i]] = i < p->revealed / LDPC_GRAN ? G_REVEALED : G_PUNCT;
	for (uint32_t i = 0; i < p->shortened / LDPC_GRAN; i++)
		ws->gclass[c->short_order[i]] = G_SHORT;
}

int dst_ldpc_alice(struct dst_ldpc_ws *ws, const struct dst_ldpc_plan *plan, const uint64_t *key,
		   const uint64_t *filler, uint64_t *syndrome)
{
	if (!ws || !plan_fits(ws, plan) || !key || !syndrome || (plan->punctured && !filler))
		return -EINVAL;
	const struct dst_ldpc_code *c = plan->code;
	ws->resumable = false; /* the granule classes below are Alice's */
	mark_granules(ws, plan);
	/* filler word i belongs to the i-th punctured granule in puncture order */
	for (uint32_t i = 0; i < plan->punctured / LDPC_GRAN; i++)
		ws->word[c->punct_order[i]] = filler[i];
	uint32_t k = 0;
	for (uint32_t w = 0; w < c->n / LDPC_GRAN; w++) {
		if (ws->gclass[w] == G_KEY)
			ws->word[w] = key[k++];
		else if (ws->gclass[w] == G_SHORT)
			ws->word[w] = 0;
	}
	return dst_ldpc_code_syndrome(c, ws->word, syndrome);
}

/* bit i of v -> byte i: 0x00 or 0xff */
static inline uint64_t spread_bits(uint8_t v)
{
	uint64_t x = v;
	x = (x | (x << 28)) & 0x0000000F0000000Full;
	x = (x | (x << 14)) & 0x0003000300030003ull;
	x = (x | (x << 7)) & 0x0101010101010101ull;
	return x * 0xff;
}

/* sign bits of 8 int8 values -> 8 bits */
static inline uint8_t gather_signs(uint64_t x)
{
	x = (x & 0x8080808080808080ull) >> 7;
	x |= x >> 7;
	x |= x >> 14;
	x |= x >> 28;
	return (uint8_t)x;
}

static void fill_word(int8_t *dst, uint64_t bits, uint8_t llr)
{
	/* +llr for a 0 bit, -llr for a 1 bit (two's complement per byte, no carries as llr >= 1) */
	uint64_t l = llr * 0x0101010101010101ull;
	for (int b = 0; b < 8; b++) {
		uint64_t m = spread_bits((uint8_t)(bits >> (8 * b)));
		uint64_t v = (l ^ m) + (m & 0x0101010101010101ull);
		memcpy(dst + 8 * b, &v, 8);
	}
}

static void hard_decisions(const struct dst_ldpc_code *c, const int8_t *app, uint32_t stride,
			   uint64_t *word)
{
	uint32_t per = c->z / 64;
	for (uint32_t col = 0; col < c->nb; col++) {
		const int8_t *a = app + (size_t)col * stride;
		for (uint32_t w = 0; w < per; w++) {
			uint64_t out = 0;
			for (int b = 0; b < 8; b++) {
				uint64_t x;
				memcpy(&x, a + 64 * w + 8 * b, 8);
				out |= (uint64_t)gather_signs(x) << (8 * b);
			}
			word[col * per + w] = out;
		}
	}
}

/* Sweep until the syndrome holds or max_iter; then Bob's corrected key (or his input). */
static void iterate(struct dst_ldpc_ws *ws, const struct dst_ldpc_plan *plan, const uint64_t *bob,
		    uint64_t *corrected, struct dst_ldpc_result *res)
{
	const struct dst_ldpc_code *c = plan->code;
	const struct ldpc_variant *v = ws->forced ? ws->forced : ldpc_variant_active();
	uint32_t z = c->z, stride = ws->app_stride;
	int8_t *app = app_blocks(ws);
	bool cap2 = plan->check_node == DST_LDPC_CN_CAP2; /* box-minus on every row, capped */
	struct ldpc_dec d = {z,	     c->mb,	  c->row_start, c->col, c->shift, app,
			     stride, ws->c2v, ws->synd,	    ws->tmp, ldpc_boxplus_corr, ldpc_boxminus_corr,
			     cap2 ? 0 : LDPC_MINUS_DC, cap2};
	ws->last = v;
	res->status = DST_LDPC_FAILED;
	res->iterations = 0;
	res->flipped = 0;
	res->leak_bits = plan->leak_bits;
	for (unsigned it = 1; it <= plan->max_iter; it++) {
		res->iterations = it;
		if (v->sweep(&d) <= LDPC_CHECK_AT && !v->check(&d)) {
			res->status = DST_LDPC_OK;
			break;
		}
	}
	if (res->status != DST_LDPC_OK) {
		if (corrected != bob)
			memcpy(corrected, bob, plan->key_bits / 8);
		return;
	}
	hard_decisions(c, app, stride, ws->word);
	uint32_t k = 0, flipped = 0;
	for (uint32_t w = 0; w < c->n / LDPC_GRAN; w++)
		if (ws->gclass[w] == G_KEY) {
			flipped += (uint32_t)__builtin_popcountll(ws->word[w] ^ bob[k]);
			corrected[k++] = ws->word[w];
		}
	res->flipped = flipped;
}

/* Revealed filler granules [from, plan->revealed / 64) as certain LLRs (+-127), with the repeated
 * head of a block kept equal to it. */
static void set_revealed(struct dst_ldpc_ws *ws, const struct dst_ldpc_plan *plan, uint32_t from,
			 const uint64_t *revealed)
{
	const struct dst_ldpc_code *c = plan->code;
	uint32_t per = c->z / 64;
	int8_t *app = app_blocks(ws);
	for (uint32_t i = from; i < plan->revealed / LDPC_GRAN; i++) {
		uint32_t w = c->punct_order[i];
		int8_t *dst = app + (size_t)(w / per) * ws->app_stride + (w % per) * 64;
		fill_word(dst, revealed[i], 127);
		if (w % per == 0)
			memcpy(dst + c->z, dst, LDPC_APP_TAIL);
		ws->gclass[w] = G_REVEALED;
	}
}

/* Remember the shape of a failed decode so that dst_ldpc_bob_resume can continue it. */
static void keep_state(struct dst_ldpc_ws *ws, const struct dst_ldpc_plan *plan,
		       const struct dst_ldpc_result *res)
{
	ws->resumable = res->status != DST_LDPC_OK;
	ws->last_punctured = plan->punctured;
	ws->last_shortened = plan->shortened;
	ws->last_revealed = plan->revealed;
}

/* Channel LLRs into every block (Bob's bits, 0 for unknown filler, certain for shortened and
 * revealed bits); then each block's head repeated after its end. */
static void channel_llrs(struct dst_ldpc_ws *ws, const struct dst_ldpc_plan *plan,
			 const uint64_t *bob, const uint64_t *revealed)
{
	const struct dst_ldpc_code *c = plan->code;
	uint32_t z = c->z, per = z / 64, stride = ws->app_stride;
	int8_t *app = app_blocks(ws);
	uint32_t k = 0;
	for (uint32_t w = 0; w < c->n / LDPC_GRAN; w++) {
		int8_t *dst = app + (size_t)(w / per) * stride + (w % per) * 64;
		switch (ws->gclass[w]) {
		case G_KEY:
			fill_word(dst, bob[k++], (uint8_t)plan->llr);
			break;
		case G_PUNCT:
		case G_REVEALED:
			memset(dst, 0, 64);
			break;
		case G_SHORT:
			memset(dst, 127, 64);
			break;
		}
	}
	set_revealed(ws, plan, 0, revealed);
	for (uint32_t col = 0; col < c->nb; col++)
		memcpy(app + (size_t)col * stride + z, app + (size_t)col * stride, LDPC_APP_TAIL);
}

int dst_ldpc_bob(struct dst_ldpc_ws *ws, const struct dst_ldpc_plan *plan, const uint64_t *bob,
		 const uint64_t *syndrome, const uint64_t *revealed, uint64_t *corrected,
		 struct dst_ldpc_result *res)
{
	if (!ws || !plan_fits(ws, plan) || !bob || !syndrome || !corrected || !res ||
	    (plan->revealed && !revealed))
		return -EINVAL;
	const struct dst_ldpc_code *c = plan->code;
	mark_granules(ws, plan);
	channel_llrs(ws, plan, bob, revealed);
	for (uint32_t i = 0; i < c->m / 8; i++) {
		uint64_t m = spread_bits((uint8_t)(syndrome[i / 8] >> (8 * (i % 8))));
		memcpy(ws->synd + 8 * i, &m, 8);
	}
	memset(ws->c2v, 0, (size_t)c->ne * c->z);
	ws->last_code = c;
	iterate(ws, plan, bob, corrected, res);
	keep_state(ws, plan, res);
	return 0;
}

int dst_ldpc_bob_resume(struct dst_ldpc_ws *ws, const struct dst_ldpc_plan *plan,
			const uint64_t *bob, const uint64_t *revealed, uint64_t *corrected,
			struct dst_ldpc_result *res)
{
	if (!ws || !plan_fits(ws, plan) || !bob || !corrected || !res || !ws->resumable ||
	    plan->code != ws->last_code || plan->punctured != ws->last_punctured ||
	    plan->shortened != ws->last_shortened || plan->revealed < ws->last_revealed ||
	    (plan->revealed > ws->last_revealed && !revealed))
		return -EINVAL;
	/* the filler revealed since the last call becomes known in the current state; the check
	 * messages stay, so the next sweeps start from where the failed decode stopped */
	set_revealed(ws, plan, ws->last_revealed / LDPC_GRAN, revealed);
	iterate(ws, plan, bob, corrected, res);
	keep_state(ws, plan, res);
	return 0;
}

int dst_ldpc_ws_force_variant(struct dst_ldpc_ws *ws, const char *name)
{
	if (!ws)
		return -EINVAL;
	if (!name) {
		ws->forced = NULL;
		return 0;
	}
	const struct ldpc_variant *v = ldpc_variant_named(name);
	if (!v)
		return strcmp(name, "generic") && strcmp(name, "avx2") ? -EINVAL : -ENOTSUP;
	ws->forced = v;
	return 0;
}

const char *dst_ldpc_ws_variant(const struct dst_ldpc_ws *ws)
{
	const struct ldpc_variant *v = ws->forced ? ws->forced : ldpc_variant_active();
	return v->name;
}

const int8_t *dst_ldpc_ws_app(const struct dst_ldpc_ws *ws, size_t *len)
{
	const struct dst_ldpc_code *c = ws->last_code;
	if (!c) {
		*len = 0;
		return ws->app_out;
	}
	for (uint32_t col = 0; col < c->nb; col++)
		memcpy(ws->app_out + (size_t)col * c->z, app_blocks(ws) + (size_t)col * ws->app_stride,
		       c->z);
	*len = c->n;
	return ws->app_out;
}

const int8_t *dst_ldpc_ws_c2v(const struct dst_ldpc_ws *ws, size_t *len)
{
	*len = ws->last_code ? (size_t)ws->last_code->ne * ws->last_code->z : 0;
	return ws->c2v;
}
