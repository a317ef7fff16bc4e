/* qkdmgr: the QKDN manager (Q.QKDN_Mk over mutual TLS) and its CLI.
 *   qkdmgr serve --listen host:port --ca ca.pem --cert mgr.pem --key mgr.key --socket path
 *   qkdmgr [-s socket] [--json] show components|alarms | show component <id> | history <id>
 *          | request <id>        (no command: interactive)
 *   qkdmgr make-test-pki <dir> <name>...   throw-away CA + certificates for tests and demos */
#include <errno.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cp_ctl.h"
#include "cp_mgr.h"
#include "cp_tls.h"

struct daemon {
	struct cp_mgr *mgr;
	struct cp_ctl_server *srv;
};

static int handler(void *ctx, json_t *argv, json_t **result, char *err, size_t errlen,
		   const struct cp_ctl_token *tok)
{
	struct daemon *d = ctx;
	return cp_mgr_command(d->mgr, d->srv, argv, result, err, errlen, tok);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	event_base_loopbreak(arg);
}

static int serve(int argc, char **argv, const char *sock)
{
	const char *listen = "127.0.0.1:7400", *ca = NULL, *cert = NULL, *key = NULL;
	static const struct option opts[] = {{"listen", required_argument, 0, 'l'},
					     {"ca", required_argument, 0, 'a'},
					     {"cert", required_argument, 0, 'c'},
					     {"key", required_argument, 0, 'k'},
					     {"socket", required_argument, 0, 's'},
					     {0, 0, 0, 0}};
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "l:a:c:k:s:", opts, NULL)) != -1) {
		switch (c) {
		case 'l': listen = optarg; break;
		case 'a': ca = optarg; break;
		case 'c': cert = optarg; break;
		case 'k': key = optarg; break;
		case 's': sock = optarg; break;
		default:
			fprintf(stderr, "qkdmgr: serve: usage: qkdmgr serve --listen host:port --ca f "
					"--cert f --key f [--socket path]\n");
			return 2;
		}
	}
	if (!ca || !cert || !key) {
		fprintf(stderr, "qkdmgr: serve: --ca, --cert and --key are required (mutual TLS)\n");
		return 2;
	}
	struct event_base *base = event_base_new();
	char err[512];
	struct daemon d = {0};
	d.mgr = cp_mgr_create(base, listen, ca, cert, key, err, sizeof(err));
	if (!d.mgr) {
		fprintf(stderr, "qkdmgr: serve: %s\n", err);
		event_base_free(base);
		return 1;
	}
	d.srv = cp_ctl_server_create(base, sock, handler, &d, err, sizeof(err));
	if (!d.srv) {
		fprintf(stderr, "qkdmgr: serve: %s\n", err);
		cp_mgr_free(d.mgr);
		event_base_free(base);
		return 1;
	}
	struct event *si = evsignal_new(base, SIGINT, on_signal, base);
	struct event *st = evsignal_new(base, SIGTERM, on_signal, base);
	event_add(si, NULL);
	event_add(st, NULL);
	signal(SIGPIPE, SIG_IGN);
	printf("qkdmgr: listening on port %u, control socket %s\n", cp_mgr_port(d.mgr), sock);
	fflush(stdout);
	event_base_dispatch(base);
	event_free(si);
	event_free(st);
	cp_ctl_server_free(d.srv);
	cp_mgr_free(d.mgr);
	event_base_free(base);
	return 0;
}

int main(int argc, char **argv)
{
	const char *env = getenv("QKDMGR_SOCKET");
	struct cli_opts o = {"qkdmgr", env ? env : "/run/qkdnode/mgr.sock", 0, 10000};
	if (argc > 1 && !strcmp(argv[1], "serve"))
		return serve(argc - 1, argv + 1, o.socket);
	if (argc > 1 && !strcmp(argv[1], "make-test-pki")) {
		if (argc < 4) {
			fprintf(stderr, "qkdmgr: make-test-pki: usage: qkdmgr make-test-pki <dir> <name>...\n");
			return 2;
		}
		int rc = cp_tls_make_test_pki(argv[2], (const char *const *)argv + 3, (unsigned)argc - 3);
		if (rc) {
			fprintf(stderr, "qkdmgr: make-test-pki: %s: %s\n", argv[2], strerror(-rc));
			return 1;
		}
		return 0;
	}
	static const struct option opts[] = {{"socket", required_argument, 0, 's'},
					     {"json", no_argument, 0, 'j'},
					     {"help", no_argument, 0, 'h'},
					     {0, 0, 0, 0}};
	int c;
	while ((c = getopt_long(argc, argv, "+s:jh", opts, NULL)) != -1) {
		switch (c) {
		case 's': o.socket = optarg; break;
		case 'j': o.json = 1; break;
		case 'h':
			printf("usage: qkdmgr serve --listen host:port --ca f --cert f --key f [--socket p]\n"
			       "       qkdmgr [-s socket] [--json] show components|alarms | "
			       "show component <id> | history <id> | request <id>\n");
			return 0;
		default:
			return 2;
		}
	}
	if (optind == argc)
		return cli_interactive(&o);
	return cli_run(&o, argc - optind, argv + optind);
}
