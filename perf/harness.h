/* Internal state of a qkdperf run (qkdperf.c and harness.c only). */
#ifndef QKDPERF_HARNESS_H
#define QKDPERF_HARNESS_H

#include "qkdperf.h"

#define QP_MAX_REPEATS 64

struct qp_run {
	unsigned repeats;
	double min_time; /* seconds per repetition */
	bool quick;
	json_t *results;
	char base_name[32];
	double base_value;
	double base_cpu_value;
	size_t base_size;
};

struct qp_bench *qp_benches(void);

#endif
