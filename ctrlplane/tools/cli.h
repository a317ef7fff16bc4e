/* Shared client front end of qkdctl and the qkdmgr CLI: one command from argv or an interactive
 * session (libedit), human tables or --json, exit status 0 ok / 1 operation failed / 2 bad input. */
#ifndef CLI_H
#define CLI_H

#include <stdio.h>

struct cli_opts {
	const char *tool;   /* "qkdctl" */
	const char *socket;
	int json;
	int timeout_ms;
};

/* Run argv[0..argc) as one command; returns the exit status. */
int cli_run(const struct cli_opts *o, int argc, char **argv);
/* Interactive mode until EOF / quit; returns 0. */
int cli_interactive(const struct cli_opts *o);
/* A client tool's main after its own subcommands: -s/--socket, --json, -t/--timeout MS,
 * -h/--help (usage to stdout), -V/--version, then one command or interactive mode. Returns the
 * exit status. */
int cli_client_main(struct cli_opts *o, int argc, char **argv, void (*usage)(FILE *f));

struct event_base;
/* A daemon's loop: dispatch base until SIGINT or SIGTERM (SIGPIPE ignored). */
void cli_serve(struct event_base *base);

#endif
