/* Control-socket requests per second against a running control thread (simulated node with four
 * KM links), one client on a persistent connection; baseline: the same request bytes echoed by a
 * bare thread over a unix socket pair (the kernel round trip alone). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cp_ctl.h"
#include "cp_ctrl.h"
#include "cp_sim.h"
#include "qkdperf.h"

static const char request[] = "{\"id\":1,\"argv\":[\"show\",\"links\"]}\n";

struct echo {
	int fd;
};

static void *echo_main(void *p)
{
	struct echo *e = p;
	char buf[4096];
	ssize_t n;
	while ((n = read(e->fd, buf, sizeof(buf))) > 0)
		if (write(e->fd, buf, (size_t)n) != n)
			break;
	return NULL;
}

struct ctl_arg {
	int fd;
	json_t *argv;
};

static void run_echo(void *p)
{
	struct ctl_arg *a = p;
	char buf[256];
	if (write(a->fd, request, sizeof(request) - 1) < 0)
		return;
	size_t got = 0;
	while (got < sizeof(request) - 1) {
		ssize_t n = read(a->fd, buf, sizeof(buf));
		if (n <= 0)
			return;
		got += (size_t)n;
	}
	QP_KEEP(got);
}

static void run_call(void *p)
{
	struct ctl_arg *a = p;
	json_t *resp = NULL;
	char err[256];
	if (cp_ctl_call(a->fd, a->argv, 5000, &resp, err, sizeof(err)) == 0)
		json_decref(resp);
}

static void bench_ctl(struct qp_run *r)
{
	char text[2048], err[512];
	char sock[64];
	snprintf(sock, sizeof(sock), "/tmp/ctrl-bench-%d.sock", (int)getpid());
	int off = snprintf(text, sizeof(text), "[node]\nid = A\nlcores = 1\ncontrol_socket = %s\n", sock);
	for (int i = 0; i < 4; i++)
		off += snprintf(text + off, sizeof(text) - (size_t)off,
				"[qkd_link q%d]\nid = %d\npeer = N%d\n[km_link k%d]\npeer = N%d\nqkd_link = q%d\n",
				i, i + 1, i, i, i, i);
	struct cp_config *cfg;
	if (cp_config_parse_string(text, "bench", &cfg, err, sizeof(err))) {
		fprintf(stderr, "bench_ctl: %s\n", err);
		return;
	}
	struct cp_sim *sim = cp_sim_create(cfg, 1e5);
	struct cp_ctrl_opts o = {.config = cfg, .ops = cp_sim_ops(), .ops_ctx = sim};
	struct cp_ctrl *ctrl = cp_ctrl_create(&o, err, sizeof(err));
	if (!ctrl) {
		fprintf(stderr, "bench_ctl: %s\n", err);
		cp_sim_free(sim);
		cp_config_free(cfg);
		return;
	}
	cp_sim_start_workers(sim, ctrl);
	cp_ctrl_start(ctrl);

	int sv[2];
	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	struct echo e = {sv[1]};
	pthread_t t;
	pthread_create(&t, NULL, echo_main, &e);
	struct ctl_arg a = {sv[0], NULL};
	struct qp_case c = {"ctl_socket", "raw-echo", 1, "kreq/s", 1, run_echo, &a, true};
	qp_measure(r, &c);
	shutdown(sv[0], SHUT_RDWR);
	pthread_join(t, NULL);
	close(sv[0]);
	close(sv[1]);

	a.fd = cp_ctl_connect(sock, err, sizeof(err));
	static const char *const cmds[][2] = {{"version", NULL}, {"show", "links"}, {"show", "stats"}};
	static const char *const names[] = {"version", "show-links", "show-stats"};
	for (unsigned i = 0; a.fd >= 0 && i < 3; i++) {
		a.argv = json_array();
		for (unsigned k = 0; k < 2 && cmds[i][k]; k++)
			json_array_append_new(a.argv, json_string(cmds[i][k]));
		c.variant = names[i];
		c.fn = run_call;
		c.baseline = false;
		qp_measure(r, &c);
		json_decref(a.argv);
	}
	if (a.fd >= 0)
		close(a.fd);
	cp_ctrl_stop(ctrl);
	cp_sim_stop_workers(sim);
	cp_ctrl_free(ctrl);
	cp_sim_free(sim);
	cp_config_free(cfg);
}
QP_BENCH("ctl_socket", "control-socket requests/s on a running control thread", bench_ctl)
