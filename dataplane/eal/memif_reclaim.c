/* Leftover memif server sockets (see dp_eal.h): a memif server binds its socket file when its
 * vdev is probed inside rte_eal_init and refuses to start when the file exists, which is what a
 * server killed with SIGKILL leaves behind. Before rte_eal_init each server socket file is tried:
 * nobody accepting on it (ECONNREFUSED) means it is stale and it goes; anything else stays. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <rte_kvargs.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "dp_eal.h"

#define MEMIF_DEFAULT_SOCKET "/run/memif.sock" /* DPDK 22.11 defaults: server, abstract */

int dp_unix_socket_probe(const char *path)
{
	struct stat st;
	if (lstat(path, &st) != 0)
		return errno == ENOENT ? DP_SOCK_ABSENT : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -ENOTSOCK; /* a connect() to a regular file is refused too: never remove one */
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	int rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 ? 0 : errno;
	close(fd);
	if (rc == 0 || rc == EPROTOTYPE || rc == EAGAIN)
		return DP_SOCK_LIVE; /* accepting (or someone's socket of another type): in use */
	if (rc == ECONNREFUSED)
		return DP_SOCK_STALE;
	return -rc;
}

/* The socket path of a memif server vdev argument ("net_memif0,role=server,socket=P,..."), or
 * NULL when it is not one that leaves a file (client, abstract socket, another driver). */
static const char *server_socket(const char *vdev, char *path, size_t cap)
{
	if (strncmp(vdev, "net_memif", 9) && strncmp(vdev, "eth_memif", 9))
		return NULL;
	const char *comma = strchr(vdev, ',');
	struct rte_kvargs *kv = rte_kvargs_parse(comma ? comma + 1 : "", NULL);
	if (!kv)
		return NULL; /* the EAL reports the malformed argument itself */
	const char *role = rte_kvargs_get(kv, "role");
	const char *abstract = rte_kvargs_get(kv, "socket-abstract");
	const char *sock = rte_kvargs_get(kv, "socket");
	bool server = !role || !strcmp(role, "server") || !strcmp(role, "master");
	bool file = abstract && !strcmp(abstract, "no");
	snprintf(path, cap, "%s", sock ? sock : MEMIF_DEFAULT_SOCKET);
	rte_kvargs_free(kv);
	return server && file ? path : NULL;
}

/* Serialise starts in one folder: another process between its check and its bind must not see
 * the file it is about to create as stale. One lock per folder (flock is per open file). */
static int lock_dir(struct dp_memif_lock *lk, const char *path, char *err, size_t errlen)
{
	char dir[256];
	snprintf(dir, sizeof(dir), "%s", path);
	int fd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		snprintf(err, errlen, "memif socket %s: its folder: %s", path, strerror(e));
		return -e;
	}
	struct stat a, b;
	for (unsigned i = 0; i < lk->n; i++) {
		if (fstat(fd, &a) == 0 && fstat(lk->fd[i], &b) == 0 && a.st_dev == b.st_dev &&
		    a.st_ino == b.st_ino) {
			close(fd);
			return 0;
		}
	}
	if (lk->n == DP_EAL_MAX_ARGS || flock(fd, LOCK_EX) != 0) {
		snprintf(err, errlen, "memif socket %s: cannot lock its folder", path);
		close(fd);
		return -ENOLCK;
	}
	lk->fd[lk->n++] = fd;
	return 0;
}

int dp_eal_memif_reclaim(const struct dp_eal_args *a, struct dp_memif_lock *lk, char *err,
			 size_t errlen)
{
	lk->n = 0;
	int removed = 0;
	for (int i = 1; i < a->argc; i++) {
		const char *v = a->argv[i];
		if (!strncmp(v, "--vdev=", 7))
			v += 7;
		else if (!strcmp(v, "--vdev") && i + 1 < a->argc)
			v = a->argv[++i];
		else
			continue;
		char path[256];
		if (!server_socket(v, path, sizeof(path)))
			continue;
		int rc = lock_dir(lk, path, err, errlen);
		if (rc < 0) {
			dp_memif_unlock(lk);
			return rc;
		}
		rc = dp_unix_socket_probe(path);
		if (rc == DP_SOCK_STALE) {
			if (unlink(path) != 0 && errno != ENOENT) {
				rc = -errno;
				snprintf(err, errlen, "memif socket %s is stale but cannot be removed: %s",
					 path, strerror(errno));
			} else {
				removed++;
				continue;
			}
		} else if (rc == DP_SOCK_LIVE) {
			snprintf(err, errlen,
				 "memif socket %s is in use by a running process (another node on "
				 "the same socket?)", path);
			rc = -EADDRINUSE;
		} else if (rc < 0) {
			snprintf(err, errlen, "memif socket %s: %s", path, strerror(-rc));
		}
		if (rc < 0) {
			dp_memif_unlock(lk);
			return rc;
		}
	}
	return removed;
}

void dp_memif_unlock(struct dp_memif_lock *lk)
{
	for (unsigned i = 0; i < lk->n; i++)
		close(lk->fd[i]); /* releases the flock */
	lk->n = 0;
}
