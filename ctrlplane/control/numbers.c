/* The node-name -> number map the relay needs: our own number from [node] number, a neighbour's
 * from its [km_link] peer_number (checked against the number its LSA announces), any other node's
 * from its LSA. */
#include <errno.h>
#include <string.h>

#include "ctrl_internal.h"

bool cp_ctrl_number_mismatch(const struct cp_ctrl *c, const struct cp_cfg_km_link *km)
{
	const struct cp_lsdb_entry *e = km->peer_number ? cp_lsdb_find(&c->db, km->peer) : NULL;
	return e && e->lsa.number != km->peer_number;
}

uint32_t cp_ctrl_node_number(const struct cp_ctrl *c, const char *name)
{
	if (!strcmp(name, c->cfg->node_id))
		return c->cfg->node_number;
	const struct cp_cfg_km_link *km = NULL;
	for (unsigned i = 0; i < c->cfg->n_km_links; i++)
		if (!strcmp(c->cfg->km_links[i].peer, name))
			km = &c->cfg->km_links[i];
	if (km && km->peer_number)
		return cp_ctrl_number_mismatch(c, km) ? 0 : km->peer_number;
	const struct cp_lsdb_entry *e = cp_lsdb_find(&c->db, name);
	return e ? e->lsa.number : 0;
}

int cp_ctrl_relay_progress(struct cp_ctrl *c, uint32_t id, const struct cp_relay_progress *p)
{
	struct cp_relay_session *r = cp_relay_find(&c->sess, id);
	if (!r)
		return -ENOENT;
	r->progress = *p;
	return 0;
}
