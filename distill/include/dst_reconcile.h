/* Method-agnostic, message-driven two-party reconciliation.
 *
 * One interface for every method (Cascade, QC-LDPC), so the block pipeline and the dataplane pick
 * the method per link. Bob drives: he emits requests, Alice answers; messages are opaque byte
 * strings that each method documents (docs/distill_messages.md) and that the caller carries (the
 * dataplane inside authenticated Qdist payloads). No I/O, no allocation after create.
 *
 *   Bob:   step(NULL) -> CONTINUE + msg; send it; step(answer) -> CONTINUE + msg ... -> DONE + msg
 *   Alice: step(msg) -> CONTINUE + answer; ... step(Bob's DONE msg) -> DONE (nothing to send)
 *
 * After DONE both sides hold the same list of kept frames; dst_rec_*_result() writes the kept key
 * bits (Alice: hers, Bob: his corrected ones), identical when reconciliation worked (confirm with
 * dst_verify before privacy amplification). */
#ifndef DST_RECONCILE_H
#define DST_RECONCILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum dst_rec_method {
	DST_REC_CASCADE = 1,
	DST_REC_LDPC = 2,
};
/* "cascade" / "ldpc"; parse returns 0 or -EINVAL. */
const char *dst_rec_method_name(enum dst_rec_method m);
int dst_rec_method_parse(const char *s, enum dst_rec_method *m);
/* True when this build can run the method. */
int dst_rec_method_available(enum dst_rec_method m);

struct dst_rec_config {
	enum dst_rec_method method;
	uint64_t max_bits;   /* largest key given to begin() */
	/* Cascade */
	uint32_t frame_bits; /* 0: 2^18 (or max_bits rounded up to a power of two when smaller) */
	uint32_t max_passes; /* 0: 16 */
	uint64_t seed;       /* public shuffle seed, the same on both ends of a link */
	uint8_t schedule;    /* enum dst_cascade_schedule */
	/* LDPC */
	const char *ldpc_dir; /* codes directory, NULL: dst_ldpc_default_dir() */
	double ldpc_f;        /* target efficiency, 0: calibrated default */
	/* With ldpc_f 0 the plan is blind (starts below the fixed-rate f, reveals filler in rounds
	 * while each failing frame's decoder continues: 1-2% less leak for 1.2-1.6x the decoding
	 * CPU and about one more round trip per 2^20-bit key, perf/results/ldpc_key.json); true:
	 * the fixed-rate plan. */
	bool ldpc_fixed;
	/* Randomness (LDPC filler bits); NULL: getrandom(). Returns 0 or -errno. */
	int (*random)(void *ctx, void *buf, size_t len);
	void *random_ctx;
};

struct dst_rec_stats {
	uint64_t bits;           /* key bits given to begin() */
	uint64_t kept_bits;      /* bits in kept frames */
	uint32_t frames, frames_failed;
	uint32_t rounds;         /* request/answer round trips */
	uint64_t leak_bits;      /* information disclosed about the key, exact */
	uint64_t bits_corrected; /* errors Bob corrected in kept frames (Alice learns it at DONE) */
	uint64_t msg_bytes;      /* bytes both ways */
};

/* Step results (as the methods'): CONTINUE = send out_len bytes and wait for the peer's reply;
 * DONE = send out_len bytes (may be 0) and stop. Negative errno: -EPROTO malformed or unexpected
 * message (the key is then abandoned), -ENOSPC out_cap too small, -EINVAL misuse. */
enum { DST_REC_DONE = 0, DST_REC_CONTINUE = 1 };

struct dst_rec_alice;
struct dst_rec_bob;

/* Largest message either side sends (size the buffers with it). */
size_t dst_rec_max_msg(const struct dst_rec_config *cfg);

struct dst_rec_alice *dst_rec_alice_create(const struct dst_rec_config *cfg);
void dst_rec_alice_free(struct dst_rec_alice *a);
/* Alice's key must stay valid until DONE. */
int dst_rec_alice_begin(struct dst_rec_alice *a, const uint64_t *key, uint64_t n_bits);
int dst_rec_alice_step(struct dst_rec_alice *a, const uint8_t *in, size_t in_len, uint8_t *out,
		       size_t out_cap, size_t *out_len);
/* After DONE: the kept bits into out (room for n_bits), their count in *bits. */
int dst_rec_alice_result(const struct dst_rec_alice *a, uint64_t *out, uint64_t *bits);
void dst_rec_alice_stats(const struct dst_rec_alice *a, struct dst_rec_stats *s);

struct dst_rec_bob *dst_rec_bob_create(const struct dst_rec_config *cfg);
void dst_rec_bob_free(struct dst_rec_bob *b);
/* Bob's key is copied; qber_est (e.g. the test-basis QBER) sizes the method's parameters. */
int dst_rec_bob_begin(struct dst_rec_bob *b, const uint64_t *key, uint64_t n_bits, double qber_est);
int dst_rec_bob_step(struct dst_rec_bob *b, const uint8_t *in, size_t in_len, uint8_t *out,
		     size_t out_cap, size_t *out_len);
int dst_rec_bob_result(const struct dst_rec_bob *b, uint64_t *out, uint64_t *bits);
void dst_rec_bob_stats(const struct dst_rec_bob *b, struct dst_rec_stats *s);

/* Both sides in this thread (tools, tests, benchmarks), after both began: Bob's messages into m1,
 * Alice's into m2 (cap bytes each, dst_rec_max_msg), until Bob is done. Returns 0 when both ended
 * with DST_REC_DONE, else the first error (-EPROTO: Alice not done when Bob was). */
int dst_rec_run_local(struct dst_rec_alice *a, struct dst_rec_bob *b, uint8_t *m1, uint8_t *m2,
		      size_t cap);

#endif
