/* qkdnode's dataplane: ports, lcores and QKD links, as one object the daemon's main (and later the
 * control thread) drives.
 *
 * Threads (a static lcore map, l3fwd / ip_pipeline style):
 *  - RX lcore: rx_burst(32) on every port -> parse -> detector-event frames feed the link's sifting
 *    state; Qdist sift messages are handled in place; Qdist distill messages go to the link's
 *    worker. Sifted bits fill dst_sift_blocks that go to the worker when full.
 *  - distill workers: each link is pinned to one worker; the worker runs the block pipeline
 *    with the peer and puts finished keys (struct km_key_desc) on its key ring.
 *  - TX lcore: drains the RX lcore's and the workers' TX rings to the ports (buffered, drain timer).
 * The RX and TX roles may share one lcore. Everything between lcores goes through SP/SC rings.
 *
 * Links are added and removed at run time by the control thread: the set of links is an immutable
 * snapshot published with RCU (liburcu QSBR); lcores read it without locks and report a quiescent
 * state once per loop iteration. Per-lcore and per-link counters have one writer each and are
 * summed on read. */
#ifndef DP_NODE_H
#define DP_NODE_H

#include <stdbool.h>
#include <stdint.h>

#include "dp_errors.h"
#include "dp_qdist.h"
#include "km_key.h"

#define DP_MAX_PORTS 8
#define DP_MAX_WORKERS 8
#define DP_MAX_LINKS 64
#define DP_BURST 32

struct rte_ring;
struct rte_mempool;
struct dp_node;
struct dp_ledger;
struct dp_auth_stream;

/* Node-wide settings, fixed at creation. */
struct dp_node_cfg {
	unsigned n_ports;
	uint16_t port_ids[DP_MAX_PORTS]; /* DPDK port ids (probed vdevs or PCI) */
	/* lcore map: any lcore may carry several roles (a small box runs everything on one). */
	unsigned rx_lcore, tx_lcore;
	unsigned n_workers;
	unsigned worker_lcores[DP_MAX_WORKERS];
	unsigned mbufs;          /* mbufs in the pool (0: 4095) */
	unsigned mtu;            /* largest frame payload after the Ethernet header (0: 9000) */
	unsigned rxd, txd;       /* descriptors per queue (0: 1024) */
	unsigned key_ring_size;  /* descriptors per worker key ring (0: 1024) */
	unsigned idle_sleep_us;  /* sleep after this many idle polls in a row; 0: pure busy polling */
	unsigned tx_drain_us;    /* flush partially filled TX bursts after this long (0: 100) */
	bool manual;             /* no lcores: the caller polls (tests, benchmarks) */
	struct rte_mempool *pool; /* mbufs to use (caller-owned, freed after the node); NULL: own.
				     Nodes exchanging mbufs in one process (ring ports) share one. */
};

/* One QKD link as this node sees it. Both nodes of a link use the same values except role
 * and ports. */
struct dp_link_cfg {
	uint16_t link_id;
	enum dp_role role;       /* ALICE: attached to the transmitter module */
	unsigned module_port;    /* index into dp_node_cfg.port_ids: detector-event frames arrive */
	unsigned peer_port;      /* index: Qdist to and from the peer node */
	uint8_t peer_mac[6];
	unsigned worker;         /* distill worker owning the link */
	uint32_t block_bits;     /* raw-key (Z-basis) bits per block */
	uint32_t test_bits;      /* X-basis bits a block can hold (0: block_bits) */
	uint32_t window_log2;    /* Alice's slot window 2^k slots, the same on both nodes (0: 22) */
	uint32_t announce_max;   /* Bob: detections per announcement (0: DP_QD_ANNOUNCE_MAX) */
	uint32_t auth_refill;    /* bytes of every finished key that refill the auth streams (with
				  * auth_refill_auto: the least it takes) */
	bool auth_refill_auto;   /* refill what the block spent plus a quarter, counted alike on both
				  * nodes (docs/protocol.md, "Refill from distilled key") */
	uint8_t auth_tag_len;    /* bytes of a BLOCK message's short tag: 4, 8, 16 (0: 4); the same
				    on both nodes (docs/protocol.md, "Authentication") */
	uint32_t block_timeout_ms; /* abort a block when the peer is silent this long (0: 10000) */
	const uint8_t *psk;      /* pre-shared authentication secret (copied) */
	uint32_t psk_len;
	/* The link's authentication ledger (dp_ledger.h), owned by the caller, or NULL. NULL: the
	 * pad streams start from psk and refill themselves from every finished key, and keys go to
	 * the worker's key ring. Set: the streams are restored from the ledger (psk unused), and every
	 * finished block goes to the ledger port (dp_node_link_port) as a struct dp_refill holding its
	 * refill and key; only the ledger's owner decides what is applied and kept. */
	const struct dp_ledger *ledger;
	/* distillation parameters, the same on both nodes */
	double qber_max;         /* abort blocks above this QBER estimate (0: 0.11) */
	uint64_t seed;           /* public seed for the pipeline's shuffles/samples */
	int rec_method;          /* enum dst_rec_method (0: Cascade) */
	const char *ldpc_codes;  /* LDPC code family directory (NULL: the committed one), read when
				  * the link is added; the same family on both nodes */
	double mu[3], p_mu[3];   /* the modules' decoy intensities and probabilities (0: model defaults) */
};

