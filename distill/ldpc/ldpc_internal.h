/* Private structures of the QC-LDPC code, family, workspace and decoder kernels. */
#ifndef LDPC_INTERNAL_H
#define LDPC_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "dst_ldpc.h"

#define LDPC_GRAN 64 /* rate-adaptation granule: one 64-bit word of the frame */
/* check-to-variable magnitude limit: below 127 so that a saturated LLR keeps its sign and size
 * when the message is taken out again */
#define LDPC_C2V_MAX 40
/* DST_LDPC_CN_SPA: rows with at least this many edges use the box-minus check node
 * (ldpc_decode_base.c): rows of 14-15 edges decode as well or better with it and sweep 20% faster;
 * rows of 10-11 at QBER 9-11% fail with it (Monte Carlo) */
#define LDPC_MINUS_DC 12
/* bytes of an APP block beyond z: the repeated head and scratch on both sides (see ldpc_dec) */
#define LDPC_APP_TAIL 64
#define LDPC_APP_PAD 192

struct dst_ldpc_code {
	char name[32];
	uint32_t z, mb, nb, n, m;
	uint64_t seed;
	uint32_t ne;            /* base edges (circulants) */
	uint32_t *row_start;    /* mb + 1 offsets into col/shift */
	uint16_t *col, *shift;  /* per base edge, row-major, columns ascending */
	uint32_t npunct_cols;
	uint16_t *punct_cols;   /* weight-2 chain columns that may be punctured, in order */
	uint32_t npunct_gran, nshort_gran;
	uint32_t *punct_order;  /* granule indices (word index in the frame), puncture order */
	uint32_t *short_order;  /* granule indices, shortening order */
};

/* Calibration points, ascending QBER: fixed-rate f for FER <= 1e-2, blind start f. */
#define LDPC_CAL_MAX 16
struct ldpc_cal_point {
	double qber, f;
};
struct ldpc_cal {
	struct ldpc_cal_point fixed[LDPC_CAL_MAX], blind[LDPC_CAL_MAX];
	unsigned nfixed, nblind;
	unsigned sweeps; /* a plan's max_iter */
};

struct dst_ldpc_family {
	size_t count;
	struct dst_ldpc_code **codes; /* ascending rate */
	uint32_t n, max_m, max_z, max_nb;
	uint64_t max_edge_bytes;      /* max ne * z */
	uint32_t max_dc;              /* max base row weight */
	struct ldpc_cal cal;          /* efficiency calibration (family.cal or the built-in one) */
};

/* Everything one decoder sweep needs; identical for every variant. */
struct ldpc_dec {
	uint32_t z, mb;
	const uint32_t *row_start;
	const uint16_t *col, *shift;
	int8_t *app;         /* block c at app + c * app_stride: LLRs [0, z), then [0, 64) again at
			      * [z, z + 64) so that 64 bytes from any position read cyclically;
			      * [-64, 0) and [z + 64, z + 128) are scratch */
	uint32_t app_stride;
	int8_t *c2v;         /* row r's messages from c2v + row_start[r] * z, by chunk of 64 checks
			      * and then by edge: check i of edge j at ldpc_c2v_at(i, j, dc) (one
			      * sequential stream per row, which the hardware prefetcher follows;
			      * one stream per edge was not) */
	const int8_t *synd;  /* m bytes: 0 or -1 */
	int8_t *tmp;         /* 4 * 256 * 32 bytes scratch (AVX2) */
	const uint8_t *corr; /* 16 entries: box-plus correction c[d] = round(4 ln(1 + e^(-d/4))) */
	const uint8_t *corr_minus; /* 16 entries: box-minus c'[d] = round(-4 ln(1 - e^(-d/4))) */
	uint32_t minus_dc;   /* rows of at least this many edges take the box-minus form */
	bool cap2;           /* box-minus messages also capped at g(smallest, second smallest) */
};

/* Offset of check i's message on edge j of a row of dc edges (see struct ldpc_dec). */
static inline uint32_t ldpc_c2v_at(uint32_t i, uint32_t j, uint32_t dc)
{
	return (i / 64 * dc + j) * 64 + i % 64;
}

/* Box-plus correction table c[d] = round(4 ln(1 + e^(-d/4))), d < 16 (0 beyond). */
extern const uint8_t ldpc_boxplus_corr[16];
/* Box-minus correction table c'[d] ~ -4 ln(1 - e^(-d/4)) rounded up, 0 < d < 16 (c'[0] = 127). */
extern const uint8_t ldpc_boxminus_corr[16];

/* One layered sweep over every row; returns the number of checks the hard decisions violated
 * when their layer started (the caller verifies the full syndrome once that number is small). */
typedef uint32_t (*ldpc_sweep_fn)(const struct ldpc_dec *d);
uint32_t ldpc_sweep_base(const struct ldpc_dec *d);
uint32_t ldpc_sweep_avx2(const struct ldpc_dec *d);
/* Number of checks the current hard decisions (signs of app) violate; 0: a valid word. */
typedef uint32_t (*ldpc_check_fn)(const struct ldpc_dec *d);
uint32_t ldpc_check_base(const struct ldpc_dec *d);
uint32_t ldpc_check_avx2(const struct ldpc_dec *d);

struct ldpc_variant {
	const char *name;
	unsigned needs;
	ldpc_sweep_fn sweep;
	ldpc_check_fn check;
};
/* Best variant for the active CPU level / a named one (NULL if unknown or not supported). */
const struct ldpc_variant *ldpc_variant_active(void);
const struct ldpc_variant *ldpc_variant_named(const char *name);

/* Validation shared by parse and build: checks shapes, 4-cycles, puncture chain; fills the
 * adaptation orders. Returns 0 or -EINVAL with err. */
int ldpc_code_finish(struct dst_ldpc_code *c, char *err);
struct dst_ldpc_code *ldpc_code_alloc(uint32_t mb, uint32_t nb, uint32_t ne, uint32_t npunct);

/* Bit rotation helper: out[i] = bit (i + s) mod z of the z-bit block in (z multiple of 64). */
void ldpc_rotate_block(const uint64_t *in, uint32_t z, uint32_t s, uint64_t *out);

void ldpc_err(char *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The committed family's calibration; a directory's family.cal: 0 read, 1 none there, or -errno
 * with err set (ldpc_cal.c). */
void ldpc_cal_builtin(struct ldpc_cal *cal);
int ldpc_cal_load(const char *dir, struct ldpc_cal *out, char *err);

#endif
