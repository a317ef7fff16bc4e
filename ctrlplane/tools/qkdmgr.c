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
	printf("qkdmgr: listening on port %u, control socket %s\n", cp_mgr_port(d.mgr), sock);
	fflush(stdout);
	cli_serve(base);
	cp_ctl_server_free(d.srv);
	cp_mgr_free(d.mgr);
	event_base_free(base);
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: qkdmgr serve --listen host:port --ca f --cert f --key f [--socket p]\n"
		   "       qkdmgr [-s socket] [--json] show components|alarms | "
		   "show component <id> | history <id> | request <id>\n"
		   "       qkdmgr make-test-pki <dir> <name>...\n");
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
	return cli_client_main(&o, argc, argv, usage);
}
