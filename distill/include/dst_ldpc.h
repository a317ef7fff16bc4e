/* Rate-adaptive QC-LDPC syndrome reconciliation (one-way, Alice -> Bob).
 *
 * A family holds mother codes of one frame length n (the QC lifting of a base matrix, Z x Z
 * circulants) for a range of rates. For a QBER estimate and a target efficiency the plan picks a
 * mother code and adapts its rate: 'punctured' positions carry Alice's random filler bits (never
 * sent; Bob decodes them from LLR 0), 'shortened' positions are fixed to zero (known to both; nothing
 * is sent), the remaining key_bits positions carry the key. Alice sends the m-bit syndrome of her
 * frame; Bob runs a layered sum-product decoder (table box-plus in 8-bit fixed point) on LLRs from the QBER and
 * the syndrome. Adaptation works in 64-bit granules, so key_bits is a multiple of 64.
 *
 * Leak (bits of information about the key given to Eve, for the key-length formula):
 *   leak_bits = syndrome_bits - punctured_bits + revealed_bits
 * The punctured columns of every code are linearly independent (they are degree-2 nodes on a
 * cycle-free chain, checked when the code is loaded), so the syndrome reveals at most
 * m - (punctured - revealed) bits about the key. Shortened zeros are independent of the key. Blind
 * reconciliation reveals Alice's filler values for punctured bits after a failed decode; each
 * revealed bit adds one to the leak. Efficiency f = leak_bits / (key_bits * h(QBER)).
 *
 * Objects: codes, families and plans are immutable after creation and may be shared between
 * threads; a workspace belongs to one thread and makes decode/syndrome allocation-free. */
#ifndef DST_LDPC_H
#define DST_LDPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct dst_ldpc_code;   /* one QC parity-check matrix */
struct dst_ldpc_family; /* mother codes sharing one frame length */
struct dst_ldpc_ws;     /* per-thread decoder/encoder workspace */

#define DST_LDPC_MAX_Z 16384      /* circulant size limit (multiple of 64) */
#define DST_LDPC_MAX_BASE 1024    /* base matrix rows/columns limit */
#define DST_LDPC_MAX_ITER_DEFAULT 60
#define DST_LDPC_MAX_ITER_LIMIT 1000 /* largest sweep limit a family may ask for */
#define DST_LDPC_ERRLEN 160       /* size of the error-message buffers below */
#define DST_LDPC_LLR_ONE 4        /* fixed-point LLR scale: int8 value = LLR * DST_LDPC_LLR_ONE */

/* ---- codes ------------------------------------------------------------------------------- */

/* Load a code from a .qc file (format: docs/formats.md). On failure returns -EINVAL (malformed,
 * truncated, bad checksum, 4-cycle, rank condition), -ENOENT/-EACCES/... (I/O) or -ENOMEM and, if
 * err is not NULL, writes a one-line reason into err[DST_LDPC_ERRLEN]. */
int dst_ldpc_code_load(const char *path, struct dst_ldpc_code **out, char *err);
/* Same from text in memory (need not be NUL-terminated). */
int dst_ldpc_code_parse(const char *text, size_t len, struct dst_ldpc_code **out, char *err);
void dst_ldpc_code_free(struct dst_ldpc_code *c);

struct dst_ldpc_code_info {
	char name[32];            /* from the file, e.g. "r080_z512" */
	uint32_t z;               /* circulant size */
	uint32_t base_rows, base_cols;
	uint32_t n, m;            /* frame length and syndrome bits: base_cols*z, base_rows*z */
	double rate;              /* design rate 1 - m/n */
	uint64_t edges;           /* ones in H */
	uint32_t vdeg_min, vdeg_max, cdeg_min, cdeg_max; /* column / row weights */
	uint32_t vdeg_count[32];  /* number of base columns with weight d (d < 32) */
	uint32_t max_punctured;   /* bits that may be punctured (multiple of 64) */
	uint32_t max_shortened;   /* bits that may be shortened (multiple of 64) */
	uint64_t seed;            /* construction seed */
};
void dst_ldpc_code_get_info(const struct dst_ldpc_code *c, struct dst_ldpc_code_info *info);

/* Girth of the lifted Tanner graph (length of the shortest cycle), searched up to 'limit'
 * (even, <= 12); returns limit + 2 when no cycle of length <= limit exists. */
unsigned dst_ldpc_code_girth(const struct dst_ldpc_code *c, unsigned limit);

/* Base-matrix entry access (row-major order, columns ascending within a row): for edge index
 * e < base_edges, the circulant at (row, col) connects check row*z+i with bit col*z+(i+shift)%z. */
uint32_t dst_ldpc_code_base_edges(const struct dst_ldpc_code *c);
void dst_ldpc_code_base_edge(const struct dst_ldpc_code *c, uint32_t e, uint32_t *row,
			     uint32_t *col, uint32_t *shift);

