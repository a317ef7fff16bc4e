/* The per-detection kernels of the sifting path (dp_symbits.h), every variant against the
 * portable reference, on what one 65536-detection announcement gives them: sparse-word decode and
 * encode runs, the copy of a frame's words, the group index (planes and delta sums) and the
 * gather of the transmitter's symbols for its slots (about one detection per 18 slots) from a
 * 2^22-slot window. Mdetections/s per core. */
#include <stdlib.h>
#include <string.h>

#include "dp_symbits.h"
#include "dst_cpu.h"
#include "qkdperf.h"

#define N 65536
#define WIN_LOG 22

struct sym_arg {
	const struct dp_symbits_variant *v;
	uint8_t *words, *syms, *win;
	uint64_t *slots, *planes;
	uint16_t *out;
};

static void run_decode(void *p)
{
	struct sym_arg *a = p;
	QP_KEEP(a->v->decode_run(a->words, N, 1000, a->slots, a->syms));
}

static void run_encode(void *p)
{
	struct sym_arg *a = p;
	QP_KEEP(a->v->encode_run(a->slots, a->syms, N, 1000, 1, a->out));
}

static void run_group(void *p)
{
	struct sym_arg *a = p;
	uint64_t sum = 0;
	for (unsigned g = 0; g < N / DP_ANN_GROUP; g++)
		sum += a->v->group(a->words + 2 * DP_ANN_GROUP * g, a->planes + 4 * g,
				   (uint8_t *)a->out + 2 * DP_ANN_GROUP * g);
	QP_KEEP(sum);
}

static void run_gather(void *p)
{
	struct sym_arg *a = p;
	uint64_t pos = 1000;
	for (unsigned g = 0; g < N / DP_ANN_GROUP; g++) {
		a->v->gather(a->words + 2 * DP_ANN_GROUP * g, pos, a->win, (1u << WIN_LOG) - 1, 1000,
			     a->planes + 4 * g);
		pos = a->slots[DP_ANN_GROUP * g + DP_ANN_GROUP - 1];
	}
	QP_KEEP(a->planes[0]);
}

static void run_copy(void *p)
{
	struct sym_arg *a = p;
	QP_KEEP(a->v->copy_run(a->words, N, (uint8_t *)a->out));
}

static void bench_symbits(struct qp_run *r)
{
	struct sym_arg a = {0};
	a.words = malloc(2 * N);
	a.syms = malloc(N);
	a.win = malloc((1u << WIN_LOG) / 2 + DP_WIN_PAD);
	a.slots = malloc(8 * N);
	a.planes = malloc(4 * N / 8);
	a.out = malloc(2 * N);
	if (!a.words || !a.syms || !a.win || !a.slots || !a.planes || !a.out)
		goto out;
	uint64_t s = 88172645463325252ull;
	for (unsigned i = 0; i < N; i++) {
		s ^= s << 13, s ^= s >> 7, s ^= s << 17;
		uint16_t w = (uint16_t)(1 + s % 35) | (uint16_t)((s >> 20) & 0xF) << 12; /* mean gap 18 */
		memcpy(a.words + 2 * i, &w, 2);
	}
	memset(a.win, 0x5A, (1u << WIN_LOG) / 2 + DP_WIN_PAD);
	static const struct {
		const char *name;
		void (*fn)(void *);
	} k[] = {{"sparse_decode", run_decode}, {"sparse_encode", run_encode},
		 {"sparse_copy", run_copy}, {"ann_group", run_group}, {"ann_gather", run_gather}};
	for (unsigned j = 0; j < sizeof(k) / sizeof(k[0]); j++)
		for (const struct dp_symbits_variant *v = dp_symbits_variants; v->name; v++) {
			if (!dst_cpu_has(v->needs))
				continue;
			a.v = v;
			dp_symbits_variants[0].decode_run(a.words, N, 1000, a.slots, a.syms);
			struct qp_case c = {k[j].name, v->name, N, "Mdetections/s", (double)N, k[j].fn,
					    &a, v == dp_symbits_variants};
			qp_measure(r, &c);
		}
out:
	free(a.words);
	free(a.syms);
	free(a.win);
	free(a.slots);
	free(a.planes);
	free(a.out);
}
QP_BENCH("dp_symbits", "sifting-path kernels per announcement (decode, encode, copy, group planes, window gather), Mdetections/s per core",
	 bench_symbits)
