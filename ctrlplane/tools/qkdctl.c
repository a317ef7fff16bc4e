/* qkdctl: the operator CLI of a qkdnode control thread (docs/control.md). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cp_version.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: qkdctl [-s socket] [--json] [--timeout ms] [command...]\n"
		"  without a command: interactive mode\n"
		"commands:\n"
		"  show links|keys|routes|sessions|stats|lsdb\n"
		"  link up|down <link>\n"
		"  session add <sae> <sae>... [rate=bps] [key_bits=n] [ttl=s] | session del <id>\n"
		"  relay add <node> [target=bits] | relay del <id>\n"
		"  route show <from> <to> [k=n]\n"
		"  config reload|show\n"
		"  key flush [km_link]\n"
		"  version\n"
		"socket: -s, else $QKDCTL_SOCKET, else /run/qkdnode/ctl.sock\n");
}

int main(int argc, char **argv)
{
	const char *env = getenv("QKDCTL_SOCKET");
	struct cli_opts o = {"qkdctl", env ? env : "/run/qkdnode/ctl.sock", 0, 10000};
	static const struct option opts[] = {{"socket", required_argument, 0, 's'},
					     {"json", no_argument, 0, 'j'},
					     {"timeout", required_argument, 0, 't'},
					     {"help", no_argument, 0, 'h'},
					     {"version", no_argument, 0, 'V'},
					     {0, 0, 0, 0}};
	int c;
	while ((c = getopt_long(argc, argv, "+s:jt:hV", opts, NULL)) != -1) {
		char *end;
		switch (c) {
		case 's':
			o.socket = optarg;
			break;
		case 'j':
			o.json = 1;
			break;
		case 't':
			o.timeout_ms = (int)strtol(optarg, &end, 10);
			if (*end || o.timeout_ms <= 0) {
				fprintf(stderr, "qkdctl: --timeout: '%s' is not a positive number\n", optarg);
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V': {
			char buf[160];
			printf("%s\n", cp_version_string(buf, sizeof(buf)));
			return 0;
		}
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind == argc)
		return cli_interactive(&o);
	return cli_run(&o, argc - optind, argv + optind);
}