/* Alice: syndrome of a full n-bit frame word (m bits out, PA bit order). */
int dst_ldpc_code_syndrome(const struct dst_ldpc_code *c, const uint64_t *word, uint64_t *syn);

/* ---- construction (qkdtool code build) ------------------------------------------------- */

struct dst_ldpc_design {
	uint32_t z;                /* circulant size, multiple of 64 */
	uint32_t base_cols;        /* n / z */
	uint32_t base_rows;        /* m / z */
	/* variable-node degree profile: vdeg[i] base columns of weight vdeg_w[i]; the first
	 * base_rows - 1 weight-2 columns are laid out as a chain (each shares a row with the next,
	 * every other one may be punctured), further ones anywhere, lifted so that cycles of
	 * weight-2 columns stay long (fewer than base_cols - 1 weight-2 columns in all). */
	uint32_t nvdeg;
	uint32_t vdeg_w[8], vdeg[8];
	uint64_t seed;             /* all randomness comes from this seed */
	unsigned shift_tries;      /* candidate shifts per circulant when lifting (girth search) */
	char name[32];
};
/* Build a code: PEG on the base graph (balanced check degrees, no parallel edges), then
 * progressive lifting choosing circulant shifts that avoid 4-cycles and as many 6- and 8-cycles as
 * possible. Deterministic for a given design. Returns 0, -EINVAL (bad design) or -ENOMEM. */
int dst_ldpc_code_build(const struct dst_ldpc_design *d, struct dst_ldpc_code **out, char *err);
/* Density-evolution threshold (Gaussian approximation, exact BSC channel term, see
 * ldpc_optimise.c) of the ensemble with the design's column weights and balanced row weights:
 * the largest BSC crossover probability at which belief propagation converges on an infinitely
 * long code, 0 if below 1e-4; -EINVAL for a bad design. */
double dst_ldpc_design_threshold(const struct dst_ldpc_design *d);
/* Raise that threshold by local search over the column-weight profile (moving 1, 2 or 4 columns
 * between weights <= max_weight, at most 8 distinct weights, weight-2 columns <= base_cols / 2).
 * Deterministic. Writes the profile back into d and its threshold into *threshold. Returns 0,
 * -EINVAL (bad design or one that fails at p = 1e-4) or -ENOMEM. */
int dst_ldpc_design_optimise(struct dst_ldpc_design *d, uint32_t max_weight, double *threshold);
/* Write a code in the .qc text format (with checksum). Returns bytes written or -errno. */
int dst_ldpc_code_save(const struct dst_ldpc_code *c, const char *path);
/* Format into a malloc'ed text buffer; returns length or -ENOMEM. */
long dst_ldpc_code_format(const struct dst_ldpc_code *c, char **text);

/* ---- families ------------------------------------------------------------------------------- */

/* Directory with the committed codes (distill/ldpc/codes in the source tree, or $QKD_LDPC_CODES). */
const char *dst_ldpc_default_dir(void);
/* Load every *.qc in dir (NULL: the default dir). All codes must have the same n. */
int dst_ldpc_family_load(const char *dir, struct dst_ldpc_family **out, char *err);
/* Make a family from codes (ownership passes to the family, also on failure). */
int dst_ldpc_family_create(struct dst_ldpc_code **codes, size_t count, struct dst_ldpc_family **out,
			   char *err);
void dst_ldpc_family_free(struct dst_ldpc_family *f);
size_t dst_ldpc_family_size(const struct dst_ldpc_family *f);
/* Codes sorted by ascending rate. */
const struct dst_ldpc_code *dst_ldpc_family_code(const struct dst_ldpc_family *f, size_t i);
uint32_t dst_ldpc_family_n(const struct dst_ldpc_family *f);

/* ---- plans (rate adaptation) -------------------------------------------------------------- */

/* Check-node update of Bob's decoder (both forms in portable and AVX2, bit-exact). Which one a
 * plan uses is the family's choice per code and QBER, measured by Monte Carlo (see
 * dst_ldpc_check_node_default); a caller may set plan->check_node to override it. */
enum dst_ldpc_check_node {
	/* rows of fewer than 12 edges: forward/backward box-plus; longer rows: one box-plus pass
	 * keeping the smallest input, then box-minus per edge */
	DST_LDPC_CN_SPA = 0,
	/* box-plus then box-minus on every row, and every message but the smallest input's capped
	 * at the box-plus of the two smallest inputs (tracked exactly): a stronger damping that
	 * helps or hurts depending on the operating point */
	DST_LDPC_CN_CAP2 = 1,
};
#define DST_LDPC_CN_COUNT 2
/* "spa" / "cap2" (NULL for an unknown value). */
const char *dst_ldpc_check_node_name(unsigned cn);

