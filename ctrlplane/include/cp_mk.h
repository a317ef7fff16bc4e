/* QKDN-manager interface messages of draft ITU-T Q.QKDN_Mk clause 8 as JSON (one object per
 * line over TLS): status report (table 2), response to status report (table 3), status report
 * request (table 4), response to status report request (table 5). Wire form, see docs/mk.md:
 *   {"message": "status_report" | "status_report_response" | "status_report_request"
 *               | "status_report_request_response",
 *    "interface": "Mk" | "Mc" | "Mq" | "Mops" | "Mqrp" | "Mu" | "Mx",   (table 1)
 *    "component_id": string,     M in tables 2, 3, 5; O in table 4
 *    "response": string,         M in tables 3 and 5 ("success" or "failure: <reason>")
 *    "extension": [ {...}, ... ] O everywhere: array of objects
 *    "seq": integer }            O, transport correlation: a response echoes its request's seq */
#ifndef CP_MK_H
#define CP_MK_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define CP_MK_ID_MAX 64
#define CP_MK_RESPONSE_MAX 256
#define CP_MK_MAX_LINE 1048576 /* longest accepted message line */

enum cp_mk_type {
	CP_MK_STATUS_REPORT = 1,
	CP_MK_STATUS_REPORT_RESPONSE,
	CP_MK_STATUS_REQUEST,
	CP_MK_STATUS_REQUEST_RESPONSE,
};

/* Reference points on a QKDN manager (Y.3802 clause 8.4) and their component id (table 1). */
enum cp_mk_iface {
	CP_MK_MQ = 1, /* QKD module ID */
	CP_MK_MOPS,   /* QKD link ID */
	CP_MK_MQRP,   /* QKD link ID */
	CP_MK_MK,     /* KM ID */
	CP_MK_MC,     /* QKD controller ID */
	CP_MK_MU,     /* user network manager ID */
	CP_MK_MX,     /* corresponding QKDN manager ID */
};

struct cp_mk_msg {
	enum cp_mk_type type;
	enum cp_mk_iface iface;
	char component_id[CP_MK_ID_MAX]; /* "" = absent (allowed only in a status report request) */
	char response[CP_MK_RESPONSE_MAX];
	json_t *extension; /* owned reference, NULL = absent */
	int64_t seq;       /* -1 = absent */
};

#define CP_MK_SUCCESS "success"

const char *cp_mk_type_name(enum cp_mk_type t);
const char *cp_mk_iface_name(enum cp_mk_iface i);
/* What the component id names at an interface, per table 1 ("KM ID", ...). */
const char *cp_mk_component_kind(enum cp_mk_iface i);

/* Message as a compact JSON line (no trailing newline); caller frees. NULL on invalid content
 * (a mandatory field missing, extension not an array of objects). */
char *cp_mk_encode(const struct cp_mk_msg *m);
/* Parse one message. Returns 0, or -EPROTO with a one-line reason in why (what is wrong: bad
 * JSON, unknown message type, a mandatory field missing or of the wrong type). On failure the
 * fields that could be read (type, interface, component id, seq) are still set so the receiver
 * can address its failure response. */
int cp_mk_decode(const char *line, size_t len, struct cp_mk_msg *m, char *why, size_t whylen);
void cp_mk_msg_clear(struct cp_mk_msg *m);

/* The failure response to an undecodable message: a report (or anything unknown) gets a
 * "response to status report", a request a "response to status report request", both with
 * response "failure: <why>". */
void cp_mk_failure_for(const struct cp_mk_msg *bad, const char *why, struct cp_mk_msg *out);

#endif
