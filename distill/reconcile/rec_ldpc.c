/* QC-LDPC reconciliation as a message-driven method (docs/distill_messages.md, "LDPC messages").
 *
 * Bob sends the plan (QBER estimate, target efficiency and the rate adaptation it gives); Alice,
 * having made the same plan, answers with the syndrome of every frame. Bob decodes; frames that
 * fail ask for 1/step_div of the punctured filler bits at a time (blind reconciliation). With the
 * default efficiency, ldpc_fixed unset and a QBER the blind Monte Carlo covers
 * (dst_ldpc_blind_default), the plan starts below the fixed-rate one (mother code with
 * DST_LDPC_BLIND_HEADROOM to spare) and reveals in sixteenths, each frame's decoder continuing
 * from its failed state (dst_ldpc_bob_blind, one workspace per frame, up to L_MAX_STATES);
 * otherwise it is the calibrated fixed-rate plan revealing in quarters and decoding again from the
 * channel. Frames still failing are dropped by both sides. Leak per kept frame is exact:
 * syndrome bits - punctured bits + revealed bits (dst_ldpc.h); dropped frames' bits are discarded
 * with everything disclosed about them. The key is cut into frames of plan.key_bits bits, evenly
 * filled (dst_ldpc_plan_fit): only the last one is padded, by less than 64 bits per frame, with
 * zeros known to both (its leak is counted in full). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "dst_ldpc.h"
#include "rec_ldpc.h"

enum {
	L_INIT = 0x31,   /* Bob -> Alice: plan */
	L_SYND = 0x32,   /* Alice -> Bob: syndromes of all frames */
	L_REVEAL = 0x33, /* Bob -> Alice: failed frames, filler bits wanted */
	L_FILLER = 0x34, /* Alice -> Bob: filler bits of those frames */
	L_DONE = 0x35,   /* Bob -> Alice: kept frames, leak */
};
#define L_VERSION 3 /* 3: frames evenly filled (dst_ldpc_plan_fit) */
#define L_HDR 12
#define L_INIT_BODY 80 /* u64 key bits, f64 qber, f64 f, u32 key_bits, syndrome_bits, punctured,
			  shortened, char[32] code name, u32 blind (0/1), u32 step_div */
#define L_MAX_BLIND 16 /* largest step_div: every punctured bit can be revealed */
#define L_MIN_FRAME_DIV 8 /* frames of at least n/8 key bits (else -ENOSPC at begin) */
/* Bob's resumable decoder states (~1.1 MB each at n = 2^17): frames beyond decode each blind
 * round from the channel instead (slower, same protocol) */
#define L_MAX_STATES 32

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}
static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}
static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t get64(const uint8_t *p) { return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32; }
static void hdr(uint8_t *p, unsigned type, uint32_t round, uint32_t count)
{
	p[0] = (uint8_t)type;
	p[1] = L_VERSION;
	p[2] = p[3] = 0;
	put32(p + 4, round);
	put32(p + 8, count);
}
static int check_hdr(const uint8_t *in, size_t len, uint32_t round)
{
	if (!in || len < L_HDR || in[1] != L_VERSION || in[2] || in[3] || get32(in + 4) != round)
		return -EPROTO;
	return in[0];
}

/* Bits [from, from+n) of src (total bits long) into dst, zero beyond the source's end. Frames
 * start at multiples of 64 bits (key_bits is a multiple of 64), so this is word copies. */
static void bits_get(uint64_t *dst, const uint64_t *src, uint64_t from, uint64_t n, uint64_t total)
{
	uint64_t nw = (n + 63) / 64, have = total > from ? total - from : 0;
	if (have > n)
		have = n;
	memset(dst, 0, nw * 8);
	memcpy(dst, src + from / 64, (have + 63) / 64 * 8);
	if (have & 63)
		dst[have / 64] &= ~0ULL >> (64 - (have & 63));
}
/* Write n bits of src at bit 'at' (a multiple of 64) of dst. */
static void bits_put(uint64_t *dst, uint64_t at, const uint64_t *src, uint64_t n)
{
	memcpy(dst + at / 64, src, n / 64 * 8);
	if (n & 63) {
		uint64_t m = ~0ULL >> (64 - (n & 63));
		dst[(at + n) / 64] = (dst[(at + n) / 64] & ~m) | (src[n / 64] & m);
	}
}