/* What a node reports per link (summed from the lcores that own the link). */
struct dp_link_report {
	uint16_t link_id;
	uint64_t frames, events;            /* detector events received */
	uint64_t sifted_bits, test_bits;    /* raw-key and X-basis bits sifted */
	uint64_t blocks_filled, blocks_done, blocks_failed, blocks_aborted;
	uint64_t secret_bits, leak_bits, qber_errors, qber_bits; /* QBER = errors / bits */
	uint64_t auth_failures, auth_bytes_used;
	uint64_t auth_bytes_sift;           /* of auth_bytes_used: the sift channel's pads */
	uint64_t block_msgs;                /* BLOCK messages sent and received (short tags) */
	uint64_t auth_refill_bytes;         /* key bytes finished blocks gave the auth streams */
	uint64_t transcript_failures;       /* blocks whose transcript tags differed (aborted) */
	uint64_t keys_dropped;              /* key ring full: zeroized, not delivered */
	uint64_t first_ns, last_ns;         /* CLOCK_MONOTONIC of the first and last event */
};

/* Per-lcore counters (one writer: that lcore). */
struct dp_lcore_stats {
	uint64_t polls, busy_polls;
	uint64_t rx_pkts, tx_pkts;
	uint64_t cycles_rx, cycles_sift, cycles_distill, cycles_tx; /* TSC cycles per stage */
	uint64_t errors[DP_ERR__COUNT];
};

/* Create after rte_eal_init: mempool, port queues, rings. Ports are configured but not started. */
struct dp_node *dp_node_create(const struct dp_node_cfg *cfg, const char **why);
/* Start ports and launch the lcores (unless manual). */
int dp_node_start(struct dp_node *n);
/* Ask lcores to stop, wait for them, stop ports. Idempotent. */
void dp_node_stop(struct dp_node *n);
/* Zeroize key and auth material, free everything (after stop). Accepts NULL. */
void dp_node_free(struct dp_node *n);
/* True once dp_node_stop was called or a stop was requested by a signal handler. */
bool dp_node_stopping(const struct dp_node *n);
/* Async-signal-safe stop request (sets the flag only). */
void dp_node_request_stop(struct dp_node *n);

/* Control thread only (not an lcore): add or remove a link; publishes a new snapshot and waits
 * for a grace period before freeing anything. 0, -EINVAL (with *why), -EEXIST, -ENOENT, -ENOMEM. */
int dp_node_link_add(struct dp_node *n, const struct dp_link_cfg *lc, const char **why);
int dp_node_link_remove(struct dp_node *n, uint16_t link_id);
int dp_node_link_report(struct dp_node *n, uint16_t link_id, struct dp_link_report *r);
/* Sum of all lcores, or one lcore's counters (index: 0 RX, 1 TX, 2.. workers). */
void dp_node_lcore_stats(struct dp_node *n, int index, struct dp_lcore_stats *s);

/* The key ring of worker w: SP/SC, elements are struct km_key_desc by value. The consumer owns the
 * material of every descriptor it dequeues (km_key_material_free). */
struct rte_ring *dp_node_key_ring(struct dp_node *n, unsigned w);
unsigned dp_node_workers(const struct dp_node *n);

/* Worker commands through per-worker request/response rings (polled every loop). */
enum dp_cmd_op {
	DP_CMD_PING = 1,    /* answered with the worker's loop count */
	DP_CMD_ZEROIZE,     /* abort blocks in progress and wipe them */
};
struct dp_cmd {
	enum dp_cmd_op op;
	uint64_t arg;
};
struct dp_cmd_resp {
	int rc;
	uint64_t value;
};
/* Send a command and wait for the answer (control thread; lcores must be running). */
int dp_node_worker_cmd(struct dp_node *n, unsigned w, const struct dp_cmd *c, struct dp_cmd_resp *r);

