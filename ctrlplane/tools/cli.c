/* One request per command over the control socket; rendering and exit codes in one place. */
#include "cli.h"

#include <editline/readline.h>
#include <errno.h>
#include <event2/event.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cp_ctl.h"
#include "cp_version.h"

static int call(const struct cli_opts *o, int fd, json_t *argv)
{
	char err[512];
	json_t *resp = NULL;
	if (cp_ctl_call(fd, argv, o->timeout_ms, &resp, err, sizeof(err))) {
		fprintf(stderr, "%s: %s: %s\n", o->tool, o->socket, err);
		return -1;
	}
	int rc = 0;
	if (json_is_true(json_object_get(resp, "ok"))) {
		json_t *r = json_object_get(resp, "result");
		if (o->json) {
			char *s = json_dumps(r, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
			printf("%s\n", s ? s : "{}");
			free(s);
		} else {
			cp_ctl_render(stdout, r);
		}
	} else {
		const char *e = json_string_value(json_object_get(resp, "error"));
		json_int_t code = json_integer_value(json_object_get(resp, "errno"));
		fprintf(stderr, "%s: %s: %s\n", o->tool, json_string_value(json_array_get(argv, 0)),
			e ? e : "failed");
		rc = code == EINVAL ? 2 : 1;
	}
	json_decref(resp);
	return rc;
}

int cli_run(const struct cli_opts *o, int argc, char **argv)
{
	char err[512];
	int fd = cp_ctl_connect(o->socket, err, sizeof(err));
	if (fd < 0) {
		fprintf(stderr, "%s: %s\n", o->tool, err);
		return 1;
	}
	json_t *a = json_array();
	for (int i = 0; i < argc; i++)
		json_array_append_new(a, json_string(argv[i]));
	int rc = call(o, fd, a);
	json_decref(a);
	close(fd);
	return rc < 0 ? 1 : rc;
}

int cli_interactive(const struct cli_opts *o)
{
	char err[512], prompt[64];
	int fd = cp_ctl_connect(o->socket, err, sizeof(err));
	if (fd < 0) {
		fprintf(stderr, "%s: %s\n", o->tool, err);
		return 1;
	}
	snprintf(prompt, sizeof(prompt), "%s> ", o->tool);
	using_history();
	char *line;
	while ((line = readline(isatty(0) ? prompt : ""))) {
		json_t *a = json_array();
		for (char *save, *t = strtok_r(line, " \t", &save); t; t = strtok_r(NULL, " \t", &save))
			json_array_append_new(a, json_string(t));
		const char *w = json_string_value(json_array_get(a, 0));
		if (w && (!strcmp(w, "quit") || !strcmp(w, "exit"))) {
			json_decref(a);
			free(line);
			break;
		}
		if (json_array_size(a)) {
			add_history(line);
			if (call(o, fd, a) < 0) { /* connection lost */
				json_decref(a);
				free(line);
				break;
			}
		}
		json_decref(a);
		free(line);
	}
	close(fd);
	return 0;
}

int cli_client_main(struct cli_opts *o, int argc, char **argv, void (*usage)(FILE *f))
{
	static const struct option opts[] = {{"socket", required_argument, 0, 's'},
					     {"json", no_argument, 0, 'j'},
					     {"timeout", required_argument, 0, 't'},
					     {"help", no_argument, 0, 'h'},
					     {"version", no_argument, 0, 'V'},
					     {0, 0, 0, 0}};
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+s:jt:hV", opts, NULL)) != -1) {
		char *end, buf[160];
		switch (c) {
		case 's': o->socket = optarg; break;
		case 'j': o->json = 1; break;
		case 't':
			o->timeout_ms = (int)strtol(optarg, &end, 10);
			if (*end || o->timeout_ms <= 0) {
				fprintf(stderr, "%s: --timeout: '%s' is not a positive number\n", o->tool,
					optarg);
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("%s\n", cp_version_string(buf, sizeof(buf)));
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind == argc)
		return cli_interactive(o);
	return cli_run(o, argc - optind, argv + optind);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	event_base_loopbreak(arg);
}

void cli_serve(struct event_base *base)
{
	struct event *si = evsignal_new(base, SIGINT, on_signal, base);
	struct event *st = evsignal_new(base, SIGTERM, on_signal, base);
	event_add(si, NULL);
	event_add(st, NULL);
	signal(SIGPIPE, SIG_IGN);
	event_base_dispatch(base);
	event_free(si);
	event_free(st);
}