struct dst_ldpc_plan {
	const struct dst_ldpc_code *code;
	uint32_t n;              /* mother code frame length */
	uint32_t key_bits;       /* key bits per frame: n - punctured - shortened */
	uint32_t syndrome_bits;  /* m, sent by Alice */
	uint32_t punctured;      /* filler bits Alice keeps secret */
	uint32_t shortened;      /* zero bits known to both */
	uint32_t revealed;       /* punctured filler bits Alice has revealed (blind rounds) */
	uint32_t leak_bits;      /* syndrome_bits - punctured + revealed */
	double qber;             /* estimate the LLRs are computed from */
	double f_target;         /* asked-for efficiency */
	double f;                /* leak_bits / (key_bits * h(qber)) */
	double rate;             /* effective rate (n - m - shortened) / (n - punctured - shortened) */
	unsigned max_iter;
	int8_t llr;              /* quantised channel LLR magnitude, units of 1/DST_LDPC_LLR_ONE */
	uint8_t check_node;      /* enum dst_ldpc_check_node, Bob's decoder only */
};

/* Pick the mother code and puncturing/shortening for a QBER estimate (0 < qber < 0.5) and target
 * efficiency f_target (> 1; 0 picks the family's calibrated default for that QBER, see
 * dst_ldpc_default_f). Returns 0 or -EINVAL (no code of the family reaches that rate). */
int dst_ldpc_plan_make(const struct dst_ldpc_family *fam, double qber, double f_target,
		       struct dst_ldpc_plan *plan);
/* Plan for blind reconciliation: reach f_start by puncturing alone, on the mother code whose
 * unpunctured efficiency is closest to f_start + headroom, so that up to 'headroom' of efficiency
 * can be added afterwards by revealing punctured filler (dst_ldpc_plan_reveal) instead of
 * discarding a failed frame. Returns 0 or -EINVAL. */
int dst_ldpc_plan_make_blind(const struct dst_ldpc_family *fam, double qber, double f_start,
			     double headroom, struct dst_ldpc_plan *plan);
/* Even frames for a key of n_bits: the frame count F of 'plan' (from dst_ldpc_plan_make, or
 * dst_ldpc_plan_make_blind with 'blind'; nothing revealed) stays, but each frame carries
 * 64 * ceil(n_bits / 64F) key bits at the plan's target efficiency, the rest of the mother frame
 * shortened, instead of F - 1 full frames and a last one padded with zeros that leaks as much as a
 * full one (2^20 bits at QBER 2%: 9 frames, f 1.29 -> 1.16). A blind plan keeps room to reveal
 * up to dst_ldpc_default_f. Leaves the plan unchanged when its frames are full to within 64 bits
 * each or no code fits. Returns 0 or -EINVAL. */
int dst_ldpc_plan_fit(const struct dst_ldpc_family *fam, uint64_t n_bits, bool blind,
		      struct dst_ldpc_plan *plan);
/* The family's check node for a code at a QBER estimate (every plan_make* sets it): CAP2 where it
 * decoded with the lower FER in the same-frames Monte Carlo (qkdperf --filter ldpc_cn), SPA
 * elsewhere. */
enum dst_ldpc_check_node dst_ldpc_check_node_default(const struct dst_ldpc_code *c, double qber);
/* Calibrated efficiency for FER <= 1e-2 at this QBER: the family's own calibration (the
 * 'family.cal' file of its directory, docs/formats.md) or, for NULL or a family without one, that
 * of the committed n = 2^17 family (perf/results/ldpc_mc.json). */
double dst_ldpc_default_f(const struct dst_ldpc_family *fam, double qber);
/* Blind start measured by Monte Carlo for this QBER (the family's calibration, else the committed
 * family's, 0.5-8%): efficiency for dst_ldpc_plan_make_blind with DST_LDPC_BLIND_HEADROOM and the
 * reveal step (punctured/step_div bits per round). Returns 0, or -ENOENT outside the measured
 * range or when the family's calibration has no blind points (use dst_ldpc_default_f). */
#define DST_LDPC_BLIND_HEADROOM 0.08
int dst_ldpc_blind_default(const struct dst_ldpc_family *fam, double qber, double *f_start,
			   unsigned *step_div);
/* Blind round: reveal 'bits' more punctured filler bits (rounded up to 64, capped at punctured).
 * Updates revealed, leak_bits and f. Returns the number newly revealed, 0 if none remain. */
int dst_ldpc_plan_reveal(struct dst_ldpc_plan *plan, uint32_t bits);

/* Efficiency of a leak: leak / (key_bits * h(qber)). */
double dst_ldpc_efficiency(uint64_t leak_bits, uint64_t key_bits, double qber);

/* ---- frames ------------------------------------------------------------------------------- */