/* State both sides keep. */
struct side {
	struct dst_ldpc_family *fam;
	struct dst_ldpc_ws *ws;
	struct dst_ldpc_plan plan;
	uint32_t n;          /* family frame length */
	uint32_t max_frames;
	uint64_t max_bits;
	uint64_t n_bits;
	uint32_t frames, round;
	uint32_t *revealed;  /* per frame */
	uint8_t *ok;         /* per frame */
	uint64_t *frame;     /* one frame's key bits */
	uint64_t *synbuf;    /* one frame's syndrome */
	struct dst_rec_stats st;
	int state;
	int (*random)(void *, void *, size_t);
	void *random_ctx;
	double f_target;
	bool blind_wanted; /* config: blind plan when the default efficiency is asked for */
	double f_plan; /* the f field of the plan (start f when blind) */
	uint32_t blind, step_div; /* plan kind and reveal step (punctured / step_div per round) */
};

static int side_init(struct side *s, const struct dst_rec_config *cfg)
{
	char err[DST_LDPC_ERRLEN];
	if (dst_ldpc_family_load(cfg->ldpc_dir, &s->fam, err))
		return -EINVAL;
	s->n = dst_ldpc_family_n(s->fam);
	s->ws = dst_ldpc_ws_create(s->fam);
	s->max_bits = cfg->max_bits;
	s->max_frames = (uint32_t)((cfg->max_bits + s->n / L_MIN_FRAME_DIV - 1) / (s->n / L_MIN_FRAME_DIV));
	s->revealed = calloc(s->max_frames, sizeof(uint32_t));
	s->ok = calloc(s->max_frames, 1);
	s->frame = calloc(s->n / 64 + 1, 8);
	s->synbuf = calloc(s->n / 64 + 1, 8);
	s->random = cfg->random;
	s->random_ctx = cfg->random_ctx;
	s->f_target = cfg->ldpc_f;
	s->blind_wanted = !cfg->ldpc_fixed;
	return s->ws && s->revealed && s->ok && s->frame && s->synbuf ? 0 : -ENOMEM;
}

static void side_fini(struct side *s)
{
	dst_ldpc_ws_free(s->ws);
	dst_ldpc_family_free(s->fam);
	free(s->revealed);
	free(s->ok);
	if (s->frame)
		explicit_bzero(s->frame, (s->n / 64 + 1) * 8);
	free(s->frame);
	free(s->synbuf);
}

/* Bob's plan for this QBER and key length: blind start when the default efficiency is asked for
 * and the blind Monte Carlo covers the QBER, else fixed rate at f (0 = calibrated) revealing
 * quarters; then the key cut into evenly filled frames. Alice calls it with Bob's fields and must
 * get the same plan. */
static int plan_for(struct side *s, double qber, double f, uint32_t blind, uint32_t step_div,
		    uint64_t n_bits)
{
	s->blind = blind;
	s->step_div = step_div;
	s->f_plan = f;
	int rc = blind ? dst_ldpc_plan_make_blind(s->fam, qber, f, DST_LDPC_BLIND_HEADROOM, &s->plan)
		       : dst_ldpc_plan_make(s->fam, qber, f, &s->plan);
	return rc ? rc : dst_ldpc_plan_fit(s->fam, n_bits, blind, &s->plan);
}

static uint32_t reveal_step(const struct side *s)
{
	uint32_t q = s->plan.punctured / s->step_div;
	return (q + 63) / 64 * 64;
}

/* Leak of one frame with 'revealed' filler bits disclosed. */
static uint64_t frame_leak(const struct dst_ldpc_plan *p, uint32_t revealed)
{
	return (uint64_t)p->syndrome_bits - p->punctured + revealed;
}

size_t rec_ldpc_max_msg(const struct dst_rec_config *cfg)
{
	struct dst_ldpc_family *fam;
	char err[DST_LDPC_ERRLEN];
	if (dst_ldpc_family_load(cfg->ldpc_dir, &fam, err))
		return 0;
	uint64_t n = dst_ldpc_family_n(fam);
	dst_ldpc_family_free(fam);
	uint64_t frames = (cfg->max_bits + n / L_MIN_FRAME_DIV - 1) / (n / L_MIN_FRAME_DIV);
	/* Syndromes (m < n) or filler (< n) of every frame, or one entry per frame. */
	return (size_t)(L_HDR + L_INIT_BODY + frames * (n / 8 + 8) + 64);
}

