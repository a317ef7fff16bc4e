/* qkdnode's key relay: the dp_relay worker on the KM-link ports of the node INI ([km_link] port,
 * peer_number), driven by the control thread. Relay sessions (cp_session) become relay requests
 * along their route's node numbers; the worker's events (ACK, NACK, timeout) become session
 * progress, link latency and counters. A session's buffer (KM_POOL_PEER(dst) in the store) is kept
 * at its target: while buffered + in flight is below it, up to [policy] relay_window relays of
 * relay_key_bits are in flight. The worker runs on [node] relay_lcore, or is polled from the
 * control thread's tick. A route change (new epoch) sends new relays on the new path
 * at once while the old path's relays finish (make-before-break): each ends with an ACK (both
 * ends store the key) or a NACK (neither does). A relay without an answer (ACK lost with a link
 * or node, or slow) is resolved with its destination along the session's current route
 * (km_relay_resolve: the destination's store decides, both ends follow); only after
 * QN_RELAY_RESOLVE_TRIES unanswered resolves does the origin give it up. */
#ifndef QKDNODE_RELAY_H
#define QKDNODE_RELAY_H

#include <stdbool.h>
#include <stdint.h>

#include "cp_ctrl.h"
#include "km_store.h"

#define QN_RELAY_ACK_TIMEOUT_NS 2000000000ull /* no ACK after 2 s: resolve with the destination */
#define QN_RELAY_RESOLVE_TRIES 15u /* resolves (one per timeout) before the origin gives up */

struct qn_relay;

/* True when port_id is a KM-link relay port of cfg (not for the QKD dataplane). */
bool qn_relay_owns_port(const struct cp_config *cfg, uint16_t port_id);
/* Start the relay on cfg's relay ports (configured and started here) over the store; on
 * cfg->relay_lcore (sleeping idle_sleep_us after 256 idle polls) when set. NULL with err[0] == 0
 * when cfg has no relay port; NULL with a one-line reason on failure. */
struct qn_relay *qn_relay_create(const struct cp_config *cfg, struct km_store *st,
				 unsigned idle_sleep_us, char *err, size_t errlen);
void qn_relay_free(struct qn_relay *r);

/* Control thread: a session was established, moved (new epoch) or torn down. */
void qn_relay_session(struct qn_relay *r, const struct cp_relay_cmd *cmd);
/* Control thread, every tick: poll the worker, handle its events, top sessions up, report
 * progress to c (cp_ctrl_relay_progress). */
void qn_relay_tick(struct qn_relay *r, struct cp_ctrl *c);
/* Administrative state of the KM link fed by QKD link qkd_link_id (qkdctl link up|down).
 * -ENOENT when that link has no relay port. */
int qn_relay_link_admin(struct qn_relay *r, uint32_t qkd_link_id, bool up);
/* Relay side of a KM link: its port's link state, the mean start-to-ACK latency of relays whose
 * first hop it is, and its pool resyncs (the worker runs them by itself when the link's pools
 * fall out of step: dp_relay.h). -ENOENT when the link has no relay port. */
struct qn_relay_link_info {
	bool port_up;
	double latency_us;
	uint64_t resyncs, resync_failures;
	unsigned resync_fails_in_row; /* CP_RESYNC_ALARM_FAILS or more: the link's resync alarm */
};
int qn_relay_link_info(struct qn_relay *r, uint32_t qkd_link_id, struct qn_relay_link_info *out);
/* Worker counters and session totals (JSON object; caller decrefs). */
json_t *qn_relay_stats(const struct qn_relay *r);

#endif
