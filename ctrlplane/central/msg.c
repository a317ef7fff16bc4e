/* Controller protocol messages (cp_central.h): JSON lines, every field checked on decode. */
#include "cp_central.h"
#include "cp_ctl.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const type_names[] = {NULL, "report", "routes", "failure"};

static json_t *hold_json(const struct cp_cen_edge *e)
{
	if (!cp_name_valid(e->a) || !cp_name_valid(e->b) || !strcmp(e->a, e->b))
		return NULL;
	return json_pack("[s,s]", e->a, e->b);
}

static json_t *links_json(const struct cp_lsa *l)
{
	json_t *a = json_array();
	for (unsigned i = 0; a && i < l->n_links; i++) {
		const struct cp_lsa_link *k = &l->links[i];
		if (!cp_name_valid(k->peer) || k->attr.avail > INT64_MAX || k->attr.max > INT64_MAX ||
		    k->attr.low_water > INT64_MAX || k->rate_bps > INT64_MAX) {
			json_decref(a);
			return NULL;
		}
		json_array_append_new(a, json_pack("{s:s,s:b,s:I,s:I,s:I,s:I,s:I}", "peer", k->peer, "up",
						   k->attr.up, "avail_bits", (json_int_t)k->attr.avail,
						   "capacity_bits", (json_int_t)k->attr.max,
						   "delta_bits", (json_int_t)k->attr.delta,
						   "low_water_bits", (json_int_t)k->attr.low_water,
						   "rate_bps", (json_int_t)k->rate_bps));
	}
	return a;
}

/* The routes message is the controller's bulk output (one per node per change, an edge per
 * reachable node): written straight into one buffer, not through a jansson tree. Names need no
 * escaping (cp_name_valid); %.17g gives back the same double. */
static char *encode_routes(const struct cp_cen_msg *m)
{
	if (m->n_edges > CP_CEN_MAX_EDGES)
		return NULL;
	size_t cap = 96 + CP_NAME_MAX + (size_t)m->n_edges * (2 * CP_NAME_MAX + 40), off;
	char *s = malloc(cap);
	if (!s)
		return NULL;
	off = (size_t)snprintf(s, cap, "{\"type\":\"routes\",\"node\":\"%s\",\"generation\":%llu,"
			       "\"edges\":[", m->node, (unsigned long long)m->seq);
	for (unsigned i = 0; i < m->n_edges; i++) {
		const struct cp_cen_edge *e = &m->edges[i];
		if (!cp_name_valid(e->a) || !cp_name_valid(e->b) || !strcmp(e->a, e->b) ||
		    !(isfinite(e->cost) && e->cost >= 0)) {
			free(s);
			return NULL;
		}
		size_t la = strlen(e->a), lb = strlen(e->b);
		memcpy(s + off, i ? ",[\"" : "[\"", i ? 3 : 2);
		off += i ? 3 : 2;
		memcpy(s + off, e->a, la);
		off += la;
		memcpy(s + off, "\",\"", 3);
		off += 3;
		memcpy(s + off, e->b, lb);
		off += lb;
		off += (size_t)snprintf(s + off, cap - off, "\",%.17g]", e->cost);
	}
	if (!m->numbers_present) {
		memcpy(s + off, "]}", 3);
		return s;
	}
	if (m->n_numbers > CP_CEN_MAX_EDGES + 1) {
		free(s);
		return NULL;
	}
	size_t need = off + 16 + (size_t)m->n_numbers * (CP_NAME_MAX + 16);
	char *t = realloc(s, need);
	if (!t) {
		free(s);
		return NULL;
	}
	s = t;
	memcpy(s + off, "],\"numbers\":[", 13);
	off += 13;
	for (unsigned i = 0; i < m->n_numbers; i++) {
		const struct cp_cen_number *x = &m->numbers[i];
		if (!cp_name_valid(x->name) || !x->number || x->number == UINT32_MAX) {
			free(s);
			return NULL;
		}
		size_t ln = strlen(x->name);
		memcpy(s + off, i ? ",[\"" : "[\"", i ? 3 : 2);
		off += i ? 3 : 2;
		memcpy(s + off, x->name, ln);
		off += ln;
		memcpy(s + off, "\",", 2);
		off += 2;
		char d[10];
		unsigned nd = 0;
		for (uint32_t v = x->number; v; v /= 10)
			d[nd++] = (char)('0' + v % 10);
		while (nd)
			s[off++] = d[--nd];
		s[off++] = ']';
	}
	memcpy(s + off, "]}", 3);
	return s;
}

