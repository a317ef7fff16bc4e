/* EAL argument building shared by qkdnode, qkdsim and the tests. */
#ifndef DP_EAL_H
#define DP_EAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DP_EAL_MAX_ARGS 64

struct dp_eal_args {
	int argc;
	char *argv[DP_EAL_MAX_ARGS];
	char store[DP_EAL_MAX_ARGS][256];
};

/* True when hugetlbfs is mounted and at least 'pages' free huge pages exist. */
bool dp_eal_hugepages_usable(unsigned pages);

/* Start an argument list: program name, a unique --file-prefix, --no-pci, the lcore list, and
 * '--no-huge -m <mem_mb>' when huge pages are not usable (or force_no_huge). Returns 0 or -E2BIG. */
int dp_eal_args_init(struct dp_eal_args *a, const char *prog, const char *file_prefix,
		     const char *lcores, unsigned mem_mb, bool force_no_huge);
/* Append one argument (copied). Returns 0 or -E2BIG. */
int dp_eal_args_add(struct dp_eal_args *a, const char *arg);

/* rte_eth_dev_start, tried again every 50 ms for up to wait_ms while it fails: a memif client
 * connects only when its port starts, so a node started just before its neighbour (or while the
 * neighbour restarts) would otherwise never come up. Returns 0 or the last negative errno. */
int dp_port_start(uint16_t port, unsigned wait_ms);
#define DP_PORT_START_WAIT_MS 10000 /* how long qkdnode and qkdsim wait for a port's peer */

/* A memif client does not reconnect when its server restarts (the server listens on a new
 * socket; the client connects only when its port starts), so the other end's restart would
 * leave the link down for good. dp_port_watch, called now and then by the only thread that
 * bursts on the port, stops a port whose link stayed down for DP_PORT_RECONNECT_MS and starts
 * it again, then tries once a period until the start succeeds. Returns false while the port is
 * stopped: no rx/tx burst on it then. Harmless for a memif server or a port that is up. */
#define DP_PORT_RECONNECT_MS 1000
struct dp_port_watch {
	uint16_t port;
	bool stopped;
	uint64_t down_since_ns, next_try_ns; /* CLOCK_MONOTONIC */
	uint64_t restarts;
};
bool dp_port_watch(struct dp_port_watch *w, uint64_t now_ns);

/* Is anybody accepting on the unix socket file at path? DP_SOCK_ABSENT (no file), DP_SOCK_STALE
 * (a socket file nobody listens on: connect() is refused), DP_SOCK_LIVE (a process accepts on
 * it, or it is a socket of another type), or a negative errno (-ENOTSOCK: a file that is not a
 * socket). Connecting to a live memif server only makes it drop one control connection. */
enum { DP_SOCK_ABSENT = 0, DP_SOCK_STALE = 1, DP_SOCK_LIVE = 2 };
int dp_unix_socket_probe(const char *path);

/* A memif server binds its socket file when its vdev is probed by rte_eal_init and fails when
 * the file exists: a server killed with kill -9 leaves it behind and its next start would fail.
 * Called with the EAL arguments before rte_eal_init: for every memif server vdev with a socket
 * file (socket-abstract=no), a stale file (DP_SOCK_STALE) is removed; a live one is never
 * touched: -EADDRINUSE and a one-line reason in err ("... in use by a running process"), as is
 * any other problem with the path (nothing removed after it). Returns the count removed. The
 * folders of the sockets stay locked (flock) until dp_memif_unlock, to be called after
 * rte_eal_init: two nodes starting at once on one path cannot both take it. */
struct dp_memif_lock {
	unsigned n;
	int fd[DP_EAL_MAX_ARGS];
};
int dp_eal_memif_reclaim(const struct dp_eal_args *a, struct dp_memif_lock *lk, char *err,
			 size_t errlen);
void dp_memif_unlock(struct dp_memif_lock *lk);

#endif
