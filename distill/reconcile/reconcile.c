/* dst_reconcile.h: one message-driven interface over the reconciliation methods. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dst_cascade.h"
#include "dst_ldpc.h"
#include "dst_reconcile.h"
#include "rec_ldpc.h"

struct dst_rec_alice {
	enum dst_rec_method method;
	struct dst_cascade_alice *cas;
	struct rec_ldpc_alice *ldpc;
	const uint64_t *key;
	uint64_t n_bits;
	int done;
};

struct dst_rec_bob {
	enum dst_rec_method method;
	struct dst_cascade_cfg ccfg;
	uint8_t schedule;
	struct dst_cascade_bob *cas;
	struct rec_ldpc_bob *ldpc;
	uint64_t n_bits;
	int done;
};

const char *dst_rec_method_name(enum dst_rec_method m)
{
	return m == DST_REC_CASCADE ? "cascade" : m == DST_REC_LDPC ? "ldpc" : "unknown";
}

int dst_rec_method_parse(const char *s, enum dst_rec_method *m)
{
	if (s && !strcmp(s, "cascade"))
		*m = DST_REC_CASCADE;
	else if (s && !strcmp(s, "ldpc"))
		*m = DST_REC_LDPC;
	else
		return -EINVAL;
	return 0;
}

int dst_rec_method_available(enum dst_rec_method m)
{
	if (m == DST_REC_CASCADE)
		return 1;
	if (m != DST_REC_LDPC)
		return 0;
	/* LDPC needs its code family (the committed codes or $QKD_LDPC_CODES). */
	struct dst_ldpc_family *fam;
	char err[DST_LDPC_ERRLEN];
	if (dst_ldpc_family_load(NULL, &fam, err))
		return 0;
	dst_ldpc_family_free(fam);
	return 1;
}

/* Cascade frames: one frame up to 2^18 bits, else equal frames of at most 2^18 bits. */
static int cascade_cfg(const struct dst_rec_config *cfg, struct dst_cascade_cfg *c)
{
	if (cfg->max_bits < DST_CASCADE_MIN_FRAME_BITS)
		return -EINVAL;
	uint64_t fb = cfg->frame_bits;
	if (!fb) {
		uint64_t frames = (cfg->max_bits + (1u << 18) - 1) >> 18;
		fb = (cfg->max_bits + frames - 1) / frames;
	}
	if (fb < DST_CASCADE_MIN_FRAME_BITS || fb > DST_CASCADE_MAX_FRAME_BITS)
		return -EINVAL;
	uint64_t frames = (cfg->max_bits + fb - 1) / fb;
	if (frames > 65535)
		return -EINVAL;
	c->frame_bits = (uint32_t)fb;
	c->max_frames = (uint32_t)frames;
	c->max_passes = cfg->max_passes ? cfg->max_passes : 16;
	c->seed = cfg->seed;
	return 0;
}

size_t dst_rec_max_msg(const struct dst_rec_config *cfg)
{
	struct dst_cascade_cfg c;
	if (!cfg)
		return 0;
	if (cfg->method == DST_REC_LDPC)
		return rec_ldpc_max_msg(cfg);
	if (cfg->method != DST_REC_CASCADE || cascade_cfg(cfg, &c))
		return 0;
	return dst_cascade_max_msg(&c);
}

struct dst_rec_alice *dst_rec_alice_create(const struct dst_rec_config *cfg)
{
	struct dst_cascade_cfg c;
	if (!cfg || (cfg->method != DST_REC_LDPC &&
		     (cfg->method != DST_REC_CASCADE || cascade_cfg(cfg, &c))))
		return NULL;
	struct dst_rec_alice *a = calloc(1, sizeof(*a));
	if (!a)
		return NULL;
	a->method = cfg->method;
	if (a->method == DST_REC_LDPC)
		a->ldpc = rec_ldpc_alice_create(cfg);
	else
		a->cas = dst_cascade_alice_create(&c);
	if (!a->cas && !a->ldpc) {
		free(a);
		return NULL;
	}
	return a;
}

void dst_rec_alice_free(struct dst_rec_alice *a)
{
	if (!a)
		return;
	dst_cascade_alice_free(a->cas);
	rec_ldpc_alice_free(a->ldpc);
	free(a);
}

int dst_rec_alice_begin(struct dst_rec_alice *a, const uint64_t *key, uint64_t n_bits)
{
	if (!a)
		return -EINVAL;
	a->done = 0;
	a->key = key;
	a->n_bits = n_bits;
	return a->ldpc ? rec_ldpc_alice_begin(a->ldpc, key, n_bits)
		       : dst_cascade_alice_begin(a->cas, key, n_bits);
}

int dst_rec_alice_step(struct dst_rec_alice *a, const uint8_t *in, size_t in_len, uint8_t *out,
		       size_t out_cap, size_t *out_len)
{
	if (!a || !out_len)
		return -EINVAL;
	int rc = a->ldpc ? rec_ldpc_alice_step(a->ldpc, in, in_len, out, out_cap, out_len)
			 : dst_cascade_alice_step(a->cas, in, in_len, out, out_cap, out_len);
	if (rc == DST_REC_DONE)
		a->done = 1;
	return rc;
}