char *cp_cen_encode(const struct cp_cen_msg *m)
{
	if (m->type == CP_CEN_ROUTES)
		return cp_name_valid(m->node) && m->seq <= INT64_MAX ? encode_routes(m) : NULL;
	json_t *o = NULL;
	if (m->type == CP_CEN_FAILURE) {
		o = json_pack("{s:s,s:s}", "type", "failure", "reason", m->reason);
	} else if (m->type == CP_CEN_REPORT && cp_name_valid(m->node) && m->seq <= UINT32_MAX &&
		   m->lsa.number != UINT32_MAX) {
		json_t *edges = m->n_edges <= CP_CEN_MAX_HOLD ? json_array() : NULL;
		for (unsigned i = 0; edges && i < m->n_edges; i++) {
			json_t *e = hold_json(&m->edges[i]);
			if (!e) {
				json_decref(edges);
				edges = NULL;
			} else {
				json_array_append_new(edges, e);
			}
		}
		if (edges) {
			json_t *links = m->lsa.n_links <= CP_LSA_MAX_LINKS ? links_json(&m->lsa) : NULL;
			if (links)
				o = json_pack("{s:s,s:s,s:I,s:o,s:o}", "type", "report", "node", m->node,
					      "seq", (json_int_t)m->seq, "links", links, "hold", edges);
			else
				json_decref(edges);
			if (o && m->lsa.number)
				json_object_set_new(o, "number", json_integer(m->lsa.number));
		}
	}
	if (!o)
		return NULL;
	char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	return s;
}

static bool get_name(const json_t *v, char *out)
{
	const char *s = json_string_value(v);
	if (!s || json_string_length(v) != strlen(s) || !cp_name_valid(s))
		return false;
	strcpy(out, s);
	return true;
}

static bool get_u64(const json_t *o, const char *key, uint64_t *out)
{
	json_t *v = json_object_get(o, key);
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return false;
	*out = (uint64_t)json_integer_value(v);
	return true;
}

static int decode_links(const json_t *links, struct cp_lsa *l, char *why, size_t wl)
{
	if (!json_is_array(links))
		return cp_ctl_fail(why, wl, -EPROTO, "report: \"links\" must be an array");
	if (json_array_size(links) > CP_LSA_MAX_LINKS)
		return cp_ctl_fail(why, wl, -EPROTO, "report: more than %d links", CP_LSA_MAX_LINKS);
	size_t i;
	json_t *k;
	json_array_foreach(links, i, k)
	{
		struct cp_lsa_link *x = &l->links[i];
		json_t *up = json_object_get(k, "up"), *delta = json_object_get(k, "delta_bits");
		if (!json_is_object(k) || !get_name(json_object_get(k, "peer"), x->peer))
			return cp_ctl_fail(why, wl, -EPROTO, "report: link %zu needs \"peer\", a valid node name", i);
		if (!json_is_boolean(up) || !json_is_integer(delta) ||
		    !get_u64(k, "avail_bits", &x->attr.avail) ||
		    !get_u64(k, "capacity_bits", &x->attr.max) ||
		    !get_u64(k, "low_water_bits", &x->attr.low_water) ||
		    !get_u64(k, "rate_bps", &x->rate_bps))
			return cp_ctl_fail(why, wl, -EPROTO,
				   "report: link to %s needs \"up\" (boolean), \"delta_bits\" and "
				   "non-negative integers \"avail_bits\", \"capacity_bits\", "
				   "\"low_water_bits\", \"rate_bps\"",
				   x->peer);
		x->attr.up = json_is_true(up);
		x->attr.delta = json_integer_value(delta);
		if (!strcmp(x->peer, l->origin))
			return cp_ctl_fail(why, wl, -EPROTO, "report: link %zu leads back to %s itself", i, l->origin);
	}
	l->n_links = (uint16_t)json_array_size(links);
	return 0;
}

static int decode_edges(const json_t *arr, bool routes, struct cp_cen_msg *m, char *why, size_t wl)
{
	const char *what = routes ? "routes: \"edges\"" : "report: \"hold\"";
	unsigned max = routes ? CP_CEN_MAX_EDGES : CP_CEN_MAX_HOLD;
	if (!json_is_array(arr))
		return cp_ctl_fail(why, wl, -EPROTO, "%s must be an array", what);
	size_t n = json_array_size(arr);
	if (n > max)
		return cp_ctl_fail(why, wl, -EPROTO, "%s has more than %u entries", what, max);
	m->edges = calloc(n ? n : 1, sizeof(*m->edges));
	if (!m->edges)
		return cp_ctl_fail(why, wl, -ENOMEM, "out of memory");
	size_t i;
	json_t *e;
	json_array_foreach(arr, i, e)
	{
		struct cp_cen_edge *x = &m->edges[i];
		if (!json_is_array(e) || json_array_size(e) != (routes ? 3u : 2u) ||
		    !get_name(json_array_get(e, 0), x->a) || !get_name(json_array_get(e, 1), x->b) ||
		    !strcmp(x->a, x->b))
			return cp_ctl_fail(why, wl, -EPROTO, "%s entry %zu must be [%s] with two different node names",
				   what, i, routes ? "from, to, cost" : "from, to");
		if (routes) {
			json_t *c = json_array_get(e, 2);
			x->cost = json_number_value(c);
			if (!json_is_number(c) || !isfinite(x->cost) || x->cost < 0)
				return cp_ctl_fail(why, wl, -EPROTO, "%s entry %zu: cost must be a finite number >= 0",
					   what, i);
		}
		m->n_edges++;
	}
	return 0;
}