/* ---- Alice ---------------------------------------------------------------------------------- */

struct rec_ldpc_alice {
	struct side s;
	const uint64_t *key;
	uint64_t *filler; /* max_frames x punctured bits (n/64 words per frame) */
};

struct rec_ldpc_alice *rec_ldpc_alice_create(const struct dst_rec_config *cfg)
{
	struct rec_ldpc_alice *a = calloc(1, sizeof(*a));
	if (!a)
		return NULL;
	if (side_init(&a->s, cfg) ||
	    !(a->filler = calloc((size_t)a->s.max_frames * (a->s.n / 64), 8))) {
		rec_ldpc_alice_free(a);
		return NULL;
	}
	return a;
}

void rec_ldpc_alice_free(struct rec_ldpc_alice *a)
{
	if (!a)
		return;
	if (a->filler)
		explicit_bzero(a->filler, (size_t)a->s.max_frames * (a->s.n / 64) * 8);
	free(a->filler);
	side_fini(&a->s);
	free(a);
}

int rec_ldpc_alice_begin(struct rec_ldpc_alice *a, const uint64_t *key, uint64_t n_bits)
{
	if (!a || !key || !n_bits || n_bits > a->s.max_bits)
		return -EINVAL;
	a->key = key;
	a->s.n_bits = n_bits;
	a->s.round = 0;
	a->s.state = 1;
	memset(&a->s.st, 0, sizeof(a->s.st));
	a->s.st.bits = n_bits;
	return 0;
}