int dst_rec_alice_result(const struct dst_rec_alice *a, uint64_t *out, uint64_t *bits)
{
	if (!a || !a->done || !out || !bits)
		return -EINVAL;
	if (a->ldpc)
		return rec_ldpc_alice_result(a->ldpc, out, bits);
	size_t nw = (a->n_bits + 63) / 64;
	memcpy(out, a->key, nw * 8);
	if (a->n_bits & 63)
		out[nw - 1] &= ~0ULL >> (64 - (a->n_bits & 63));
	*bits = a->n_bits;
	return 0;
}

static void from_cascade(const struct dst_cascade_stats *c, struct dst_rec_stats *s)
{
	memset(s, 0, sizeof(*s));
	s->bits = c->bits;
	s->kept_bits = c->bits;
	s->frames = c->frames;
	s->rounds = c->rounds;
	s->leak_bits = c->leak_bits;
	s->bits_corrected = c->bits_corrected;
	s->msg_bytes = c->msg_bytes;
}

void dst_rec_alice_stats(const struct dst_rec_alice *a, struct dst_rec_stats *s)
{
	if (a->ldpc) {
		rec_ldpc_alice_stats(a->ldpc, s);
		return;
	}
	struct dst_cascade_stats c;
	dst_cascade_alice_stats(a->cas, &c);
	from_cascade(&c, s);
}

struct dst_rec_bob *dst_rec_bob_create(const struct dst_rec_config *cfg)
{
	struct dst_cascade_cfg c;
	if (!cfg || (cfg->method != DST_REC_LDPC &&
		     (cfg->method != DST_REC_CASCADE || cascade_cfg(cfg, &c) ||
		      cfg->schedule > DST_CASCADE_CONCURRENT)))
		return NULL;
	struct dst_rec_bob *b = calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	b->method = cfg->method;
	if (b->method == DST_REC_LDPC) {
		b->ldpc = rec_ldpc_bob_create(cfg);
	} else {
		b->ccfg = c;
		b->schedule = cfg->schedule;
		b->cas = dst_cascade_bob_create(&c);
	}
	if (!b->cas && !b->ldpc) {
		free(b);
		return NULL;
	}
	return b;
}

void dst_rec_bob_free(struct dst_rec_bob *b)
{
	if (!b)
		return;
	dst_cascade_bob_free(b->cas);
	rec_ldpc_bob_free(b->ldpc);
	free(b);
}

int dst_rec_bob_begin(struct dst_rec_bob *b, const uint64_t *key, uint64_t n_bits, double qber_est)
{
	if (!b || !(qber_est >= 0.0 && qber_est < 0.5))
		return -EINVAL;
	b->done = 0;
	b->n_bits = n_bits;
	if (b->ldpc)
		return rec_ldpc_bob_begin(b->ldpc, key, n_bits, qber_est > 0.001 ? qber_est : 0.001);
	struct dst_cascade_params p;
	dst_cascade_params_for_qber(qber_est, b->ccfg.frame_bits, b->ccfg.max_passes, &p);
	p.schedule = b->schedule;
	return dst_cascade_bob_begin(b->cas, key, n_bits, &p);
}

int dst_rec_bob_step(struct dst_rec_bob *b, const uint8_t *in, size_t in_len, uint8_t *out,
		     size_t out_cap, size_t *out_len)
{
	if (!b || !out_len)
		return -EINVAL;
	int rc = b->ldpc ? rec_ldpc_bob_step(b->ldpc, in, in_len, out, out_cap, out_len)
			 : dst_cascade_bob_step(b->cas, in, in_len, out, out_cap, out_len);
	if (rc == DST_REC_DONE)
		b->done = 1;
	return rc;
}

int dst_rec_bob_result(const struct dst_rec_bob *b, uint64_t *out, uint64_t *bits)
{
	if (!b || !b->done || !out || !bits)
		return -EINVAL;
	if (b->ldpc)
		return rec_ldpc_bob_result(b->ldpc, out, bits);
	memcpy(out, dst_cascade_bob_key(b->cas), (b->n_bits + 63) / 64 * 8);
	*bits = b->n_bits;
	return 0;
}

void dst_rec_bob_stats(const struct dst_rec_bob *b, struct dst_rec_stats *s)
{
	if (b->ldpc) {
		rec_ldpc_bob_stats(b->ldpc, s);
		return;
	}
	struct dst_cascade_stats c;
	dst_cascade_bob_stats(b->cas, &c);
	from_cascade(&c, s);
}

int dst_rec_run_local(struct dst_rec_alice *a, struct dst_rec_bob *b, uint8_t *m1, uint8_t *m2,
		      size_t cap)
{
	size_t l1 = 0, l2 = 0;
	int sb = dst_rec_bob_step(b, NULL, 0, m1, cap, &l1);
	while (sb >= 0) {
		int sa = dst_rec_alice_step(a, m1, l1, m2, cap, &l2);
		if (sa < 0)
			return sa;
		if (sb == DST_REC_DONE)
			return sa == DST_REC_DONE ? 0 : -EPROTO;
		sb = dst_rec_bob_step(b, m2, l2, m1, cap, &l1);
	}
	return sb;
}
