/* Application sessions: admission control against SAE placement, policy limits and the key
 * rate left on every link of the relay path; admitted sessions reserve that rate. */
#include "cp_session.h"
#include "session_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int refuse(char *why, size_t len, int rc, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
	return rc;
}

static struct cp_reservation *resv(struct cp_sessions *s, const char *a, const char *b, bool add)
{
	for (unsigned i = 0; i < s->n_resv; i++)
		if (!strcmp(s->resv[i].a, a) && !strcmp(s->resv[i].b, b))
			return &s->resv[i];
	if (!add)
		return NULL;
	if (s->n_resv == s->cap_resv) {
		unsigned cap = s->cap_resv ? 2 * s->cap_resv : 16;
		struct cp_reservation *n = realloc(s->resv, cap * sizeof(*n));
		if (!n)
			return NULL;
		s->resv = n;
		s->cap_resv = cap;
	}
	struct cp_reservation *r = &s->resv[s->n_resv++];
	memset(r, 0, sizeof(*r));
	snprintf(r->a, sizeof(r->a), "%s", a);
	snprintf(r->b, sizeof(r->b), "%s", b);
	return r;
}

uint64_t cp_reserved_bps(const struct cp_sessions *s, const char *a, const char *b)
{
	struct cp_reservation *r = resv((struct cp_sessions *)s, a, b, false);
	return r ? r->bps : 0;
}

/* Key rate of the link a-b as both ends advertise it (the smaller). */
static uint64_t link_rate(const struct cp_lsdb *db, const char *a, const char *b)
{
	uint64_t rate = UINT64_MAX;
	const char *ends[2][2] = {{a, b}, {b, a}};
	for (int k = 0; k < 2; k++) {
		const struct cp_lsdb_entry *e = cp_lsdb_find(db, ends[k][0]);
		uint64_t r = 0;
		for (unsigned i = 0; e && i < e->lsa.n_links; i++)
			if (!strcmp(e->lsa.links[i].peer, ends[k][1]))
				r = e->lsa.links[i].rate_bps;
		rate = r < rate ? r : rate;
	}
	return rate;
}

static struct cp_relay_session *relay_to(struct cp_sessions *s, const char *dst)
{
	for (unsigned i = 0; i < s->n_relay; i++)
		if (!strcmp(s->relay[i].dst, dst) && s->relay[i].state == CP_RELAY_ACTIVE)
			return &s->relay[i];
	return NULL;
}

void cp__reserve_path(struct cp_sessions *s, const struct cp_relay_session *r, int64_t bps)
{
	for (unsigned h = 0; h < r->hops; h++) {
		struct cp_reservation *x = resv(s, r->path[h], r->path[h + 1], true);
		if (x)
			x->bps = (uint64_t)((int64_t)x->bps + bps);
	}
}

