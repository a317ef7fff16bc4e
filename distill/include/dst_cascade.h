/* Cascade information reconciliation, message-driven and batched.
 *
 * The variant Martinez-Mateo, Pacher, Peev, Ciurana and Martin recommend ("Demystifying the
 * information reconciliation protocol Cascade", QIC 15, 2015): power-of-two block sizes chosen
 * from the QBER for the first two passes, half-frame blocks for the later ones, binary search
 * that never asks a parity it can infer (sub-block parities learnt earlier are reused, the last
 * block's parity of every pass after the first follows from the frame parity), and cascading
 * back into every earlier pass after each correction.
 *
 * Batching: a key is cut into frames of cfg.frame_bits bits (the last one zero-padded). Every
 * frame runs its own Cascade, but all of them advance in lock step: one Bob request per round
 * carries every parity every frame needs, one Alice answer carries the parities. All block
 * parities of all passes go in the first round (Alice's parities never change, so asking early
 * leaks nothing extra). Within a frame the searches of the lowest pass that has an odd sub-block
 * run together (their blocks are disjoint, so no parity is wasted on an error another search is
 * about to correct); DST_CASCADE_CONCURRENT trades a little leak for fewer round trips.
 *
 * Leak is counted exactly: one bit per parity Alice discloses. Both sides count; Bob's DONE
 * message carries his count and Alice rejects a mismatch. No I/O and no allocation after create.
 * Wire formats: docs/distill_messages.md. */
#ifndef DST_CASCADE_H
#define DST_CASCADE_H

#include <stddef.h>
#include <stdint.h>

#define DST_CASCADE_MAX_PASSES 24
#define DST_CASCADE_MAX_FRAME_BITS (1u << 22) /* node indices of a pass fit 22 bits */
#define DST_CASCADE_MIN_FRAME_BITS 64u

/* Fixed per link: both sides must use the same values (they define the shuffles). */
struct dst_cascade_cfg {
	uint32_t frame_bits; /* bits per frame, 64 .. 2^22; shuffles are built once for it */
	uint32_t max_frames; /* most frames one key may span */
	uint32_t max_passes; /* shuffles built; 0 = 16 */
	uint64_t seed;       /* public seed of the per-pass shuffles */
};

/* How Bob orders his searches (his choice alone; Alice answers whatever he asks). */
enum dst_cascade_schedule {
	DST_CASCADE_WAVES = 0,      /* one pass at a time per frame: least leak */
	DST_CASCADE_CONCURRENT = 1, /* every odd sub-block at once: fewest round trips */
};

/* Per-key choice Bob makes from the QBER estimate; passes and block sizes go to Alice in his
 * first message. */
struct dst_cascade_params {
	uint32_t passes;
	uint8_t log2_block[DST_CASCADE_MAX_PASSES]; /* block size of each pass, 2^k bits */
	uint8_t schedule;                           /* enum dst_cascade_schedule */
};

/* Recommended parameters for a QBER estimate (clamped to 0.1% .. 25%). */
void dst_cascade_params_for_qber(double qber, uint32_t frame_bits, uint32_t max_passes,
				 struct dst_cascade_params *p);

struct dst_cascade_stats {
	uint64_t bits;           /* real key bits (padding excluded) */
	uint32_t frames;
	uint32_t rounds;         /* request/answer round trips */
	uint64_t leak_bits;      /* parities Alice disclosed */
	uint64_t bits_corrected; /* Bob only */
	uint64_t msg_bytes;      /* bytes both ways */
};

/* Step results: send out_len bytes to the peer and wait for its reply (CONTINUE), or send them
 * and stop (DONE; Alice's DONE has nothing to send). Negative errno on error: -EPROTO for a
 * malformed or unexpected message, -ENOSPC when out_cap is too small, -EINVAL for bad use. */
enum { DST_CASCADE_DONE = 0, DST_CASCADE_CONTINUE = 1 };

struct dst_cascade_alice;
struct dst_cascade_bob;

/* Largest message either side sends for this configuration. */
size_t dst_cascade_max_msg(const struct dst_cascade_cfg *cfg);

struct dst_cascade_alice *dst_cascade_alice_create(const struct dst_cascade_cfg *cfg);
void dst_cascade_alice_free(struct dst_cascade_alice *a);
/* Start a key: Alice's bits (PA bit order); key is not copied and must stay valid until DONE. */
int dst_cascade_alice_begin(struct dst_cascade_alice *a, const uint64_t *key, uint64_t n_bits);
/* Answer one Bob message. */
int dst_cascade_alice_step(struct dst_cascade_alice *a, const uint8_t *in, size_t in_len,
			   uint8_t *out, size_t out_cap, size_t *out_len);
void dst_cascade_alice_stats(const struct dst_cascade_alice *a, struct dst_cascade_stats *s);

struct dst_cascade_bob *dst_cascade_bob_create(const struct dst_cascade_cfg *cfg);
void dst_cascade_bob_free(struct dst_cascade_bob *b);
/* Start a key: Bob's bits are copied (and corrected in the copy). */
int dst_cascade_bob_begin(struct dst_cascade_bob *b, const uint64_t *key, uint64_t n_bits,
			  const struct dst_cascade_params *p);
/* First call with in = NULL; then once per Alice answer. */
int dst_cascade_bob_step(struct dst_cascade_bob *b, const uint8_t *in, size_t in_len,
			 uint8_t *out, size_t out_cap, size_t *out_len);
/* Bob's corrected key (n_bits from begin), valid until the next begin. */
const uint64_t *dst_cascade_bob_key(const struct dst_cascade_bob *b);
void dst_cascade_bob_stats(const struct dst_cascade_bob *b, struct dst_cascade_stats *s);

/* Parity kernels (dispatch family "cascade"): exposed so every variant can be tested. */
struct dst_cascade_kernels {
	const char *name;
	unsigned needs; /* dst_cpu flags */
	/* XOR of nw words (parity of the bits = parity of the result). */
	uint64_t (*fold)(const uint64_t *w, size_t nw);
	/* XOR of (a[i] & m[i]). */
	uint64_t (*fold_and)(const uint64_t *a, const uint64_t *m, size_t nw);
	/* dst bit i = src bit perm[i] for i < n (dst tail bits of the last word cleared). */
	void (*gather)(uint64_t *dst, const uint64_t *src, const uint32_t *perm, size_t n);
};
extern const struct dst_cascade_kernels dst_cascade_kernel_variants[]; /* NULL-name terminated */
const struct dst_cascade_kernels *dst_cascade_kernels_active(void);

#endif