/* Optional "numbers" of a routes message. */
static int decode_numbers(const json_t *arr, struct cp_cen_msg *m, char *why, size_t wl)
{
	if (!arr)
		return 0;
	m->numbers_present = true;
	if (!json_is_array(arr) || json_array_size(arr) > CP_CEN_MAX_EDGES + 1)
		return cp_ctl_fail(why, wl, -EPROTO, "routes: \"numbers\" must be an array of at most %u entries",
			   CP_CEN_MAX_EDGES + 1);
	size_t n = json_array_size(arr);
	m->numbers = calloc(n ? n : 1, sizeof(*m->numbers));
	if (!m->numbers)
		return cp_ctl_fail(why, wl, -ENOMEM, "out of memory");
	size_t i;
	json_t *e;
	json_array_foreach(arr, i, e)
	{
		struct cp_cen_number *x = &m->numbers[i];
		json_t *v = json_array_get(e, 1);
		if (!json_is_array(e) || json_array_size(e) != 2 || !get_name(json_array_get(e, 0), x->name) ||
		    !json_is_integer(v) || json_integer_value(v) < 1 ||
		    json_integer_value(v) >= UINT32_MAX)
			return cp_ctl_fail(why, wl, -EPROTO, "routes: \"numbers\" entry %zu must be [node, 1..%u]", i,
				   UINT32_MAX - 1);
		x->number = (uint32_t)json_integer_value(v);
		m->n_numbers++;
	}
	return 0;
}

int cp_cen_decode(const char *line, size_t len, struct cp_cen_msg *m, char *why, size_t wl)
{
	memset(m, 0, sizeof(*m));
	json_error_t je;
	json_t *o = json_loadb(line, len, JSON_REJECT_DUPLICATES, &je);
	if (!o)
		return cp_ctl_fail(why, wl, -EPROTO, "malformed JSON: %s", je.text);
	int rc = 0;
	const char *t = json_string_value(json_object_get(o, "type"));
	for (unsigned i = 1; t && i < 4; i++)
		if (!strcmp(t, type_names[i]))
			m->type = (enum cp_cen_type)i;
	if (!json_is_object(o)) {
		rc = cp_ctl_fail(why, wl, -EPROTO, "a message must be a JSON object");
	} else if (!m->type) {
		rc = cp_ctl_fail(why, wl, -EPROTO, "\"type\" must be report, routes or failure");
	} else if (m->type == CP_CEN_FAILURE) {
		const char *r = json_string_value(json_object_get(o, "reason"));
		if (!r)
			rc = cp_ctl_fail(why, wl, -EPROTO, "failure: \"reason\" (string) is missing");
		else
			snprintf(m->reason, sizeof(m->reason), "%s", r);
	} else if (!get_name(json_object_get(o, "node"), m->node)) {
		rc = cp_ctl_fail(why, wl, -EPROTO, "%s: \"node\" must be a valid node name", t);
	} else if (!get_u64(o, m->type == CP_CEN_REPORT ? "seq" : "generation", &m->seq)) {
		rc = cp_ctl_fail(why, wl, -EPROTO, "%s: \"%s\" must be a non-negative integer", t,
			 m->type == CP_CEN_REPORT ? "seq" : "generation");
	} else if (m->type == CP_CEN_REPORT && m->seq > UINT32_MAX) {
		rc = cp_ctl_fail(why, wl, -EPROTO, "report: \"seq\" must be below 2^32");
	} else if (m->type == CP_CEN_ROUTES) {
		rc = decode_edges(json_object_get(o, "edges"), true, m, why, wl);
		if (!rc)
			rc = decode_numbers(json_object_get(o, "numbers"), m, why, wl);
	} else {
		strcpy(m->lsa.origin, m->node);
		m->lsa.seq = (uint32_t)m->seq;
		json_t *num = json_object_get(o, "number");
		if (num && (!json_is_integer(num) || json_integer_value(num) < 1 ||
			    json_integer_value(num) >= UINT32_MAX))
			rc = cp_ctl_fail(why, wl, -EPROTO, "report: \"number\" must be an integer in [1, %u]",
				 UINT32_MAX - 1);
		else
			m->lsa.number = num ? (uint32_t)json_integer_value(num) : 0;
		if (!rc)
			rc = decode_links(json_object_get(o, "links"), &m->lsa, why, wl);
		if (!rc)
			rc = decode_edges(json_object_get(o, "hold"), false, m, why, wl);
	}
	json_decref(o);
	if (rc) {
		enum cp_cen_type type = m->type;
		cp_cen_msg_clear(m);
		m->type = type;
	}
	return rc;
}

void cp_cen_msg_clear(struct cp_cen_msg *m)
{
	free(m->edges);
	free(m->numbers);
	memset(m, 0, sizeof(*m));
}
