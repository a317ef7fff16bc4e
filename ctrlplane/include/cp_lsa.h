/* Link-state protocol between control threads over the KM links (Y.3802 configuration 1,
 * distributed QKDN). Every node originates one LSA listing its KM links with the state the cost is
 * computed from; LSAs carry a sequence number and an age, are flooded to all neighbours except the
 * sender when newer than the stored copy, and expire at max age. Wire format (big-endian):
 *   "QL" ver(1)=1 type(1)=1 total_len(2) seq(4) age(2) n_links(2) origin_len(1) origin
 *   [ver 2 only: origin number(4), the node's numeric id on the relay wire, 1..0xfffffffe]
 *   per link: peer_len(1) peer flags(1: bit0 up) avail(8) max(8) delta(8, two's complement)
 *             low_water(8) rate_bps(8)
 * Names are 1..CP_NAME_MAX-1 characters of [A-Za-z0-9._:-]. Version 2 is sent when the origin
 * has a number (so every node learns the name -> number map of the nodes a route crosses);
 * version 1 otherwise. Both decode. */
#ifndef CP_LSA_H
#define CP_LSA_H

#include <stddef.h>
#include <stdint.h>

#include "cp_graph.h"

#define CP_NAME_MAX 32
#define CP_LSA_MAX_LINKS 64
#define CP_LSA_MAX_WIRE (18 + CP_NAME_MAX + CP_LSA_MAX_LINKS * (2 + CP_NAME_MAX + 40))
#define CP_LSA_MAX_AGE 3600 /* seconds; an LSA not refreshed for this long is dropped */

struct cp_lsa_link {
	char peer[CP_NAME_MAX];
	struct cp_link_attr attr;
	uint64_t rate_bps; /* secret key rate of the link */
};

struct cp_lsa {
	char origin[CP_NAME_MAX];
	uint32_t number; /* origin's numeric node id; 0 = none (version 1) */
	uint32_t seq;
	uint16_t age;
	uint16_t n_links;
	struct cp_lsa_link links[CP_LSA_MAX_LINKS];
};

/* True when name is a valid node/link name (see above). */
int cp_name_valid(const char *name);

/* Encode into buf[cap]; returns the length or -ENOSPC / -EINVAL (invalid names or counts). */
int cp_lsa_encode(const struct cp_lsa *l, uint8_t *buf, size_t cap);
/* Decode exactly len bytes; returns 0 or -EPROTO (malformed), never reads past len. */
int cp_lsa_decode(struct cp_lsa *l, const uint8_t *buf, size_t len);
/* Sequence comparison with wrap-around: > 0 when a is newer than b. */
static inline int cp_lsa_seq_cmp(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) > 0 ? 1 : (a == b ? 0 : -1);
}

/* The link-state database of one node. */
struct cp_lsdb_entry {
	struct cp_lsa lsa;
	uint64_t rx_ms; /* when installed (age grows from lsa.age from here) */
};
struct cp_lsdb {
	struct cp_lsdb_entry *v;
	unsigned n, cap;
	unsigned max_age_s;
};

void cp_lsdb_init(struct cp_lsdb *db, unsigned max_age_s);
void cp_lsdb_clear(struct cp_lsdb *db);
/* Install l received at now_ms. Returns 1 when it was newer (flood it on), 0 when a duplicate or
 * older (do not flood), -EINVAL for an LSA already at max age that we did not hold. */
int cp_lsdb_install(struct cp_lsdb *db, const struct cp_lsa *l, uint64_t now_ms);
const struct cp_lsdb_entry *cp_lsdb_find(const struct cp_lsdb *db, const char *origin);
/* Current age of an entry in seconds. */
unsigned cp_lsdb_age(const struct cp_lsdb *db, const struct cp_lsdb_entry *e, uint64_t now_ms);
/* Drop origin's entry (a restarted origin starts its sequence again). 1 dropped, 0 absent. */
int cp_lsdb_remove(struct cp_lsdb *db, const char *origin);
/* Drop entries older than max age; returns how many. */
unsigned cp_lsdb_expire(struct cp_lsdb *db, uint64_t now_ms);

/* Routing graph from the database: nodes are all origins and peers sorted by name (names[i] is
 * node i, valid until the db changes); an edge a->b exists when both a and b advertise the link
 * (two-way check) with cost max(cost seen by a, cost seen by b). */
struct cp_lsdb_graph {
	struct cp_graph *g;
	char (*names)[CP_NAME_MAX];
	uint32_t n;
};
int cp_lsdb_build_graph(const struct cp_lsdb *db, const struct cp_cost_params *p,
			struct cp_lsdb_graph *out);
void cp_lsdb_graph_release(struct cp_lsdb_graph *lg);
/* Index of name in the graph, or CP_NODE_NONE. */
uint32_t cp_lsdb_graph_node(const struct cp_lsdb_graph *lg, const char *name);

#endif
