/* Kx-1 relay messages on arbitrary bytes, as received by KM 2 of a line 1 - 2 - 3 whose link
 * pools hold a few keys. Byte 0 picks the sender (1, 3 or a stranger), the rest is the message.
 * Every result is a documented event or error; an error sends nothing; anything sent goes to a
 * neighbour and fits a message; the link pools never gain key material. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "km_relay.h"

static struct km_store *st;
static struct km_relay *relay;
static char dir[64];

static void cleanup(void)
{
	km_relay_free(relay);
	km_store_close(st);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		return;
}

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/fuzz-relay-%d-XXXXXX", (int)getpid());
	if (!mkdtemp(dir))
		abort();
	setenv("FUZZ_RELAY_KEK", "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", 1);
	struct km_store_config sc = {.path = dir, .kek_env = "FUZZ_RELAY_KEK", .sync = KM_SYNC_NONE};
	if (km_store_open(&sc, &st))
		abort();
	uint8_t mat[256];
	for (uint32_t i = 0; i < 16; i++) { /* 8 keys on each link, ids and bytes from i */
		struct km_key_in k = {.pool = KM_POOL_LINK(i < 8 ? 12 : 23), .bits = 8 * sizeof(mat),
				      .type = KM_KEY_QKD, .block_seq = i, .material = mat};
		memset(k.id, (int)i + 1, sizeof(k.id));
		memset(mat, (int)i * 7 + 3, sizeof(mat));
		if (km_store_put(st, &k, 1))
			abort();
	}
	struct km_relay_neighbor nb[2] = {{1, KM_POOL_LINK(12)}, {3, KM_POOL_LINK(23)}};
	struct km_relay_config rc = {2, st, nb, 2};
	if (km_relay_create(&rc, &relay))
		abort();
	atexit(cleanup);
}

static uint64_t link_bits(uint32_t link)
{
	struct km_pool_stats s;
	return km_store_pool_stats(st, KM_POOL_LINK(link), &s) ? 0 : s.available_bits;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!relay)
		setup();
	if (size < 1)
		return 0;
	static const uint32_t senders[4] = {1, 3, 2, 99};
	uint32_t from = senders[data[0] & 3];
	uint64_t before = link_bits(12) + link_bits(23);
	static struct km_relay_out out;
	uint8_t id[KM_KEY_ID_LEN];
	int rc = km_relay_receive(relay, from, data + 1, size - 1, &out, id);
	bool known = rc == -EPROTO || rc == -EBADMSG || rc == -ENOKEY || rc == -EALREADY || rc == -ENOENT ||
		     rc == -EHOSTUNREACH || rc == -ESTALE || rc == -EINVAL || rc == -EEXIST ||
		     rc == -EAGAIN || (rc >= KM_RELAY_FORWARDED && rc <= KM_RELAY_ANSWERED);
	if (!known || (rc < 0 && out.len) || out.len > KM_RELAY_MSG_MAX ||
	    (out.len && out.next_hop != 1 && out.next_hop != 3))
		abort();
	if (link_bits(12) + link_bits(23) > before)
		abort();
	return 0;
}
