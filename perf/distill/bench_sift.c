/* Sifting throughput per core: event lists (Mevents/s) and dense bit-planes (Gslots/s), every
#include <stdio.h>
 * variant against the portable reference measured in the same run. Inputs come from the link
 * model; a block large enough for the whole input is reset before each call. */
#include <stdlib.h>

#include "dst_cpu.h"
#include "dst_sift.h"
#include "qkdperf.h"

struct sift_arg {
	const struct dst_sift_variant *v;
	struct dst_sift_block *b;
	const struct dst_events *ev;
	const struct dst_planes *pl;
};

static void run_events(void *p)
{
	struct sift_arg *a = p;
	dst_sift_block_reset(a->b, 0);
	QP_KEEP(a->v->events(a->b, a->ev, 0));
}

static void run_planes(void *p)
{
	struct sift_arg *a = p;
	dst_sift_block_reset(a->b, 0);
	QP_KEEP(a->v->planes(a->b, a->pl, 0));
}

static void bench_sift_events(struct qp_run *r)
{
	size_t n = qp_quick(r) ? (1u << 18) : (1u << 22);
	struct dst_link_params p;
	dst_link_params_default(&p);
	struct dst_model *m = dst_model_create(&p, 1);
	struct dst_events *ev = dst_events_create(n);
	struct sift_arg a = {NULL, dst_sift_block_create(n, n), ev, NULL};
	if (!m || !ev || !a.b)
		goto out;
	ev->cap = n;
	dst_model_events(m, ev, UINT64_MAX);
	for (const struct dst_sift_variant *v = dst_sift_variants; v->name; v++) {
		if ((dst_cpu_detected() & v->needs) != v->needs)
			continue;
		a.v = v;
		struct qp_case c = {"sift_events", v->name, n, "Mevents/s", (double)n, run_events, &a,
				    v == dst_sift_variants};
		qp_measure(r, &c);
	}
out:
	dst_sift_block_free(a.b);
	dst_events_free(ev);
	dst_model_free(m);
}
QP_BENCH("sift_events", "sifting event lists (per-frame kernel of the RX lcore), Mevents/s per core",
	 bench_sift_events)

static void bench_sift_planes(struct qp_run *r)
{
	/* A window of 2^22 slots (512 KiB per plane): what a burst of frames leaves in cache. */
	size_t n = qp_quick(r) ? (1u << 20) : (1u << 22);
	/* 10 dB (50 km) and 20 dB (100 km) with the default source: 2.5e-3 and 2.3e-4 clicks/slot. */
	static const double loss[] = {10.0, 20.0};
	for (int li = 0; li < 2; li++) {
		struct dst_link_params p;
		dst_link_params_default(&p);
		p.loss_db = loss[li];
		struct dst_model *m = dst_model_create(&p, 2);
		struct dst_planes *pl = dst_planes_create(n);
		struct sift_arg a = {NULL, NULL, NULL, pl};
		if (!m || !pl)
			goto next;
		size_t clicks = dst_model_planes(m, pl);
		a.b = dst_sift_block_create(clicks + 64, clicks + 64);
		if (!a.b)
			goto next;
		char name[48];
		snprintf(name, sizeof(name), "sift_planes_%gdB", loss[li]);
		for (const struct dst_sift_variant *v = dst_sift_variants; v->name; v++) {
			if ((dst_cpu_detected() & v->needs) != v->needs)
				continue;
			a.v = v;
			struct qp_case c = {name, v->name, n, "Gslots/s", (double)n, run_planes, &a,
					    v == dst_sift_variants};
			qp_measure(r, &c);
		}
	next:
		dst_sift_block_free(a.b);
		dst_planes_free(pl);
		dst_model_free(m);
	}
}
QP_BENCH("sift_planes", "sifting dense bit-planes (detection mask + per-slot choices), Gslots/s per core",
	 bench_sift_planes)
