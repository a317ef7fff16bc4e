/* Key-aware link cost: a fuller, steadier key buffer is cheaper; down or starved links unusable. */
#include "cp_graph.h"

const struct cp_cost_params cp_cost_default = {1.0, 4.0, 8.0};

double cp_link_cost(const struct cp_cost_params *p, const struct cp_link_attr *a)
{
	if (!a->up || a->avail < a->low_water)
		return CP_COST_INF;
	double max = a->max ? (double)a->max : (double)(a->avail ? a->avail : 1);
	double fill = (double)a->avail / max;
	if (fill > 1.0)
		fill = 1.0;
	double drain = a->delta < 0 ? -(double)a->delta / max : 0.0;
	if (drain > 1.0)
		drain = 1.0;
	return p->c0 + p->c1 * (1.0 - fill) + p->c2 * drain;
}
