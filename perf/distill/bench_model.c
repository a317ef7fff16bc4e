/* Link-model generation per core: detection events (Mevents/s, what the qkdsim emulator calls in
 * its loop) and dense planes (Gslots/s), against memcpy of the same output bytes. */
#include <stdlib.h>
#include <string.h>

#include "dst_model.h"
#include "qkdperf.h"

struct model_arg {
	struct dst_model *m;
	struct dst_events *ev;
	struct dst_planes *pl;
	void *src, *dst;
	size_t bytes;
};

static void run_copy(void *p)
{
	struct model_arg *a = p;
	memcpy(a->dst, a->src, a->bytes);
	QP_KEEP(a->dst);
}

static void run_events(void *p)
{
	struct model_arg *a = p;
	a->ev->n = 0;
	QP_KEEP(dst_model_events(a->m, a->ev, UINT64_MAX));
}

static void run_planes(void *p)
{
	struct model_arg *a = p;
	QP_KEEP(dst_model_planes(a->m, a->pl));
}

static void bench_model(struct qp_run *r)
{
	size_t n = 1u << 16;
	struct dst_link_params lp;
	dst_link_params_default(&lp);
	struct model_arg a = {dst_model_create(&lp, 1), dst_events_create(n), NULL, NULL, NULL, 0};
	a.bytes = n * 8 + 6 * (n / 8);
	a.src = calloc(1, a.bytes);
	a.dst = calloc(1, a.bytes);
	if (a.m && a.ev && a.src && a.dst) {
		struct qp_case c = {"model_events", "memcpy", n, "Mevents/s", (double)n, run_copy, &a, true};
		qp_measure(r, &c);
		c.variant = "generic";
		c.fn = run_events;
		c.baseline = false;
		qp_measure(r, &c);
	}
	size_t slots = 1u << 20;
	a.pl = dst_planes_create(slots);
	if (a.m && a.pl) {
		struct qp_case c = {"model_planes", "memcpy", slots, "Gslots/s", (double)slots, run_copy,
				    &a, true};
		a.bytes = 7 * slots / 8 <= n * 8 + 6 * (n / 8) ? 7 * slots / 8 : a.bytes;
		qp_measure(r, &c);
		c.variant = "generic";
		c.fn = run_planes;
		c.baseline = false;
		qp_measure(r, &c);
	}
	free(a.src);
	free(a.dst);
	dst_planes_free(a.pl);
	dst_events_free(a.ev);
	dst_model_free(a.m);
}
QP_BENCH("model", "link-model generation (qkdsim's source): events and dense planes per core", bench_model)
