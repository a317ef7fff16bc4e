/* qkdctl: the operator CLI of a qkdnode control thread (docs/control.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

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
	return cli_client_main(&o, argc, argv, usage);
}
