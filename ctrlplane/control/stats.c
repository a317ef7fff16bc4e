/* One statistics object per routing period: per-link SKR, QBER, buffer fill and fill rate, key
 * counters, relay latency, sessions, protocol counters and current alarms. show stats, the Mk
 * extension, /metrics and DPDK telemetry all read this same object. */
#include <stdlib.h>
#include <string.h>

#include "ctrl_internal.h"

static const char *link_state(const struct cp_ctrl *c, unsigned i)
{
	const struct cp_cfg_km_link *km = &c->cfg->km_links[i];
	for (unsigned q = 0; q < c->cfg->n_qkd_links; q++)
		if (!strcmp(c->cfg->qkd_links[q].name, km->qkd_link) && !c->admin_up[q])
			return "admin-down";
	return c->rt[i].st.up ? "up" : "down";
}

static void alarm(json_t *a, const char *type, const char *object, const char *detail)
{
	json_array_append_new(a, json_pack("{s:s,s:s,s:s}", "alarm", type, "object", object,
					   "detail", detail));
}

json_t *cp_ctrl_build_stats(struct cp_ctrl *c)
{
	const struct cp_config *cfg = c->cfg;
	json_t *links = json_array(), *alarms = json_array();
	double period_s = cfg->routing_period_ms / 1000.0;
	for (unsigned i = 0; i < cfg->n_km_links; i++) {
		const struct cp_cfg_km_link *km = &cfg->km_links[i];
		const struct cp_link_rt *rt = &c->rt[i];
		const struct cp_link_stats *st = &rt->st;
		uint64_t cap = st->capacity_bits ? st->capacity_bits : km->capacity;
		double fill_rate = st->fill_rate_bps != 0 ? st->fill_rate_bps : (double)rt->delta / period_s;
		const char *state = link_state(c, i);
		json_array_append_new(
			links,
			json_pack("{s:s,s:s,s:s,s:s,s:f,s:f,s:I,s:I,s:f,s:I,s:f,s:I,s:I,s:I,s:f,s:I,s:I}", "name",
				  km->name, "peer", km->peer, "qkd_link", km->qkd_link, "state", state,
				  "skr_bps", st->skr_bps, "qber", st->qber, "buffer_bits",
				  (json_int_t)st->avail_bits, "capacity_bits", (json_int_t)cap, "fill_pct",
				  cap ? 100.0 * (double)st->avail_bits / (double)cap : 0.0,
				  "low_water_bits", (json_int_t)km->low_water, "fill_rate_bps", fill_rate,
				  "keys_supplied", (json_int_t)st->keys_supplied, "ttl_expired",
				  (json_int_t)st->ttl_expired, "auth_failures",
				  (json_int_t)st->auth_failures, "relay_latency_us",
				  st->relay_latency_us, "resyncs", (json_int_t)st->resyncs,
				  "resync_failures", (json_int_t)st->resync_failures));
		char detail[160];
		if (strcmp(state, "up")) {
			snprintf(detail, sizeof(detail), "KM link %s to %s is %s", km->name, km->peer,
				 state);
			alarm(alarms, "link_down", km->name, detail);
		} else if (st->avail_bits < km->low_water) {
			snprintf(detail, sizeof(detail), "%llu bits buffered, low water %llu",
				 (unsigned long long)st->avail_bits,
				 (unsigned long long)km->low_water);
			alarm(alarms, "buffer_low", km->name, detail);
		}
		if (cp_ctrl_number_mismatch(c, km)) {
			const struct cp_lsdb_entry *e = cp_lsdb_find(&c->db, km->peer);
			snprintf(detail, sizeof(detail), "%s announces number %u, peer_number is %u",
				 km->peer, e ? e->lsa.number : 0, km->peer_number);
			alarm(alarms, "number_mismatch", km->name, detail);
		}
		if (st->resync_alarm) {
			snprintf(detail, sizeof(detail),
				 "the last %d resyncs of the KM link's key pool with %s failed (%llu "
				 "failures in total)", CP_RESYNC_ALARM_FAILS, km->peer,
				 (unsigned long long)st->resync_failures);
			alarm(alarms, "resync_failing", km->name, detail);
		}
		if (rt->auth_alarm) {
			snprintf(detail, sizeof(detail), "%llu authentication failures in total",
				 (unsigned long long)st->auth_failures);
			alarm(alarms, "auth_failure", km->name, detail);
		}
	}
	unsigned active = 0, unroutable = 0;
	uint64_t relayed = 0, failed = 0;
	for (unsigned i = 0; i < c->sess.n_relay; i++) {
		const struct cp_relay_session *r = &c->sess.relay[i];
		relayed += r->progress.keys_relayed;
		failed += r->progress.keys_failed;
		if (r->state == CP_RELAY_ACTIVE) {
			active++;
		} else {
			unroutable++;
			char detail[160], obj[32];
			snprintf(obj, sizeof(obj), "relay-%u", r->id);
			snprintf(detail, sizeof(detail), "no usable path from %s to %s", r->src, r->dst);
			alarm(alarms, "relay_unroutable", obj, detail);
		}
	}
	const struct cp_ctrl_counters *k = &c->cnt;
	json_t *counters = json_pack(
		"{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:f}", "lsa_rx",
		(json_int_t)k->lsa_rx, "lsa_tx", (json_int_t)k->lsa_tx, "lsa_bad",
		(json_int_t)k->lsa_bad, "lsa_originated", (json_int_t)k->lsa_originated,
		"route_runs", (json_int_t)k->route_runs, "reroutes", (json_int_t)k->reroutes,
		"snapshots", (json_int_t)k->snapshots, "worker_cmds", (json_int_t)k->cmds_sent,
		"worker_cmd_failures", (json_int_t)k->cmds_failed, "reloads", (json_int_t)k->reloads,
		"reload_failures", (json_int_t)k->reload_failures, "ctl_requests",
		(json_int_t)k->ctl_requests, "mk_reports", (json_int_t)k->mk_reports, "mk_requests",
		(json_int_t)k->mk_requests, "mk_failures", (json_int_t)k->mk_failures,
		"last_route_us", k->last_spf_us);
	json_t *st = json_pack("{s:s,s:I,s:o,s:{s:i,s:i,s:i,s:I,s:I},s:o,s:o}", "node", cfg->node_id,
			       "generation", (json_int_t)c->generation, "links", links, "sessions",
			       "relay_active", active, "relay_unroutable", unroutable, "app",
			       (int)c->sess.n_app, "relay_keys", (json_int_t)relayed,
			       "relay_keys_failed", (json_int_t)failed, "counters", counters,
			       "alarms", alarms);
	cp_ctrl_central_stats(c, st);
	if (c->ops.relay_stats)
		json_object_set_new(st, "relay", c->ops.relay_stats(c->ops_ctx));
	return st;
}
