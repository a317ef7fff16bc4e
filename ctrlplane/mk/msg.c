/* Q.QKDN_Mk clause 8 messages <-> JSON, enforcing the M/O columns of tables 2-5. */
#include "cp_mk.h"
#include "cp_ctl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const type_names[] = {
	[CP_MK_STATUS_REPORT] = "status_report",
	[CP_MK_STATUS_REPORT_RESPONSE] = "status_report_response",
	[CP_MK_STATUS_REQUEST] = "status_report_request",
	[CP_MK_STATUS_REQUEST_RESPONSE] = "status_report_request_response",
};

static const char *const iface_names[] = {
	[CP_MK_MQ] = "Mq", [CP_MK_MOPS] = "Mops", [CP_MK_MQRP] = "Mqrp", [CP_MK_MK] = "Mk",
	[CP_MK_MC] = "Mc", [CP_MK_MU] = "Mu",     [CP_MK_MX] = "Mx",
};

static const char *const kinds[] = {
	[CP_MK_MQ] = "QKD module ID",
	[CP_MK_MOPS] = "QKD link ID",
	[CP_MK_MQRP] = "QKD link ID",
	[CP_MK_MK] = "KM ID",
	[CP_MK_MC] = "QKD controller ID",
	[CP_MK_MU] = "User network manager ID",
	[CP_MK_MX] = "Corresponding QKDN manager ID",
};

const char *cp_mk_type_name(enum cp_mk_type t)
{
	return t >= CP_MK_STATUS_REPORT && t <= CP_MK_STATUS_REQUEST_RESPONSE ? type_names[t] : "?";
}

const char *cp_mk_iface_name(enum cp_mk_iface i)
{
	return i >= CP_MK_MQ && i <= CP_MK_MX ? iface_names[i] : "?";
}

const char *cp_mk_component_kind(enum cp_mk_iface i)
{
	return i >= CP_MK_MQ && i <= CP_MK_MX ? kinds[i] : "?";
}

static int needs_component(enum cp_mk_type t)
{
	return t != CP_MK_STATUS_REQUEST;
}

static int needs_response(enum cp_mk_type t)
{
	return t == CP_MK_STATUS_REPORT_RESPONSE || t == CP_MK_STATUS_REQUEST_RESPONSE;
}

static int extension_ok(const json_t *ext)
{
	if (!json_is_array(ext))
		return 0;
	size_t i;
	json_t *v;
	json_array_foreach(ext, i, v) if (!json_is_object(v)) return 0;
	return 1;
}

char *cp_mk_encode(const struct cp_mk_msg *m)
{
	if (!m || m->type < CP_MK_STATUS_REPORT || m->type > CP_MK_STATUS_REQUEST_RESPONSE ||
	    m->iface < CP_MK_MQ || m->iface > CP_MK_MX)
		return NULL;
	if (needs_component(m->type) && !m->component_id[0])
		return NULL;
	if (needs_response(m->type) && !m->response[0])
		return NULL;
	if (m->extension && !extension_ok(m->extension))
		return NULL;
	json_t *o = json_object();
	json_object_set_new(o, "message", json_string(type_names[m->type]));
	json_object_set_new(o, "interface", json_string(iface_names[m->iface]));
	if (m->component_id[0])
		json_object_set_new(o, "component_id", json_string(m->component_id));
	if (needs_response(m->type))
		json_object_set_new(o, "response", json_string(m->response));
	if (m->extension)
		json_object_set(o, "extension", m->extension);
	if (m->seq >= 0)
		json_object_set_new(o, "seq", json_integer(m->seq));
	char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	return s;
}