int cp_app_add(struct cp_sessions *s, const struct cp_route_view *v, const struct cp_config *cfg,
	       const struct cp_app_request *r, char *why, size_t whylen)
{
	const struct cp_cfg_policy *pol = &cfg->policy;
	if (r->n_saes < 2 || r->n_saes > CP_GROUP_MAX)
		return refuse(why, whylen, -EINVAL, "a session needs 2 to %d SAEs", CP_GROUP_MAX);
	if (r->key_bits < 64 || r->key_bits % 8 || r->key_bits > pol->max_key_bits)
		return refuse(why, whylen, -EINVAL,
			      "key size %u bits not allowed (64..%u, a multiple of 8)", r->key_bits,
			      pol->max_key_bits);
	if (r->ttl_s == 0 || r->ttl_s > pol->max_ttl_s)
		return refuse(why, whylen, -EINVAL, "TTL %u s not allowed (1..%u s)", r->ttl_s,
			      pol->max_ttl_s);
	if (r->rate_bps == 0)
		return refuse(why, whylen, -EINVAL, "key rate must be positive");
	const struct cp_cfg_sae *sae[CP_GROUP_MAX];
	for (unsigned i = 0; i < r->n_saes; i++) {
		sae[i] = cp_config_sae(cfg, r->saes[i]);
		if (!sae[i])
			return refuse(why, whylen, -EINVAL, "unknown SAE '%s'", r->saes[i]);
		for (unsigned j = 0; j < i; j++)
			if (sae[j] == sae[i])
				return refuse(why, whylen, -EINVAL, "SAE '%s' listed twice",
					      r->saes[i]);
	}
	if (strcmp(sae[0]->node, s->self))
		return refuse(why, whylen, -EINVAL,
			      "SAE %s is served by node %s: open the session there", sae[0]->name,
			      sae[0]->node);
	/* every remote member needs a route with enough free key rate on each link */
	struct cp_relay_session trial[CP_GROUP_MAX];
	for (unsigned i = 1; i < r->n_saes; i++) {
		if (!strcmp(sae[i]->node, s->self))
			continue;
		struct cp_relay_session *rs = relay_to(s, sae[i]->node);
		if (rs) {
			trial[i] = *rs;
		} else {
			struct cp_sessions probe;
			cp_sessions_init(&probe, s->self, NULL, NULL);
			int id = cp_relay_add(&probe, v, sae[i]->node, 0);
			bool ok = id > 0 && probe.relay[0].state == CP_RELAY_ACTIVE;
			if (ok)
				trial[i] = probe.relay[0];
			cp_sessions_clear(&probe);
			if (!ok)
				return refuse(why, whylen, -EHOSTUNREACH,
					      "no route from %s to %s (no usable KM-link path)",
					      s->self, sae[i]->node);
		}
		for (unsigned h = 0; h < trial[i].hops; h++) {
			const char *a = trial[i].path[h], *b = trial[i].path[h + 1];
			uint64_t cap = (uint64_t)((double)link_rate(v->db, a, b) * pol->max_share);
			uint64_t used = cp_reserved_bps(s, a, b);
			/* members sharing a hop in this same request add up */
			for (unsigned j = 1; j < i; j++)
				for (unsigned k = 0; strcmp(sae[j]->node, s->self) && k < trial[j].hops; k++)
					if (!strcmp(trial[j].path[k], a) && !strcmp(trial[j].path[k + 1], b))
						used += r->rate_bps;
			uint64_t free_bps = cap > used ? cap - used : 0;
			if (free_bps < r->rate_bps)
				return refuse(why, whylen, -ENOSPC,
					      "insufficient key rate on %s-%s: %llu bit/s free, "
					      "%llu bit/s requested",
					      a, b, (unsigned long long)free_bps,
					      (unsigned long long)r->rate_bps);
		}
	}
	if (s->n_app == s->cap_app) {
		unsigned cap = s->cap_app ? 2 * s->cap_app : 16;
		struct cp_app_session *n = realloc(s->app, cap * sizeof(*n));
		if (!n)
			return refuse(why, whylen, -ENOMEM, "out of memory");
		s->app = n;
		s->cap_app = cap;
	}
	struct cp_app_session a = {.id = s->next_id++, .n_saes = r->n_saes, .rate_bps = r->rate_bps,
				   .key_bits = r->key_bits, .ttl_s = r->ttl_s};
	for (unsigned i = 0; i < r->n_saes; i++)
		snprintf(a.saes[i], CP_NAME_MAX, "%s", sae[i]->name);
	for (unsigned i = 1; i < r->n_saes; i++) {
		if (!strcmp(sae[i]->node, s->self))
			continue;
		struct cp_relay_session *rs = relay_to(s, sae[i]->node);
		if (!rs) {
			int id = cp_relay_add(s, v, sae[i]->node, cfg->policy.relay_target);
			if (id < 0)
				return refuse(why, whylen, id, "cannot open relay session to %s",
					      sae[i]->node);
			rs = cp_relay_find(s, (uint32_t)id);
		}
		rs->users++;
		a.relay[i] = rs->id;
		cp__reserve_path(s, rs, (int64_t)r->rate_bps);
		rs->reserved_bps += r->rate_bps;
	}
	s->app[s->n_app++] = a;
	return (int)a.id;
}

int cp_app_del(struct cp_sessions *s, uint32_t id)
{
	for (unsigned i = 0; i < s->n_app; i++) {
		if (s->app[i].id != id)
			continue;
		struct cp_app_session a = s->app[i];
		s->app[i] = s->app[--s->n_app];
		for (unsigned m = 1; m < a.n_saes; m++) {
			struct cp_relay_session *rs = a.relay[m] ? cp_relay_find(s, a.relay[m]) : NULL;
			if (!rs)
				continue;
			cp__reserve_path(s, rs, -(int64_t)a.rate_bps);
			rs->reserved_bps -= a.rate_bps;
			if (--rs->users == 0)
				cp_relay_del(s, rs->id);
		}
		return 0;
	}
	return -ENOENT;
}
