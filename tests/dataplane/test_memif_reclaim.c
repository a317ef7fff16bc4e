/* Leftover memif server sockets: the liveness check (connect() refused = stale) and the removal
 * before rte_eal_init, which never touches a socket somebody accepts on, a client's path, an
 * abstract socket or a file that is not a socket. No EAL needed. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "dp_eal.h"
#include "unit.h"

static char dir[128];

static void path_of(char *out, size_t cap, const char *name)
{
	snprintf(out, cap, "%s/%s", dir, name);
}

/* A listening unix socket of the given type bound to path; its fd. */
static int listener(const char *path, int type)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sa.sun_path))
		return -1;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	int fd = socket(AF_UNIX, type, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 1)) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static bool exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

static int suite_init(void)
{
	snprintf(dir, sizeof(dir), "/tmp/test_memif_reclaim_%d", (int)getpid());
	return mkdir(dir, 0700);
}

static int suite_clean(void)
{
	char cmd[160];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_probe(void)
{
	char p[160];
	path_of(p, sizeof(p), "probe.sock");
	CU_ASSERT_EQUAL(dp_unix_socket_probe(p), DP_SOCK_ABSENT);
	int fd = listener(p, SOCK_SEQPACKET);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(dp_unix_socket_probe(p), DP_SOCK_LIVE);
	close(fd); /* what kill -9 does: the file stays, nobody listens */
	CU_ASSERT(exists(p));
	CU_ASSERT_EQUAL(dp_unix_socket_probe(p), DP_SOCK_STALE);
	/* someone's stream socket on the path: connect() says EPROTOTYPE, it is in use */
	char q[160];
	path_of(q, sizeof(q), "stream.sock");
	fd = listener(q, SOCK_STREAM);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(dp_unix_socket_probe(q), DP_SOCK_LIVE);
	close(fd);
	char r[160];
	path_of(r, sizeof(r), "plain");
	FILE *f = fopen(r, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fclose(f);
	CU_ASSERT_EQUAL(dp_unix_socket_probe(r), -ENOTSOCK);
}

static void args_with(struct dp_eal_args *a, const char *vdev)
{
	CU_ASSERT_EQUAL_FATAL(dp_eal_args_init(a, "test", "test_memif_reclaim", "0", 64, true), 0);
	CU_ASSERT_EQUAL_FATAL(dp_eal_args_add(a, vdev), 0);
}

static void test_reclaim(void)
{
	char stale[160], live[160], client[160], plain[160], vdev[400];
	path_of(stale, sizeof(stale), "stale.sock");
	path_of(live, sizeof(live), "live.sock");
	path_of(client, sizeof(client), "client.sock");
	path_of(plain, sizeof(plain), "plain.sock");
	int fd = listener(stale, SOCK_SEQPACKET);
	CU_ASSERT_FATAL(fd >= 0);
	close(fd);
	int live_fd = listener(live, SOCK_SEQPACKET);
	CU_ASSERT_FATAL(live_fd >= 0);
	fd = listener(client, SOCK_SEQPACKET);
	CU_ASSERT_FATAL(fd >= 0);
	close(fd);
	FILE *f = fopen(plain, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fclose(f);
	struct dp_eal_args a;
	struct dp_memif_lock lk;
	char err[320] = "";

	/* a stale server socket (role left to its default, server) goes; the folder stays locked */
	snprintf(vdev, sizeof(vdev), "--vdev=net_memif0,socket=%s,socket-abstract=no", stale);
	args_with(&a, vdev);
	CU_ASSERT_EQUAL(dp_eal_memif_reclaim(&a, &lk, err, sizeof(err)), 1);
	CU_ASSERT(!exists(stale));
	CU_ASSERT_EQUAL(lk.n, 1);
	int other = open(dir, O_RDONLY | O_DIRECTORY);
	CU_ASSERT_FATAL(other >= 0);
	CU_ASSERT_EQUAL(flock(other, LOCK_EX | LOCK_NB), -1);
	CU_ASSERT_EQUAL(errno, EWOULDBLOCK);
	dp_memif_unlock(&lk);
	CU_ASSERT_EQUAL(flock(other, LOCK_EX | LOCK_NB), 0);
	close(other);

	/* a live one is never removed, and says why */
	snprintf(vdev, sizeof(vdev), "--vdev=net_memif1,role=server,socket=%s,socket-abstract=no,mac=02:00:00:00:00:01", live);
	args_with(&a, vdev);
	CU_ASSERT_EQUAL(dp_eal_memif_reclaim(&a, &lk, err, sizeof(err)), -EADDRINUSE);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, live));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "in use by a running process"));
	CU_ASSERT_EQUAL(lk.n, 0);
	CU_ASSERT_EQUAL(dp_unix_socket_probe(live), DP_SOCK_LIVE);
	close(live_fd);

	/* a client's path, an abstract socket and another driver are not ours to clean */
	const char *fmt[] = {"--vdev=net_memif2,role=client,socket=%s,socket-abstract=no",
			     "--vdev=net_memif3,role=server,socket=%s",
			     "--vdev=net_memif4,role=server,socket=%s,socket-abstract=yes",
			     "--vdev=net_pcap0,rx_pcap=%s"};
	for (unsigned i = 0; i < 4; i++) {
		snprintf(vdev, sizeof(vdev), fmt[i], client);
		args_with(&a, vdev);
		CU_ASSERT_EQUAL(dp_eal_memif_reclaim(&a, &lk, err, sizeof(err)), 0);
		dp_memif_unlock(&lk);
		CU_ASSERT(exists(client));
	}

	/* a file that is not a socket is refused (a connect() to it is refused too) and kept */
	snprintf(vdev, sizeof(vdev), "--vdev=net_memif5,role=server,socket=%s,socket-abstract=no", plain);
	args_with(&a, vdev);
	CU_ASSERT_EQUAL(dp_eal_memif_reclaim(&a, &lk, err, sizeof(err)), -ENOTSOCK);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, plain));
	CU_ASSERT(exists(plain));

	/* two arguments ("--vdev" then the value) and several sockets in one folder: one lock */
	fd = listener(stale, SOCK_SEQPACKET);
	CU_ASSERT_FATAL(fd >= 0);
	close(fd);
	CU_ASSERT_EQUAL_FATAL(dp_eal_args_init(&a, "test", "test_memif_reclaim", "0", 64, true), 0);
	snprintf(vdev, sizeof(vdev), "net_memif6,role=server,socket=%s,socket-abstract=no", stale);
	CU_ASSERT_EQUAL(dp_eal_args_add(&a, "--vdev"), 0);
	CU_ASSERT_EQUAL(dp_eal_args_add(&a, vdev), 0);
	snprintf(vdev, sizeof(vdev), "--vdev=net_memif7,role=server,socket=%s/new.sock,socket-abstract=no", dir);
	CU_ASSERT_EQUAL(dp_eal_args_add(&a, vdev), 0);
	CU_ASSERT_EQUAL(dp_eal_memif_reclaim(&a, &lk, err, sizeof(err)), 1);
	CU_ASSERT_EQUAL(lk.n, 1);
	CU_ASSERT(!exists(stale));
	dp_memif_unlock(&lk);
}

static CU_TestInfo tests[] = {
	{"liveness: absent, live, stale, other type, not a socket", test_probe},
	{"reclaim: stale removed, live refused, others untouched", test_reclaim},
	CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
	{"memif_reclaim", suite_init, suite_clean, NULL, NULL, tests},
	CU_SUITE_INFO_NULL,
};

int main(void)
{
	return unit_run(suites);
}
