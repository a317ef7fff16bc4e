/* Prometheus text exposition (format 0.0.4) of the statistics object, served by evhttp on the
 * configured address (loopback by default; port 0 in the file means "off"). */
#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <stdio.h>
#include <stdlib.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "ctrl_internal.h"

struct metric {
	const char *key, *name, *type, *help;
	double scale;
};

static const struct metric link_metrics[] = {
	{"skr_bps", "qkd_link_secret_key_rate_bps", "gauge", "Secret key rate of the QKD link", 1},
	{"qber", "qkd_link_qber", "gauge", "Quantum bit error rate", 1},
	{"buffer_bits", "qkd_key_buffer_bits", "gauge", "Key available in the KM link buffer", 1},
	{"capacity_bits", "qkd_key_buffer_capacity_bits", "gauge", "KM link buffer capacity", 1},
	{"fill_rate_bps", "qkd_key_buffer_fill_rate_bps", "gauge", "Net buffer fill rate", 1},
	{"keys_supplied", "qkd_keys_supplied_total", "counter", "Keys supplied to SAEs", 1},
	{"ttl_expired", "qkd_keys_ttl_expired_total", "counter", "Keys dropped at TTL", 1},
	{"auth_failures", "qkd_auth_failures_total", "counter", "Authentication failures", 1},
	{"relay_latency_us", "qkd_relay_latency_seconds", "gauge", "Mean relay hop latency", 1e-6},
	{"resyncs", "qkd_km_link_resyncs_total", "counter", "KM-link key pool resyncs that agreed", 1},
	{"resync_failures", "qkd_km_link_resync_failures_total", "counter",
	 "KM-link key pool resyncs that failed", 1},
};

static void esc(FILE *f, const char *s)
{
	for (; *s; s++)
		fprintf(f, (*s == '"' || *s == '\\') ? "\\%c" : (*s == '\n' ? "\\n" : "%c"), *s);
}

char *cp_metrics_text(const json_t *stats)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return NULL;
	const char *node = json_string_value(json_object_get(stats, "node"));
	node = node ? node : "";
	json_t *links = json_object_get(stats, "links");
	fprintf(f, "# HELP qkd_link_up KM link in service (1) or not (0)\n# TYPE qkd_link_up gauge\n");
	size_t i;
	json_t *l;
	json_array_foreach(links, i, l)
	{
		fprintf(f, "qkd_link_up{node=\"");
		esc(f, node);
		fprintf(f, "\",link=\"");
		esc(f, json_string_value(json_object_get(l, "name")));
		fprintf(f, "\",peer=\"");
		esc(f, json_string_value(json_object_get(l, "peer")));
		fprintf(f, "\"} %d\n",
			!strcmp(json_string_value(json_object_get(l, "state")), "up"));
	}
	for (size_t m = 0; m < sizeof(link_metrics) / sizeof(link_metrics[0]); m++) {
		const struct metric *mt = &link_metrics[m];
		fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", mt->name, mt->help, mt->name, mt->type);
		json_array_foreach(links, i, l)
		{
			fprintf(f, "%s{node=\"", mt->name);
			esc(f, node);
			fprintf(f, "\",link=\"");
			esc(f, json_string_value(json_object_get(l, "name")));
			fprintf(f, "\"} %.17g\n", json_number_value(json_object_get(l, mt->key)) * mt->scale);
		}
	}
	json_t *s = json_object_get(stats, "sessions");
	fprintf(f, "# HELP qkd_relay_sessions Relay sessions by state\n# TYPE qkd_relay_sessions gauge\n");
	fprintf(f, "qkd_relay_sessions{state=\"active\"} %lld\n",
		(long long)json_integer_value(json_object_get(s, "relay_active")));
	fprintf(f, "qkd_relay_sessions{state=\"unroutable\"} %lld\n",
		(long long)json_integer_value(json_object_get(s, "relay_unroutable")));
	fprintf(f, "# HELP qkd_app_sessions Admitted application sessions\n# TYPE qkd_app_sessions gauge\n");
	fprintf(f, "qkd_app_sessions %lld\n", (long long)json_integer_value(json_object_get(s, "app")));
	const char *k;
	json_t *v;
	json_object_foreach(json_object_get(stats, "counters"), k, v)
	{
		bool gauge = !strcmp(k, "last_route_us");
		fprintf(f, "# TYPE qkd_ctrl_%s%s %s\nqkd_ctrl_%s%s %.17g\n", k, gauge ? "" : "_total",
			gauge ? "gauge" : "counter", k, gauge ? "" : "_total", json_number_value(v));
	}
	json_t *ctl = json_object_get(stats, "controller"); /* [routing] mode = central */
	if (ctl)
		fprintf(f, "# HELP qkd_controller_connected Connected to the central controller\n"
			   "# TYPE qkd_controller_connected gauge\nqkd_controller_connected %d\n"
			   "# TYPE qkd_controller_routes_total counter\nqkd_controller_routes_total %lld\n",
			json_is_true(json_object_get(ctl, "connected")),
			(long long)json_integer_value(json_object_get(ctl, "routes")));
	fprintf(f, "# HELP qkd_alarms Active alarms\n# TYPE qkd_alarms gauge\n");
	fprintf(f, "qkd_alarms %zu\n", json_array_size(json_object_get(stats, "alarms")));
	fclose(f);
	return buf;
}

static void on_request(struct evhttp_request *req, void *arg)
{
	struct cp_ctrl *c = arg;
	const char *uri = evhttp_request_get_uri(req);
	if (evhttp_request_get_command(req) != EVHTTP_REQ_GET || strcmp(uri, "/metrics")) {
		evhttp_send_error(req, HTTP_NOTFOUND, "only GET /metrics");
		return;
	}
	char *text = cp_metrics_text(c->stats);
	struct evbuffer *b = evbuffer_new();
	evbuffer_add(b, text, strlen(text));
	free(text);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
			  "text/plain; version=0.0.4");
	evhttp_send_reply(req, HTTP_OK, "OK", b);
	evbuffer_free(b);
}

int cp_metrics_start(struct cp_ctrl *c, char *err, size_t errlen)
{
	const char *addr = c->cfg->metrics;
	if (!addr[0])
		return 0;
	char host[CP_ADDR_MAX];
	snprintf(host, sizeof(host), "%s", addr);
	char *colon = strrchr(host, ':');
	*colon = 0;
	unsigned port = (unsigned)atoi(colon + 1);
	if (host[0] == '[') { /* [::1]:9100 */
		memmove(host, host + 1, strlen(host));
		host[strlen(host) - 1] = 0;
	}
	c->http = evhttp_new(c->base);
	struct evhttp_bound_socket *bs =
		c->http ? evhttp_bind_socket_with_handle(c->http, host, (uint16_t)port) : NULL;
	if (!bs) {
		snprintf(err, errlen, "metrics %s: cannot bind: %s", addr, strerror(errno));
		if (c->http)
			evhttp_free(c->http);
		c->http = NULL;
		return -EINVAL;
	}
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&ss, &sl);
	c->metrics_port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
							 : ((struct sockaddr_in *)&ss)->sin_port);
	evhttp_set_gencb(c->http, on_request, c);
	return 0;
}

void cp_metrics_stop(struct cp_ctrl *c)
{
	if (c->http)
		evhttp_free(c->http);
	c->http = NULL;
}
