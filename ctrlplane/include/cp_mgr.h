/* The QKDN-manager side of Q.QKDN_Mk (used by qkdmgr): accepts TLS connections from many nodes,
 * answers every status report with a response (success, or failure with the reason), keeps the
 * latest status and a bounded history per component, and sends status report requests to any
 * component on demand. Runs on a libevent base. */
#ifndef CP_MGR_H
#define CP_MGR_H

#include <jansson.h>
#include <stdint.h>

#include "cp_ctl.h"
#include "cp_mk.h"

#define CP_MGR_HISTORY 64

struct event_base;
struct cp_mgr;

struct cp_mgr *cp_mgr_create(struct event_base *base, const char *listen, const char *ca,
			     const char *cert, const char *key, char *err, size_t errlen);
void cp_mgr_free(struct cp_mgr *m);
uint16_t cp_mgr_port(const struct cp_mgr *m);

/* Manager CLI commands (argv form) for its control socket: show components|alarms,
 * show component <id>, history <id>, request <id>. "request" answers later through the
 * control-socket server srv (cp_ctl_complete). */
int cp_mgr_command(struct cp_mgr *m, struct cp_ctl_server *srv, json_t *argv, json_t **result,
		   char *err, size_t errlen, const struct cp_ctl_token *tok);

#endif
