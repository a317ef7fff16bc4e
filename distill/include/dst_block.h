/* The two-party block pipeline: sifted bits in, secret key and a per-block report out.
 *
 *   parameter estimation (Bob discloses his test-basis bits, Alice bounds the phase error with the
 *   decoy counts) -> reconciliation (dst_reconcile.h, Cascade or LDPC per link) -> verification
 *   (dst_verify tag of the reconciled key, Bob's fresh seed) -> finite-key length (dst_estimate)
 *   -> privacy amplification (dst_pa, Alice's fresh Toeplitz seed) -> key.
 *
 * Each side is a state machine that consumes and produces byte messages (layouts in
 * docs/distill_messages.md); there is no I/O inside, and nothing is allocated per block after
 * create (except a new PA plan when the reconciled length changes). Bob speaks first and the sides
 * alternate strictly. Every message carries the block sequence number and a CRC-32C: a corrupted
 * or unexpected message aborts the block on the side that receives it, which tells the peer with
 * an ABORT message; an aborted block yields no key on either side. Alice releases her key only on
 * Bob's CONFIRM (sent once Bob holds the key), so the one loss that can leave a key on one side
 * only is that last message; key managers reconcile key ids across that case (the dataplane's
 * authenticated, sequenced Qdist channel retransmits it).
 *
 * Key length: the finite-key bound of dst_estimate.h with the reconciliation's exact leak; when
 * reconciliation drops frames (LDPC), every dropped bit is subtracted as well (a bit carries at
 * most one bit of min-entropy), so the bound holds for the bits that remain.
 *
 * Both sides' inputs are what their own sifting produced: their raw-key bits (PA bit order), their
 * test-basis bits, and the per-class counts (n_key, n_test agree on both sides after sifting; Alice
 * also gives m_test per class, computed by her sifting with Bob's disclosed test bits, and the
 * pipeline checks that their sum equals the errors it finds in the bits Bob discloses). */
#ifndef DST_BLOCK_H
#define DST_BLOCK_H

#include <stddef.h>
#include <stdint.h>

#include "dst_estimate.h"
#include "dst_reconcile.h"
#include "dst_sift.h"

struct dst_block_config {
	struct dst_rec_config rec;   /* method and its settings; rec.max_bits = largest raw key */
	struct dst_fk_config fk;     /* finite-key parameters and abort thresholds */
	uint64_t max_test_bits;      /* largest test-basis sample */
	/* Randomness for the verification and PA seeds; NULL: getrandom(). Returns 0 or -errno. */
	int (*random)(void *ctx, void *buf, size_t len);
	void *random_ctx;
};

struct dst_block_input {
	uint64_t seq;                  /* block sequence number, the same on both sides */
	const uint64_t *key;           /* raw key bits */
	uint64_t key_bits;
	const uint64_t *test;          /* test-basis bits (Bob discloses his) */
	uint64_t test_bits;
	struct dst_sift_counts counts; /* per-class counts of this side's sifting */
};

enum dst_block_status {
	DST_BLOCK_OK = 0,
	DST_BLOCK_ABORT_ESTIMATE,  /* parameter estimation: see report.fk.status */
	DST_BLOCK_ABORT_MISMATCH,  /* the two sides' sifting counts disagree */
	DST_BLOCK_ABORT_RECONCILE, /* reconciliation protocol failed */
	DST_BLOCK_ABORT_VERIFY,    /* verification tags differ */
	DST_BLOCK_ABORT_LENGTH,    /* secret key length l <= 0 after error correction */
	DST_BLOCK_ABORT_PROTOCOL,  /* corrupted, malformed or unexpected message */
	DST_BLOCK_ABORT_LOCAL,     /* local failure (randomness, PA plan) */
};
const char *dst_block_status_str(enum dst_block_status s);

struct dst_block_report {
	uint64_t seq;
	enum dst_block_status status;
	int peer_abort;            /* 1 when the peer aborted and told us (status is its reason) */
	uint64_t sifted_bits;      /* raw key bits in */
	uint64_t test_bits;        /* test-basis bits disclosed */
	uint64_t pulses;           /* counts.slot_end - counts.slot_begin */
	double qber_test;          /* test-basis QBER (the reconciliation's estimate) */
	double qber_key;           /* key-basis QBER: errors corrected / reconciled bits */
	uint64_t reconciled_bits;  /* bits kept by reconciliation */
	uint64_t leak_bits;        /* reconciliation leak (goes into l) */
	double efficiency;         /* leak / (reconciled * h(qber_key)) */
	uint32_t rounds;           /* reconciliation round trips */
	uint32_t tag_bits;         /* verification tag length */
	uint64_t msg_bytes;        /* pipeline bytes both ways */
	uint64_t secret_bits;      /* final key length (0 when aborted) */
	struct dst_fk_result fk;   /* the finite-key estimate the length came from (Alice; Bob's copy
				      holds what Alice sent: status, length) */
};

enum { DST_BLOCK_DONE = 0, DST_BLOCK_CONTINUE = 1 };

struct dst_block_alice;
struct dst_block_bob;

/* Largest message for this configuration. */
size_t dst_block_max_msg(const struct dst_block_config *cfg);

struct dst_block_alice *dst_block_alice_create(const struct dst_block_config *cfg);
void dst_block_alice_free(struct dst_block_alice *a);
/* Start a block (inputs must stay valid until DONE); forgets and wipes the previous key. */
int dst_block_alice_begin(struct dst_block_alice *a, const struct dst_block_input *in);
/* Consume one Bob message. CONTINUE: send out_len bytes and wait. DONE: the block ended (send
 * out_len bytes if any: an ABORT); see the report. -EINVAL misuse, -ENOSPC small out_cap. */
int dst_block_alice_step(struct dst_block_alice *a, const uint8_t *in, size_t in_len, uint8_t *out,
			 size_t out_cap, size_t *out_len);
const struct dst_block_report *dst_block_alice_report(const struct dst_block_alice *a);
/* The secret key after DONE with status OK (NULL otherwise), report.secret_bits bits. */
const uint64_t *dst_block_alice_key(const struct dst_block_alice *a);

struct dst_block_bob *dst_block_bob_create(const struct dst_block_config *cfg);
void dst_block_bob_free(struct dst_block_bob *b);
int dst_block_bob_begin(struct dst_block_bob *b, const struct dst_block_input *in);
/* First call with in = NULL, then once per Alice message. DONE: send out_len bytes (CONFIRM or
 * ABORT) and stop. */
int dst_block_bob_step(struct dst_block_bob *b, const uint8_t *in, size_t in_len, uint8_t *out,
		       size_t out_cap, size_t *out_len);
const struct dst_block_report *dst_block_bob_report(const struct dst_block_bob *b);
const uint64_t *dst_block_bob_key(const struct dst_block_bob *b);

/* CRC-32C (Castagnoli) the messages carry; dispatched (SSE4.2 instruction or table). */
uint32_t dst_crc32c(const void *buf, size_t len);

#endif