struct dst_ldpc_ws *dst_ldpc_ws_create(const struct dst_ldpc_family *fam);
void dst_ldpc_ws_free(struct dst_ldpc_ws *ws);

/* Alice: syndrome (plan->syndrome_bits bits) of her key_bits key bits plus 'filler'
 * (plan->punctured random bits from a CSPRNG, never sent except when revealed). */
int dst_ldpc_alice(struct dst_ldpc_ws *ws, const struct dst_ldpc_plan *plan, const uint64_t *key,
		   const uint64_t *filler, uint64_t *syndrome);

enum dst_ldpc_status {
	DST_LDPC_OK = 0,     /* decoded word satisfies the syndrome */
	DST_LDPC_FAILED = 1, /* no valid word within max_iter iterations; 'corrected' is Bob's input */
};
struct dst_ldpc_result {
	enum dst_ldpc_status status;
	unsigned iterations;     /* layered sweeps run (1 for an error-free frame) */
	uint32_t flipped;        /* key bits Bob changed (errors found) when OK */
	uint32_t leak_bits;      /* plan->leak_bits, for the caller's accounting */
};

/* Bob: correct his key_bits bits 'bob' with Alice's syndrome; 'revealed' holds the first
 * plan->revealed filler bits Alice revealed (NULL when plan->revealed == 0). Writes key_bits
 * bits to 'corrected' (may alias 'bob'). Returns 0 (see res->status) or -EINVAL. */
int dst_ldpc_bob(struct dst_ldpc_ws *ws, const struct dst_ldpc_plan *plan, const uint64_t *bob,
		 const uint64_t *syndrome, const uint64_t *revealed, uint64_t *corrected,
		 struct dst_ldpc_result *res);

/* Bob, blind round: continue the failed decode the last dst_ldpc_bob()/dst_ldpc_bob_resume() on
 * this workspace left (same frame 'bob' and syndrome, same code, puncturing and shortening) after
 * Alice revealed more filler: plan->revealed (>= the last call's) with 'revealed' holding the first
 * plan->revealed filler bits as in dst_ldpc_bob. The newly revealed bits become certain LLRs in the
 * current decoder state and up to plan->max_iter more sweeps run from the current messages,
 * instead of decoding from the channel again (res->iterations counts this call's sweeps). Returns
 * 0 (see res->status) or -EINVAL (no failed decode of this shape to continue, bad arguments). */
int dst_ldpc_bob_resume(struct dst_ldpc_ws *ws, const struct dst_ldpc_plan *plan,
			const uint64_t *bob, const uint64_t *revealed, uint64_t *corrected,
			struct dst_ldpc_result *res);

/* Bob's decode in blind round 'round' of a frame (0: the syndrome just came; r > 0: after the
 * r-th reveal), on a workspace that holds this frame's state from its previous rounds: round 0
 * decodes from the channel with at most DST_LDPC_BLIND_FIRST_ITER sweeps (plan->max_iter when
 * nothing can be revealed); later rounds resume with at most DST_LDPC_BLIND_ROUND_ITER sweeps,
 * except every DST_LDPC_BLIND_RESTART-th round, which decodes from the channel again with
 * plan->max_iter, and the round that revealed the last filler bit, which does so when resuming
 * failed. res->iterations counts the sweeps of this call. Returns 0 or -EINVAL as dst_ldpc_bob. */
#define DST_LDPC_BLIND_FIRST_ITER 45
#define DST_LDPC_BLIND_ROUND_ITER 15
#define DST_LDPC_BLIND_RESTART 4
int dst_ldpc_bob_blind(struct dst_ldpc_ws *ws, const struct dst_ldpc_plan *plan, unsigned round,
		       const uint64_t *bob, const uint64_t *syndrome, const uint64_t *revealed,
		       uint64_t *corrected, struct dst_ldpc_result *res);

/* ---- introspection for tests and benchmarks ----------------------------------------------- */

/* Decoder variants: "generic" (portable reference) and "avx2"; the dispatch picks the best one
 * the active CPU level allows. Force one for this workspace (NULL: back to dispatch). Returns 0,
 * -ENOTSUP when the CPU lacks it, -EINVAL for an unknown name. */
int dst_ldpc_ws_force_variant(struct dst_ldpc_ws *ws, const char *name);
const char *dst_ldpc_ws_variant(const struct dst_ldpc_ws *ws);
/* Fixed-point decoder state after the last dst_ldpc_bob(): a posteriori LLRs (n int8) and
 * check-to-variable messages (edges int8: base row r's from row_start(r) * Z, where check i's
 * message on the row's edge j of dc sits at ((i / 64) * dc + j) * 64 + i % 64). */
const int8_t *dst_ldpc_ws_app(const struct dst_ldpc_ws *ws, size_t *len);
const int8_t *dst_ldpc_ws_c2v(const struct dst_ldpc_ws *ws, size_t *len);

#endif
