/* Node INI parsing on arbitrary text: either a configuration comes back, or nothing does and the
 * error is one line naming the file. */
#include <stdlib.h>
#include <string.h>

#include "cp_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = 0;
	struct cp_config *c = NULL;
	char err[512] = "";
	int rc = cp_config_parse_string(text, "fuzz.ini", &c, err, sizeof(err));
	if (rc == 0) {
		if (!c || !c->node_id[0])
			abort();
		cp_config_free(c);
	} else if (c || strncmp(err, "fuzz.ini", 8) || strchr(err, '\n')) {
		abort();
	}
	free(text);
	return 0;
}