/* Manual mode: one iteration of each role. Return the work done (packets, messages, blocks). */
unsigned dp_node_poll_rx(struct dp_node *n);
unsigned dp_node_poll_worker(struct dp_node *n, unsigned w);
unsigned dp_node_poll_tx(struct dp_node *n);

/* Test hook: flip bit 'bit' of the next 'count' distill-channel Qdist messages this node sends on
 * link_id, after sealing (the peer must reject them). */
void dp_node_test_corrupt_tx(struct dp_node *n, uint16_t link_id, unsigned count, unsigned bit);
/* Test hook: forge the next 'count' engine messages of pipeline type 'msg_type' (the first byte of
 * the pipeline frame, docs/distill_messages.md; 0x45 is PA) this node sends on link_id: flip bit
 * 'bit' of the message body, fix the pipeline CRC and seal it with a valid short tag, as an
 * attacker who broke the short tag would; this node's transcript keeps the genuine message. */
void dp_node_test_forge_tx(struct dp_node *n, uint16_t link_id, unsigned count, uint8_t msg_type,
			   unsigned bit);
/* Test hook: block and awaited-reply timeouts read now(ctx) (TSC ticks) instead of the TSC, so a
 * manual-mode test can drive time by its polls and a loaded machine cannot time a block out. Set
 * it before the first poll. */
void dp_node_test_clock(struct dp_node *n, uint64_t (*now)(void *ctx), void *ctx);
/* Test hook: of the COMMITs this node sends on link_id, let 'skip' through, then drop 'count'
 * (and their repeats): this end keeps those blocks' keys, the peer never learns it and leaves. */
void dp_node_test_drop_commit(struct dp_node *n, uint16_t link_id, unsigned skip, unsigned count);

/* ---- the ledger port of a link with a ledger (control thread = the ledger's owner) ----
 * Claims cross threads in seqlocked slots: the owner publishes its own claim (sent in COMMIT and
 * ABORT), the worker publishes the newest claim the peer sent. */
struct dp_claim_slot {
	uint64_t seq; /* odd while being written */
	uint64_t upto, held;
};
static inline void dp_claim_slot_write(struct dp_claim_slot *s, uint64_t upto, uint64_t held)
{
	__atomic_store_n(&s->seq, s->seq + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	__atomic_store_n(&s->upto, upto, __ATOMIC_RELAXED);
	__atomic_store_n(&s->held, held, __ATOMIC_RELAXED);
	__atomic_store_n(&s->seq, s->seq + 1, __ATOMIC_RELEASE);
}
static inline void dp_claim_slot_read(const struct dp_claim_slot *s, uint64_t *upto, uint64_t *held)
{
	for (;;) {
		uint64_t a = __atomic_load_n(&s->seq, __ATOMIC_ACQUIRE);
		*upto = __atomic_load_n(&s->upto, __ATOMIC_RELAXED);
		*held = __atomic_load_n(&s->held, __ATOMIC_RELAXED);
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (!(a & 1) && a == __atomic_load_n(&s->seq, __ATOMIC_RELAXED))
			return;
	}
}

struct dp_link_port {
	struct rte_ring *finished;      /* worker -> owner: struct dp_refill * (owner frees) */
	struct rte_ring *apply_sift;    /* owner -> RX lcore: pads buffers (dp_node_pads_alloc) */
	struct rte_ring *apply_distill; /* owner -> worker: pads buffers */
	struct dp_auth_stream *streams[4]; /* stream order (dp_auth.h); owner reads next_seq, want,
					      cap and raises the limit of the ones it sends on */
	unsigned send_mask;             /* bit i: this end sends on stream i */
	struct dp_claim_slot *own, *peer;
	const uint64_t *block_in_use;   /* the RX lcore's next block number (atomic read) */
};
/* 0, or -ENOENT (no such link, or a link without a ledger). Valid until the link is removed. */
int dp_node_link_port(struct dp_node *n, uint16_t link_id, struct dp_link_port *p);
/* True when every link with a ledger has sent the peer its current claim (in a COMMIT or ABORT):
 * a node about to stop waits for it so the peer can decide the blocks it finished last. */
bool dp_node_claims_sent(struct dp_node *n);
/* A buffer of two stream parts for an apply ring: parts a and b of mat (4 * part bytes, stream
 * order). The lcore that dequeues it frees it. */
void *dp_node_pads_alloc(const uint8_t *mat, uint32_t part, unsigned a, unsigned b);

#endif
