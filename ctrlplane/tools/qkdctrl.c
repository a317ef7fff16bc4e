/* qkdctrl: the central QKDN controller (Y.3802 configuration 2, docs/central.md) and its CLI.
 *   qkdctrl serve --listen host:port --ca ca.pem --cert ctrl.pem --key ctrl.key --socket path
 *                 [--cost c0,c1,c2] [--batch-ms n] [--max-age-s n] [--warmup-ms n]
 *                 [--manager host:port [--manager-id id] [--report-ms n]]
 *   qkdctrl [-s socket] [--json] show nodes|links|stats | show routes [node]
 *           | route show <from> <to> [k=n]          (no command: interactive) */
#include <errno.h>
#include <event2/event.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cp_central.h"
#include "cp_ctl.h"
#include "cp_tls.h"

static int handler(void *ctx, json_t *argv, json_t **result, char *err, size_t errlen,
		   const struct cp_ctl_token *tok)
{
	return cp_cen_server_command(ctx, argv, result, err, errlen);
}

static int number(const char *opt, const char *v, unsigned lo, unsigned hi, unsigned *out)
{
	char *end;
	unsigned long x = strtoul(v, &end, 10);
	if (*end || end == v || v[0] == '-' || x < lo || x > hi) {
		fprintf(stderr, "qkdctrl: serve: %s must be an integer in [%u, %u], got '%s'\n", opt, lo,
			hi, v);
		return -1;
	}
	*out = (unsigned)x;
	return 0;
}

static int costs(const char *v, struct cp_cost_params *p)
{
	char *end;
	double c[3];
	const char *s = v;
	for (int i = 0; i < 3; i++) {
		c[i] = strtod(s, &end);
		if (end == s || *end != (i < 2 ? ',' : 0) || !(c[i] >= 0 && c[i] <= 1e9) ||
		    (i == 0 && !(c[i] > 0))) {
			fprintf(stderr, "qkdctrl: serve: --cost must be c0,c1,c2 with c0 > 0 and c1, c2 "
					">= 0, got '%s'\n", v);
			return -1;
		}
		s = end + 1;
	}
	*p = (struct cp_cost_params){c[0], c[1], c[2]};
	return 0;
}

static int serve(int argc, char **argv, const char *sock)
{
	struct cp_cen_server_opts o = {.listen = "127.0.0.1:7500", .cost = cp_cost_default,
				       .batch_ms = 20, .max_age_s = 120, .warmup_ms = 15000};
	static const struct option opts[] = {{"listen", required_argument, 0, 'l'},
					     {"ca", required_argument, 0, 'a'},
					     {"cert", required_argument, 0, 'c'},
					     {"key", required_argument, 0, 'k'},
					     {"socket", required_argument, 0, 's'},
					     {"cost", required_argument, 0, 'C'},
					     {"batch-ms", required_argument, 0, 'b'},
					     {"max-age-s", required_argument, 0, 'm'},
					     {"warmup-ms", required_argument, 0, 'w'},
					     {"manager", required_argument, 0, 'M'},
					     {"manager-id", required_argument, 0, 'I'},
					     {"report-ms", required_argument, 0, 'R'},
					     {0, 0, 0, 0}};
	const char *manager = NULL, *manager_id = "qkdctrl";
	unsigned report_ms = 5000;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "l:a:c:k:s:", opts, NULL)) != -1) {
		switch (c) {
		case 'l': o.listen = optarg; break;
		case 'a': o.ca = optarg; break;
		case 'c': o.cert = optarg; break;
		case 'k': o.key = optarg; break;
		case 's': sock = optarg; break;
		case 'C':
			if (costs(optarg, &o.cost))
				return 2;
			break;
		case 'b':
			if (number("--batch-ms", optarg, 0, 60000, &o.batch_ms))
				return 2;
			break;
		case 'm':
			if (number("--max-age-s", optarg, 1, 86400, &o.max_age_s))
				return 2;
			break;
		case 'w':
			if (number("--warmup-ms", optarg, 0, 600000, &o.warmup_ms))
				return 2;
			break;
		case 'M': manager = optarg; break;
		case 'I': manager_id = optarg; break;
		case 'R':
			if (number("--report-ms", optarg, 100, 86400000, &report_ms))
				return 2;
			break;
		default:
			fprintf(stderr, "qkdctrl: serve: usage: qkdctrl serve --listen host:port --ca f "
					"--cert f --key f [--socket path] [--cost c0,c1,c2] "
					"[--batch-ms n] [--max-age-s n] [--warmup-ms n] [--manager host:port "
					"[--manager-id id] [--report-ms n]]\n");
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "qkdctrl: serve: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	if (!o.ca || !o.cert || !o.key) {
		fprintf(stderr, "qkdctrl: serve: --ca, --cert and --key are required (mutual TLS)\n");
		return 2;
	}
	struct event_base *base = event_base_new();
	char err[512];
	struct cp_cen_server *s = base ? cp_cen_server_create(base, &o, err, sizeof(err)) : NULL;
	if (!s) {
		fprintf(stderr, "qkdctrl: serve: %s\n", base ? err : "libevent initialisation failed");
		if (base)
			event_base_free(base);
		return 1;
	}
	struct cp_ctl_server *srv = cp_ctl_server_create(base, sock, handler, s, err, sizeof(err));
	struct cp_cen_mc *mc = NULL;
	if (srv && manager) { /* Mc: the controller reports to the QKDN manager */
		SSL_CTX *ssl = cp_tls_ctx(false, o.ca, o.cert, o.key, err, sizeof(err));
		mc = ssl ? cp_cen_mc_create(base, s, manager, manager_id, ssl, report_ms, err,
					    sizeof(err))
			 : NULL;
	}
	if (!srv || (manager && !mc)) {
		fprintf(stderr, "qkdctrl: serve: %s\n", err);
		cp_ctl_server_free(srv);
		cp_cen_server_free(s);
		event_base_free(base);
		return 1;
	}
	printf("qkdctrl: listening on port %u, control socket %s\n", cp_cen_server_port(s), sock);
	fflush(stdout);
	cli_serve(base);
	cp_cen_mc_free(mc);
	cp_ctl_server_free(srv);
	cp_cen_server_free(s);
	event_base_free(base);
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: qkdctrl serve --listen host:port --ca f --cert f --key f [--socket p]\n"
		   "                     [--cost c0,c1,c2] [--batch-ms n] [--max-age-s n] [--warmup-ms n]\n"
		   "                     [--manager host:port [--manager-id id] [--report-ms n]]\n"
		   "       qkdctrl [-s socket] [--json] show nodes|links|stats | show routes [node]\n"
		   "               | route show <from> <to> [k=n]     (no command: interactive)\n"
		   "socket: -s, else $QKDCTRL_SOCKET, else /run/qkdnode/ctrl.sock\n");
}

int main(int argc, char **argv)
{
	const char *env = getenv("QKDCTRL_SOCKET");
	struct cli_opts o = {"qkdctrl", env ? env : "/run/qkdnode/ctrl.sock", 0, 10000};
	if (argc > 1 && !strcmp(argv[1], "serve"))
		return serve(argc - 1, argv + 1, o.socket);
	return cli_client_main(&o, argc, argv, usage);
}