int cp_mk_decode(const char *line, size_t len, struct cp_mk_msg *m, char *why, size_t whylen)
{
	memset(m, 0, sizeof(*m));
	m->seq = -1;
	if (!line)
		return cp_ctl_fail(why, whylen, -EPROTO, "empty message");
	json_error_t je;
	json_t *o = json_loadb(line, len, JSON_REJECT_DUPLICATES, &je);
	if (!o)
		return cp_ctl_fail(why, whylen, -EPROTO, "malformed JSON at column %d: %s", je.column, je.text);
	int rc = -EPROTO;
	if (!json_is_object(o)) {
		cp_ctl_fail(why, whylen, -EPROTO, "message is not a JSON object");
		goto out;
	}
	/* read what can address a reply first */
	json_t *cid = json_object_get(o, "component_id");
	if (cid && (!json_is_string(cid) || json_string_length(cid) == 0 ||
		    json_string_length(cid) >= CP_MK_ID_MAX ||
		    strlen(json_string_value(cid)) != json_string_length(cid))) {
		cp_ctl_fail(why, whylen, -EPROTO, "component_id must be a string of 1-%d characters",
			CP_MK_ID_MAX - 1);
		goto out;
	}
	if (cid)
		strcpy(m->component_id, json_string_value(cid));
	json_t *seq = json_object_get(o, "seq");
	if (seq && (!json_is_integer(seq) || json_integer_value(seq) < 0)) {
		cp_ctl_fail(why, whylen, -EPROTO, "seq must be a non-negative integer");
		goto out;
	}
	m->seq = seq ? json_integer_value(seq) : -1;
	json_t *t = json_object_get(o, "message");
	if (!json_is_string(t)) {
		cp_ctl_fail(why, whylen, -EPROTO, "message type missing (\"message\" must be a string)");
		goto out;
	}
	for (int i = CP_MK_STATUS_REPORT; i <= CP_MK_STATUS_REQUEST_RESPONSE; i++)
		if (!strcmp(json_string_value(t), type_names[i]))
			m->type = (enum cp_mk_type)i;
	if (!m->type) {
		cp_ctl_fail(why, whylen, -EPROTO, "unknown message type '%.64s'", json_string_value(t));
		goto out;
	}
	json_t *itf = json_object_get(o, "interface");
	if (!json_is_string(itf)) {
		cp_ctl_fail(why, whylen, -EPROTO, "interface missing (one of Mq Mops Mqrp Mk Mc Mu Mx)");
		goto out;
	}
	for (int i = CP_MK_MQ; i <= CP_MK_MX; i++)
		if (!strcmp(json_string_value(itf), iface_names[i]))
			m->iface = (enum cp_mk_iface)i;
	if (!m->iface) {
		cp_ctl_fail(why, whylen, -EPROTO, "unknown interface '%.16s'", json_string_value(itf));
		goto out;
	}
	if (needs_component(m->type) && !cid) {
		cp_ctl_fail(why, whylen, -EPROTO, "%s: mandatory component_id (%s) missing",
			type_names[m->type], kinds[m->iface]);
		goto out;
	}
	json_t *resp = json_object_get(o, "response");
	if (needs_response(m->type)) {
		if (!json_is_string(resp) || json_string_length(resp) == 0) {
			cp_ctl_fail(why, whylen, -EPROTO, "%s: mandatory response missing or not a string",
				type_names[m->type]);
			goto out;
		}
		snprintf(m->response, sizeof(m->response), "%s", json_string_value(resp));
	} else if (resp) {
		cp_ctl_fail(why, whylen, -EPROTO, "%s has no response parameter", type_names[m->type]);
		goto out;
	}
	json_t *ext = json_object_get(o, "extension");
	if (ext && !extension_ok(ext)) {
		cp_ctl_fail(why, whylen, -EPROTO, "extension must be an array of objects");
		goto out;
	}
	const char *key;
	json_t *v;
	json_object_foreach(o, key, v)
	{
		if (strcmp(key, "message") && strcmp(key, "interface") && strcmp(key, "component_id") &&
		    strcmp(key, "response") && strcmp(key, "extension") && strcmp(key, "seq")) {
			cp_ctl_fail(why, whylen, -EPROTO, "unknown parameter '%.32s'", key);
			goto out;
		}
	}
	if (ext)
		m->extension = json_incref(ext);
	rc = 0;
out:
	json_decref(o);
	return rc;
}

void cp_mk_msg_clear(struct cp_mk_msg *m)
{
	json_decref(m->extension);
	m->extension = NULL;
}

void cp_mk_failure_for(const struct cp_mk_msg *bad, const char *why, struct cp_mk_msg *out)
{
	memset(out, 0, sizeof(*out));
	out->type = bad->type == CP_MK_STATUS_REQUEST ? CP_MK_STATUS_REQUEST_RESPONSE
						      : CP_MK_STATUS_REPORT_RESPONSE;
	out->iface = bad->iface ? bad->iface : CP_MK_MK;
	snprintf(out->component_id, sizeof(out->component_id), "%s",
		 bad->component_id[0] ? bad->component_id : "unknown");
	snprintf(out->response, sizeof(out->response), "failure: %s", why);
	out->seq = bad->seq;
}
