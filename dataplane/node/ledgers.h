/* qkdnode's authentication ledgers (dp_ledger.h): one per QKD link, persisted in the key store's
 * authentication records (km_store_auth_*) when there is a store, in memory otherwise. The main
 * lcore (the control thread's tick) owns them: each round it takes the finished blocks the
 * workers handed over, decides with the peer's claims, hands confirmed keys to the key sink,
 * raises the pad reservations, commits everything in one group commit of the store, and only then
 * publishes the claims, the agreed pads and the new limits to the lcores. */
#ifndef QKDNODE_LEDGERS_H
#define QKDNODE_LEDGERS_H

#include <stddef.h>
#include <stdint.h>

#include "dp_ledger.h"
#include "dp_node.h"
#include "keyman.h"

struct qn_ledgers;

/* Confirmed keys (both ends hold them) go here; the sink takes the material (sets it NULL). */
typedef void (*qn_key_sink)(void *ctx, struct km_key_desc *key);

/* Load or create (from psk) the ledger of every link; km may be NULL (no persistence). NULL with
 * a one-line reason in err. */
struct qn_ledgers *qn_ledgers_open(struct qn_keyman *km, const struct dp_link_cfg *links,
				   unsigned n_links, qn_key_sink sink, void *sink_ctx, char *err,
				   size_t errlen);
/* The ledger to put in a link's dp_link_cfg (NULL for an unknown link). */
const struct dp_ledger *qn_ledgers_get(struct qn_ledgers *L, uint16_t link_id);
/* After dp_node_link_add / before dp_node_link_remove of a link (the latter runs a final round
 * for it so nothing it handed over is lost). */
int qn_ledgers_attach(struct qn_ledgers *L, struct dp_node *n, uint16_t link_id);
void qn_ledgers_detach(struct qn_ledgers *L, uint16_t link_id);
/* One round over the attached links. Returns the blocks decided, or -EIO once a commit failed
 * (from then on nothing is published: the links stop rather than risk a pad). */
int qn_ledgers_round(struct qn_ledgers *L);

/* Per-link positions for reports: next msg_seq of each stream (stream order, as the lcores see
 * them), the persisted reservations, the pad head, the next block number, blocks pending, keys
 * confirmed and dropped by decision. */
struct qn_ledger_report {
	uint64_t next_seq[DP_AUTH_STREAMS];
	uint64_t reserved[DP_AUTH_STREAMS];
	uint64_t head, block_next, pending, confirmed, dropped;
};
int qn_ledgers_report(struct qn_ledgers *L, uint16_t link_id, struct qn_ledger_report *r);
void qn_ledgers_close(struct qn_ledgers *L); /* detaches and frees; accepts NULL */

#endif
