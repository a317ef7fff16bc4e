/* The node side of the manager interface: one mutual-TLS connection to qkdmgr carrying periodic
 * status reports for the node's components (Mk: the KM, Mc: the QKDN controller, Mq: one QKD
 * module per QKD link) and answering status report requests. Control thread only. */
#ifndef CP_MK_AGENT_H
#define CP_MK_AGENT_H

#include <jansson.h>
#include <stddef.h>

#include "cp_mk.h"

struct cp_ctrl;
struct cp_mk_agent;

struct cp_mk_agent *cp_mk_agent_create(struct cp_ctrl *c, char *err, size_t errlen);
void cp_mk_agent_free(struct cp_mk_agent *a);

/* Extension array for a component of this node, NULL when the id is not ours. */
json_t *cp_mk_component_status(struct cp_ctrl *c, enum cp_mk_iface *iface, const char *id);
/* All component ids of this node with their interface (array of {"interface","component_id"}). */
json_t *cp_mk_components(struct cp_ctrl *c);

#endif
