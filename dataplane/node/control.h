/* qkdnode's control plane: the ctrlplane control thread run on the main lcore (not a poll-mode
 * lcore) against this node's dp_node, with the daemon's own loop body as its tick. */
#ifndef QKDNODE_CONTROL_H
#define QKDNODE_CONTROL_H

#include <stddef.h>

#include "cp_config.h"
#include "dp_node.h"
#include "km_store.h"
#include "ledgers.h"
#include "options.h"

struct qn_control;

/* Set up the control thread for node n (NULL: no QKD link runs here) from the loaded node INI
 * cfg (docs/config.md; copied); the links of o are the ones the dataplane runs (link down/up
 * remove them and add them again from their authentication ledgers). With a key store, KM-link
 * buffers and key flush work on its link pools (cp_kmops), and KM links with a relay port run the
 * key relay; NULL: buffers read empty. tick(tick_ctx) is called every millisecond.
 * NULL with a one-line reason in err. */
struct qn_control *qn_control_create(struct dp_node *n, const struct qn_options *o,
				     const struct cp_config *cfg, struct qn_ledgers *ledgers,
				     struct km_store *store,
				     struct km_meter *meter, void (*tick)(void *), void *tick_ctx,
				     char *err, size_t errlen);
/* Run until qn_control_stop (from the tick) or SIGINT/SIGTERM; SIGHUP reloads the INI. */
int qn_control_run(struct qn_control *q);
void qn_control_stop(struct qn_control *q);
void qn_control_free(struct qn_control *q);

#endif
