/* Per-worker command channels: the control thread sends imperative commands (start/stop a link,
 * drain, zeroize) on a single-producer/single-consumer request ring and reads the worker's
 * answers from a response ring. Fixed-size commands by value; the worker polls without locks
 * (every N loop iterations) and never blocks. */
#ifndef CP_RING_H
#define CP_RING_H

#include <stdatomic.h>
#include <stdint.h>

enum cp_cmd_type {
	CP_CMD_LINK_START = 1, /* resume distilling the QKD link */
	CP_CMD_LINK_STOP,      /* stop the link (blocks in flight are finished, then it idles) */
	CP_CMD_DRAIN,          /* finish in-flight work, take no more */
	CP_CMD_ZEROIZE,        /* wipe the link's key material in worker memory */
};

struct cp_worker_cmd {
	uint32_t type;    /* enum cp_cmd_type */
	uint32_t link_id; /* QKD link id (cp_cfg_qkd_link.id) */
	uint64_t seq;     /* echoed in the response */
	int32_t status;   /* response: 0 or -errno */
	uint32_t reserved;
	uint64_t arg;
};

struct cp_spsc {
	_Alignas(64) _Atomic uint32_t head; /* consumer position */
	_Alignas(64) _Atomic uint32_t tail; /* producer position */
	_Alignas(64) uint32_t mask;
	struct cp_worker_cmd slot[];
};

/* size: power of two >= 2. */
struct cp_spsc *cp_spsc_create(uint32_t size);
void cp_spsc_free(struct cp_spsc *r);
/* 0, or -ENOSPC when full (nothing written). */
int cp_spsc_push(struct cp_spsc *r, const struct cp_worker_cmd *c);
/* 0, or -EAGAIN when empty. */
int cp_spsc_pop(struct cp_spsc *r, struct cp_worker_cmd *c);

/* One worker's pair of rings. */
struct cp_worker_chan {
	unsigned lcore;
	struct cp_spsc *req, *resp;
};

/* Worker side: next command (0) or -EAGAIN; answer it with its status. */
static inline int cp_worker_poll(struct cp_worker_chan *ch, struct cp_worker_cmd *c)
{
	return cp_spsc_pop(ch->req, c);
}
static inline int cp_worker_done(struct cp_worker_chan *ch, const struct cp_worker_cmd *c,
				 int32_t status)
{
	struct cp_worker_cmd r = *c;
	r.status = status;
	return cp_spsc_push(ch->resp, &r);
}

#endif