static int fill_random(struct side *s, void *buf, size_t len)
{
	if (s->random)
		return s->random(s->random_ctx, buf, len);
	uint8_t *p = buf;
	while (len) {
		ssize_t r = getrandom(p, len, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -EIO;
		p += r;
		len -= (size_t)r;
	}
	return 0;
}

static int alice_init(struct rec_ldpc_alice *a, const uint8_t *in, size_t len, uint8_t *out,
		      size_t cap, size_t *out_len)
{
	struct side *s = &a->s;
	if (len != L_HDR + L_INIT_BODY)
		return -EPROTO;
	const uint8_t *b = in + L_HDR;
	uint32_t frames = get32(in + 8);
	double qber, f;
	uint64_t qb = get64(b + 8), fb = get64(b + 16);
	memcpy(&qber, &qb, 8);
	memcpy(&f, &fb, 8);
	uint32_t blind = get32(b + 72), step_div = get32(b + 76);
	if (get64(b) != s->n_bits || !(qber > 0 && qber < 0.5) || !(f >= 0 && f < 10) || blind > 1 ||
	    step_div < 1 || step_div > L_MAX_BLIND || (!blind && step_div != 4))
		return -EPROTO;
	if (plan_for(s, qber, f, blind, step_div, s->n_bits))
		return -EPROTO;
	char name[33] = {0};
	memcpy(name, b + 40, 32);
	struct dst_ldpc_code_info info;
	dst_ldpc_code_get_info(s->plan.code, &info);
	if (get32(b + 24) != s->plan.key_bits || get32(b + 28) != s->plan.syndrome_bits ||
	    get32(b + 32) != s->plan.punctured || get32(b + 36) != s->plan.shortened ||
	    strncmp(name, info.name, 32) || !s->plan.key_bits ||
	    frames != (s->n_bits + s->plan.key_bits - 1) / s->plan.key_bits || frames > s->max_frames)
		return -EPROTO;
	s->frames = frames;
	size_t sw = s->plan.syndrome_bits / 64, fw = s->n / 64;
	if (cap < L_HDR + (size_t)frames * sw * 8)
		return -ENOSPC;
	for (uint32_t k = 0; k < frames; k++) {
		uint64_t *fill = a->filler + (size_t)k * fw;
		if (s->plan.punctured && fill_random(s, fill, s->plan.punctured / 8))
			return -EIO;
		bits_get(s->frame, a->key, (uint64_t)k * s->plan.key_bits, s->plan.key_bits, s->n_bits);
		if (dst_ldpc_alice(s->ws, &s->plan, s->frame, fill, s->synbuf))
			return -EPROTO;
		uint8_t *dst = out + L_HDR + (size_t)k * sw * 8;
		for (size_t w = 0; w < sw; w++)
			put64(dst + 8 * w, s->synbuf[w]);
		s->revealed[k] = 0;
		s->ok[k] = 1;
	}
	explicit_bzero(s->frame, (s->n / 64 + 1) * 8);
	hdr(out, L_SYND, 0, frames);
	*out_len = L_HDR + (size_t)frames * sw * 8;
	s->round = 1;
	s->st.rounds = 1;
	s->st.frames = frames;
	return DST_REC_CONTINUE;
}

static int alice_reveal(struct rec_ldpc_alice *a, const uint8_t *in, size_t len, uint8_t *out,
			size_t cap, size_t *out_len)
{
	struct side *s = &a->s;
	uint32_t k = get32(in + 8);
	if (len != L_HDR + 4 + 4ull * k || k == 0 || k > s->frames)
		return -EPROTO;
	uint32_t upto = get32(in + L_HDR);
	if (upto == 0 || upto > s->plan.punctured || upto % 64)
		return -EPROTO;
	if (cap < L_HDR + (size_t)k * upto / 8)
		return -ENOSPC;
	const uint8_t *e = in + L_HDR + 4;
	for (uint32_t i = 0; i < k; i++) {
		uint32_t f = get32(e + 4 * i);
		if (f >= s->frames || upto <= s->revealed[f])
			return -EPROTO;
	}
	uint8_t *p = out + L_HDR;
	for (uint32_t i = 0; i < k; i++) {
		uint32_t f = get32(e + 4 * i);
		const uint64_t *fill = a->filler + (size_t)f * (s->n / 64);
		for (uint32_t w = 0; w < upto / 64; w++)
			put64(p + 8 * w, fill[w]);
		p += upto / 8;
		s->revealed[f] = upto;
	}
	hdr(out, L_FILLER, s->round, k);
	*out_len = (size_t)(p - out);
	s->round++;
	s->st.rounds++;
	return DST_REC_CONTINUE;
}

static int alice_done(struct rec_ldpc_alice *a, const uint8_t *in, size_t len)
{
	struct side *s = &a->s;
	if (get32(in + 8) != s->frames || len != L_HDR + 16 + (s->frames + 7) / 8)
		return -EPROTO;
	const uint8_t *bm = in + L_HDR + 16;
	uint64_t leak = 0, kept = 0, failed = 0;
	for (uint32_t f = 0; f < s->frames; f++) {
		s->ok[f] = (bm[f / 8] >> (f % 8)) & 1;
		if (s->ok[f]) {
			leak += frame_leak(&s->plan, s->revealed[f]);
			uint64_t from = (uint64_t)f * s->plan.key_bits;
			kept += s->n_bits - from < s->plan.key_bits ? s->n_bits - from : s->plan.key_bits;
		} else {
			failed++;
		}
	}
	if (get64(in + L_HDR) != leak)
		return -EPROTO;
	s->st.leak_bits = leak;
	s->st.kept_bits = kept;
	s->st.frames_failed = (uint32_t)failed;
	s->st.bits_corrected = get64(in + L_HDR + 8);
	s->state = 2;
	return DST_REC_DONE;
}

int rec_ldpc_alice_step(struct rec_ldpc_alice *a, const uint8_t *in, size_t in_len, uint8_t *out,
			size_t out_cap, size_t *out_len)
{
	*out_len = 0;
	if (a->s.state != 1)
		return -EINVAL;
	int t = check_hdr(in, in_len, a->s.round), rc;
	if (t == L_INIT && a->s.round == 0)
		rc = alice_init(a, in, in_len, out, out_cap, out_len);
	else if (t == L_REVEAL && a->s.round > 0)
		rc = alice_reveal(a, in, in_len, out, out_cap, out_len);
	else if (t == L_DONE && a->s.round > 0)
		rc = alice_done(a, in, in_len);
	else
		rc = -EPROTO;
	if (rc >= 0)
		a->s.st.msg_bytes += in_len + *out_len;
	else if (rc == -EPROTO)
		a->s.state = 0;
	return rc;
}

/* The kept frames of one side's key, concatenated (frames that failed are dropped on both sides). */
static int side_result(const struct side *s, const uint64_t *key, uint64_t *out, uint64_t *bits)
{
	if (s->state != 2)
		return -EINVAL;
	uint64_t at = 0;
	memset(out, 0, (s->n_bits + 63) / 64 * 8);
	for (uint32_t f = 0; f < s->frames; f++) {
		if (!s->ok[f])
			continue;
		uint64_t from = (uint64_t)f * s->plan.key_bits;
		uint64_t len = s->n_bits - from < s->plan.key_bits ? s->n_bits - from : s->plan.key_bits;
		bits_get(s->frame, key, from, len, s->n_bits);
		bits_put(out, at, s->frame, len);
		at += len;
	}
	explicit_bzero(s->frame, (s->n / 64 + 1) * 8);
	*bits = at;
	return 0;
}

int rec_ldpc_alice_result(const struct rec_ldpc_alice *a, uint64_t *out, uint64_t *bits)
{
	return side_result(&a->s, a->key, out, bits);
}

void rec_ldpc_alice_stats(const struct rec_ldpc_alice *a, struct dst_rec_stats *st)
{
	*st = a->s.st;
}

/* ---- Bob ------------------------------------------------------------------------------------ */

struct rec_ldpc_bob {
	struct side s;
	uint64_t *key;     /* Bob's bits, corrected frame by frame */
	uint64_t *synd;    /* frames x syndrome words */
	uint64_t *revbuf;  /* frames x n/64 revealed filler words */
	uint64_t *corr;    /* one frame */
	struct dst_ldpc_ws **state; /* frame f < nstate: its own decoder, resumed between rounds */
	uint32_t nstate;
	double qber;
	uint32_t blind;
};

/* Frames a blind plan cuts the largest key into, over the QBER range it is used for (its start f
 * moves smoothly with the QBER; one more for what falls between the points), at most
 * L_MAX_STATES. */
static uint32_t blind_frames_max(const struct side *s)
{
	uint64_t most = 0;
	for (double q = 0.0045; q <= 0.0805; q += 0.0005) {
		double f;
		unsigned step_div;
		struct dst_ldpc_plan p;
		if (dst_ldpc_blind_default(s->fam, q, &f, &step_div) ||
		    dst_ldpc_plan_make_blind(s->fam, q, f, DST_LDPC_BLIND_HEADROOM, &p) || !p.key_bits)
			continue;
		uint64_t frames = (s->max_bits + p.key_bits - 1) / p.key_bits + 1;
		most = frames > most ? frames : most;
	}
	return (uint32_t)(most < L_MAX_STATES ? most : L_MAX_STATES);
}

struct rec_ldpc_bob *rec_ldpc_bob_create(const struct dst_rec_config *cfg)
{
	struct rec_ldpc_bob *b = calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	if (side_init(&b->s, cfg)) {
		rec_ldpc_bob_free(b);
		return NULL;
	}
	size_t fw = b->s.n / 64, F = b->s.max_frames;
	b->key = calloc((cfg->max_bits + 63) / 64 + 1, 8);
	b->synd = calloc(F * fw, 8);
	b->revbuf = calloc(F * fw, 8);
	b->corr = calloc(fw + 1, 8);
	b->nstate = b->s.blind_wanted && b->s.f_target == 0 ? blind_frames_max(&b->s) : 0;
	b->state = calloc(b->nstate + 1, sizeof(*b->state));
	if (!b->key || !b->synd || !b->revbuf || !b->corr || !b->state) {
		rec_ldpc_bob_free(b);
		return NULL;
	}
	for (uint32_t i = 0; i < b->nstate; i++)
		if (!(b->state[i] = dst_ldpc_ws_create(b->s.fam))) {
			rec_ldpc_bob_free(b);
			return NULL;
		}
	return b;
}

void rec_ldpc_bob_free(struct rec_ldpc_bob *b)
{
	if (!b)
		return;
	if (b->key)
		explicit_bzero(b->key, (b->s.max_bits + 63) / 64 * 8);
	if (b->corr)
		explicit_bzero(b->corr, (b->s.n / 64) * 8);
	free(b->key);
	free(b->synd);
	free(b->revbuf);
	free(b->corr);
	for (uint32_t i = 0; b->state && i < b->nstate; i++)
		dst_ldpc_ws_free(b->state[i]);
	free(b->state);
	side_fini(&b->s);
	free(b);
}

int rec_ldpc_bob_begin(struct rec_ldpc_bob *b, const uint64_t *key, uint64_t n_bits, double qber)
{
	struct side *s = &b->s;
	if (!key || !n_bits || n_bits > s->max_bits || !(qber > 0 && qber < 0.5))
		return -EINVAL;
	double f = s->f_target;
	unsigned step_div = 4;
	uint32_t blind = f == 0 && s->blind_wanted && !dst_ldpc_blind_default(s->fam, qber, &f, &step_div);
	if (!blind)
		f = s->f_target, step_div = 4;
	if (plan_for(s, qber, f, blind, step_div, n_bits) || !s->plan.key_bits)
		return -EINVAL;
	uint64_t frames = (n_bits + s->plan.key_bits - 1) / s->plan.key_bits;
	if (frames > s->max_frames)
		return -ENOSPC;
	memcpy(b->key, key, (n_bits + 63) / 64 * 8);
	s->n_bits = n_bits;
	s->frames = (uint32_t)frames;
	s->round = 0;
	s->state = 1;
	b->qber = qber;
	b->blind = 0;
	memset(&s->st, 0, sizeof(s->st));
	s->st.bits = n_bits;
	s->st.frames = s->frames;
	memset(s->revealed, 0, sizeof(uint32_t) * frames);
	memset(s->ok, 0, frames);
	return 0;
}

/* Decode every frame not yet decoded; returns the number still failing. */
static uint32_t bob_decode(struct rec_ldpc_bob *b)
{
	struct side *s = &b->s;
	size_t sw = s->plan.syndrome_bits / 64, fw = s->n / 64;
	uint32_t failing = 0;
	for (uint32_t f = 0; f < s->frames; f++) {
		if (s->ok[f])
			continue;
		struct dst_ldpc_plan p = s->plan;
		dst_ldpc_plan_reveal(&p, s->revealed[f]);
		uint64_t from = (uint64_t)f * p.key_bits;
		uint64_t len = s->n_bits - from < p.key_bits ? s->n_bits - from : p.key_bits;
		bits_get(s->frame, b->key, from, p.key_bits, s->n_bits);
		struct dst_ldpc_result res;
		const uint64_t *syn = b->synd + (size_t)f * sw;
		const uint64_t *rev = p.revealed ? b->revbuf + (size_t)f * fw : NULL;
		int rc = s->blind && f < b->nstate
				 ? dst_ldpc_bob_blind(b->state[f], &p, b->blind, s->frame, syn, rev, b->corr,
						      &res)
				 : dst_ldpc_bob(s->ws, &p, s->frame, syn, rev, b->corr, &res);
		if (rc == 0 && res.status == DST_LDPC_OK) {
			s->ok[f] = 1;
			/* Count corrections in the real (unpadded) bits only. */
			for (uint64_t w = 0; w < (len + 63) / 64; w++) {
				uint64_t d = s->frame[w] ^ b->corr[w];
				if (w == len / 64 && (len & 63))
					d &= ~0ULL >> (64 - (len & 63));
				s->st.bits_corrected += (uint64_t)__builtin_popcountll(d);
			}
			bits_put(b->key, from, b->corr, len);
		} else {
			failing++;
		}
	}
	explicit_bzero(s->frame, (s->n / 64 + 1) * 8);
	return failing;
}

static int bob_request(struct rec_ldpc_bob *b, uint8_t *out, size_t cap, size_t *out_len)
{
	struct side *s = &b->s;
	uint32_t failing = bob_decode(b);
	uint32_t step = reveal_step(s);
	uint32_t upto = (b->blind + 1) * step;
	if (upto > s->plan.punctured)
		upto = s->plan.punctured;
	if (failing && step && b->blind < L_MAX_BLIND && upto > (b->blind ? b->blind * step : 0)) {
		if (cap < L_HDR + 4 + 4ull * failing)
			return -ENOSPC;
		uint8_t *e = out + L_HDR + 4;
		uint32_t k = 0;
		for (uint32_t f = 0; f < s->frames; f++)
			if (!s->ok[f])
				put32(e + 4 * k++, f);
		put32(out + L_HDR, upto);
		hdr(out, L_REVEAL, s->round, k);
		*out_len = L_HDR + 4 + 4ull * k;
		b->blind++;
		return DST_REC_CONTINUE;
	}
	/* Finished: kept frames and the leak they carry. */
	if (cap < L_HDR + 16 + (s->frames + 7) / 8)
		return -ENOSPC;
	uint64_t leak = 0, kept = 0;
	uint8_t *bm = out + L_HDR + 16;
	memset(bm, 0, (s->frames + 7) / 8);
	for (uint32_t f = 0; f < s->frames; f++) {
		if (!s->ok[f])
			continue;
		bm[f / 8] |= (uint8_t)(1u << (f % 8));
		leak += frame_leak(&s->plan, s->revealed[f]);
		uint64_t from = (uint64_t)f * s->plan.key_bits;
		kept += s->n_bits - from < s->plan.key_bits ? s->n_bits - from : s->plan.key_bits;
	}
	put64(out + L_HDR, leak);
	put64(out + L_HDR + 8, s->st.bits_corrected);
	hdr(out, L_DONE, s->round, s->frames);
	*out_len = L_HDR + 16 + (s->frames + 7) / 8;
	s->st.leak_bits = leak;
	s->st.kept_bits = kept;
	s->st.frames_failed = failing;
	s->state = 2;
	return DST_REC_DONE;
}

int rec_ldpc_bob_step(struct rec_ldpc_bob *b, const uint8_t *in, size_t in_len, uint8_t *out,
		      size_t out_cap, size_t *out_len)
{
	struct side *s = &b->s;
	*out_len = 0;
	if (s->state != 1)
		return -EINVAL;
	int rc;
	if (s->round == 0 && !in) {
		if (out_cap < L_HDR + L_INIT_BODY)
			return -ENOSPC;
		uint8_t *p = out + L_HDR;
		uint64_t qb, fb;
		memcpy(&qb, &b->qber, 8);
		memcpy(&fb, &s->f_plan, 8);
		put64(p, s->n_bits);
		put64(p + 8, qb);
		put64(p + 16, fb);
		put32(p + 24, s->plan.key_bits);
		put32(p + 28, s->plan.syndrome_bits);
		put32(p + 32, s->plan.punctured);
		put32(p + 36, s->plan.shortened);
		struct dst_ldpc_code_info info;
		dst_ldpc_code_get_info(s->plan.code, &info);
		memset(p + 40, 0, 32);
		memcpy(p + 40, info.name, strnlen(info.name, 32));
		put32(p + 72, s->blind);
		put32(p + 76, s->step_div);
		hdr(out, L_INIT, 0, s->frames);
		*out_len = L_HDR + L_INIT_BODY;
		s->st.msg_bytes += *out_len;
		return DST_REC_CONTINUE;
	}
	int t = check_hdr(in, in_len, s->round);
	size_t sw = s->plan.syndrome_bits / 64, fw = s->n / 64;
	if (t == L_SYND && s->round == 0 && get32(in + 8) == s->frames &&
	    in_len == L_HDR + (size_t)s->frames * sw * 8) {
		for (size_t w = 0; w < s->frames * sw; w++)
			b->synd[w] = get64(in + L_HDR + 8 * w);
	} else if (t == L_FILLER && s->round > 0) {
		uint32_t k = get32(in + 8), upto = b->blind * reveal_step(s);
		if (upto > s->plan.punctured)
			upto = s->plan.punctured;
		uint32_t failing = 0;
		for (uint32_t f = 0; f < s->frames; f++)
			failing += !s->ok[f];
		if (k != failing || in_len != L_HDR + (size_t)k * upto / 8) {
			s->state = 0;
			return -EPROTO;
		}
		const uint8_t *p = in + L_HDR;
		for (uint32_t f = 0; f < s->frames; f++) {
			if (s->ok[f])
				continue;
			for (uint32_t w = 0; w < upto / 64; w++)
				b->revbuf[(size_t)f * fw + w] = get64(p + 8 * w);
			p += upto / 8;
			s->revealed[f] = upto;
		}
	} else {
		s->state = 0;
		return -EPROTO;
	}
	s->st.msg_bytes += in_len;
	s->st.rounds++;
	s->round++;
	rc = bob_request(b, out, out_cap, out_len);
	if (rc >= 0)
		s->st.msg_bytes += *out_len;
	return rc;
}

int rec_ldpc_bob_result(const struct rec_ldpc_bob *b, uint64_t *out, uint64_t *bits)
{
	return side_result(&b->s, b->key, out, bits);
}

void rec_ldpc_bob_stats(const struct rec_ldpc_bob *b, struct dst_rec_stats *st)
{
	*st = b->s.st;
}
