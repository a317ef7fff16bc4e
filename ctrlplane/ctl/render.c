/* Human output for control-socket results: tables for arrays of objects, "key: value" lines
 * for scalars, nested objects indented. Column widths fit the widest cell. */
#include "cp_ctl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *cell(const json_t *v)
{
	char buf[64];
	switch (json_typeof(v)) {
	case JSON_STRING:
		return strdup(json_string_value(v));
	case JSON_INTEGER:
		snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(v));
		return strdup(buf);
	case JSON_REAL: {
		double d = json_real_value(v);
		if (d >= 1000 || d <= -1000)
			snprintf(buf, sizeof(buf), "%.0f", d);
		else if (d != 0 && (d < 0.001 && d > -0.001))
			snprintf(buf, sizeof(buf), "%.3g", d);
		else
			snprintf(buf, sizeof(buf), "%.4g", d);
		return strdup(buf);
	}
	case JSON_TRUE:
		return strdup("yes");
	case JSON_FALSE:
		return strdup("no");
	case JSON_NULL:
		return strdup("-");
	default: {
		char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
		return s ? s : strdup("?");
	}
	}
}

static int is_table(const json_t *v)
{
	if (!json_is_array(v) || json_array_size(v) == 0)
		return 0;
	size_t i;
	json_t *x;
	json_array_foreach(v, i, x) if (!json_is_object(x)) return 0;
	return 1;
}

static void table(FILE *out, const json_t *rows)
{
	const json_t *first = json_array_get(rows, 0);
	size_t nc = json_object_size(first), nr = json_array_size(rows);
	const char **keys = calloc(nc, sizeof(*keys));
	size_t *w = calloc(nc, sizeof(*w));
	char **cells = calloc(nc * nr, sizeof(*cells));
	size_t c = 0;
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)first, k, v)
	{
		keys[c] = k;
		w[c] = strlen(k);
		c++;
	}
	for (size_t r = 0; r < nr; r++)
		for (c = 0; c < nc; c++) {
			json_t *x = json_object_get(json_array_get(rows, r), keys[c]);
			cells[r * nc + c] = x ? cell(x) : strdup("-");
			size_t l = strlen(cells[r * nc + c]);
			w[c] = l > w[c] ? l : w[c];
		}
	for (c = 0; c < nc; c++) {
		char up[64];
		size_t l = strlen(keys[c]) < sizeof(up) - 1 ? strlen(keys[c]) : sizeof(up) - 1;
		for (size_t i = 0; i < l; i++)
			up[i] = keys[c][i] == '_' ? ' ' : (char)(keys[c][i] & ~0x20);
		up[l] = 0;
		fprintf(out, "%-*s%s", (int)w[c], up, c + 1 < nc ? "  " : "\n");
	}
	for (size_t r = 0; r < nr; r++)
		for (c = 0; c < nc; c++) {
			fprintf(out, "%-*s%s", c + 1 < nc ? (int)w[c] : 0, cells[r * nc + c],
				c + 1 < nc ? "  " : "\n");
			free(cells[r * nc + c]);
		}
	free(cells);
	free(w);
	free(keys);
}

static void render(FILE *out, const json_t *o, int indent)
{
	const char *k;
	json_t *v;
	int tables = 0;
	json_object_foreach((json_t *)o, k, v) tables += is_table(v) || json_is_array(v);
	json_object_foreach((json_t *)o, k, v)
	{
		if (is_table(v)) {
			if (tables > 1 || indent)
				fprintf(out, "%*s%s:\n", indent, "", k);
			table(out, v);
		} else if (json_is_array(v) && json_array_size(v) == 0) {
			fprintf(out, "%*s%s: (none)\n", indent, "", k);
		} else if (json_is_object(v)) {
			fprintf(out, "%*s%s:\n", indent, "", k);
			render(out, v, indent + 2);
		} else {
			char *s = cell(v);
			fprintf(out, "%*s%s: %s\n", indent, "", k, s);
			free(s);
		}
	}
}

void cp_ctl_render(FILE *out, const json_t *result)
{
	if (json_is_object(result))
		render(out, result, 0);
	else if (is_table(result))
		table(out, result);
	else if (result) {
		char *s = cell(result);
		fprintf(out, "%s\n", s);
		free(s);
	}
}
