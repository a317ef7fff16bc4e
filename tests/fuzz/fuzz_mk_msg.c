/* Q.QKDN_Mk message decoding on arbitrary bytes: a decode either fails with a reason (and the
 * failure response built from it encodes to a valid message) or succeeds, and then the message
 * encodes and decodes back to the same fields. */
#include <stdlib.h>
#include <string.h>

#include "cp_mk.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cp_mk_msg m, back, f;
	char why[256] = "";
	if (cp_mk_decode((const char *)data, size, &m, why, sizeof(why))) {
		if (!why[0])
			abort();
		cp_mk_failure_for(&m, why, &f);
		char *s = cp_mk_encode(&f);
		if (!s || cp_mk_decode(s, strlen(s), &back, why, sizeof(why)))
			abort();
		cp_mk_msg_clear(&back);
		free(s);
		return 0;
	}
	char *s = cp_mk_encode(&m);
	if (!s || cp_mk_decode(s, strlen(s), &back, why, sizeof(why)))
		abort();
	if (back.type != m.type || back.iface != m.iface || back.seq != m.seq ||
	    strcmp(back.component_id, m.component_id) || strcmp(back.response, m.response) ||
	    !(back.extension ? m.extension && json_equal(back.extension, m.extension) : !m.extension))
		abort();
	cp_mk_msg_clear(&back);
	cp_mk_msg_clear(&m);
	free(s);
	return 0;
}
