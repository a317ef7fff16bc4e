/* LSA wire decoding on arbitrary bytes: anything decoded re-encodes to exactly the input (the
 * encoding is canonical), and installing it in a database and building the routing graph works. */
#include <stdlib.h>
#include <string.h>

#include "cp_lsa.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cp_lsa l;
	if (cp_lsa_decode(&l, data, size))
		return 0;
	uint8_t buf[CP_LSA_MAX_WIRE];
	int n = cp_lsa_encode(&l, buf, sizeof(buf));
	if (n < 0 || (size_t)n != size || memcmp(buf, data, size))
		abort();
	struct cp_lsdb db;
	cp_lsdb_init(&db, 0);
	cp_lsdb_install(&db, &l, 0);
	struct cp_lsdb_graph lg;
	if (cp_lsdb_build_graph(&db, &cp_cost_default, &lg) == 0)
		cp_lsdb_graph_release(&lg);
	cp_lsdb_clear(&db);
	return 0;
}
