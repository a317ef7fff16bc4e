/* QC-LDPC code objects: validation, adaptation orders, info, syndrome and girth. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ldpc_internal.h"

void ldpc_err(char *err, const char *fmt, ...)
{
	if (!err)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, DST_LDPC_ERRLEN, fmt, ap);
	va_end(ap);
}

struct dst_ldpc_code *ldpc_code_alloc(uint32_t mb, uint32_t nb, uint32_t ne, uint32_t npunct)
{
	struct dst_ldpc_code *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->mb = mb;
	c->nb = nb;
	c->ne = ne;
	c->npunct_cols = npunct;
	c->row_start = calloc(mb + 1, sizeof(uint32_t));
	c->col = calloc(ne ? ne : 1, sizeof(uint16_t));
	c->shift = calloc(ne ? ne : 1, sizeof(uint16_t));
	c->punct_cols = calloc(npunct ? npunct : 1, sizeof(uint16_t));
	if (!c->row_start || !c->col || !c->shift || !c->punct_cols) {
		dst_ldpc_code_free(c);
		return NULL;
	}
	return c;
}

void dst_ldpc_code_free(struct dst_ldpc_code *c)
{
	if (!c)
		return;
	free(c->row_start);
	free(c->col);
	free(c->shift);
	free(c->punct_cols);
	free(c->punct_order);
	free(c->short_order);
	free(c);
}

static uint32_t bitrev(uint32_t x, uint32_t count)
{
	/* reverse within the smallest power of two >= count; callers skip values >= count */
	uint32_t bits = 0;
	while ((1u << bits) < count)
		bits++;
	uint32_t r = 0;
	for (uint32_t i = 0; i < bits; i++)
		r |= ((x >> i) & 1u) << (bits - 1 - i);
	return r;
}

/* Spread granules over the given columns: round-robin across columns, bit-reversed position
 * inside each circulant, so consecutive granules land far apart. */
static uint32_t spread_order(const struct dst_ldpc_code *c, const uint16_t *cols, uint32_t ncols,
			     uint32_t *order)
{
	uint32_t per = c->z / LDPC_GRAN, k = 0, span = 1;
	while (span < per)
		span <<= 1;
	for (uint32_t g = 0; g < span; g++) {
		uint32_t gi = bitrev(g, per);
		if (gi >= per)
			continue;
		for (uint32_t i = 0; i < ncols; i++)
			order[k++] = cols[i] * per + gi;
	}
	return k;
}

static int find_root(int *parent, int x)
{
	while (parent[x] != x)
		x = parent[x] = parent[parent[x]];
	return x;
}

int ldpc_code_finish(struct dst_ldpc_code *c, char *err)
{
	if (c->z < LDPC_GRAN || c->z > DST_LDPC_MAX_Z || c->z % LDPC_GRAN) {
		ldpc_err(err, "circulant size z=%u must be a multiple of 64 in [64, %u]", c->z,
			 DST_LDPC_MAX_Z);
		return -EINVAL;
	}
	if (c->mb < 2 || c->nb <= c->mb || c->nb > DST_LDPC_MAX_BASE) {
		ldpc_err(err, "base matrix %u x %u: need 2 <= rows < columns <= %u", c->mb, c->nb,
			 DST_LDPC_MAX_BASE);
		return -EINVAL;
	}
	c->n = c->nb * c->z;
	c->m = c->mb * c->z;
	uint32_t *wcol = calloc(c->nb, sizeof(uint32_t));
	int *uf = malloc(c->mb * sizeof(int));
	uint8_t *is_p = calloc(c->nb, 1);
	int rc = -EINVAL;
	if (!wcol || !uf || !is_p) {
		rc = -ENOMEM;
		ldpc_err(err, "out of memory");
		goto out;
	}
	for (uint32_t r = 0; r < c->mb; r++) {
		uint32_t a = c->row_start[r], b = c->row_start[r + 1];
		if (b - a < 2 || b - a > 255) {
			ldpc_err(err, "row %u has weight %u (need 2..255)", r, b - a);
			goto out;
		}
		for (uint32_t e = a; e < b; e++) {
			if (c->col[e] >= c->nb || c->shift[e] >= c->z) {
				ldpc_err(err, "row %u: entry %u:%u out of range", r, c->col[e], c->shift[e]);
				goto out;
			}
			if (e > a && c->col[e] <= c->col[e - 1]) {
				ldpc_err(err, "row %u: columns not strictly ascending", r);
				goto out;
			}
			wcol[c->col[e]]++;
		}
	}
	for (uint32_t j = 0; j < c->nb; j++)
		if (wcol[j] == 0) {
			ldpc_err(err, "column %u has no check", j);
			goto out;
		}
	/* 4-cycles: rows r1 < r2 sharing columns a < b with s(r1,a)-s(r1,b)+s(r2,b)-s(r2,a) = 0. */
	for (uint32_t r1 = 0; r1 < c->mb; r1++)
		for (uint32_t r2 = r1 + 1; r2 < c->mb; r2++) {
			uint32_t i = c->row_start[r1], ie = c->row_start[r1 + 1];
			uint32_t j = c->row_start[r2], je = c->row_start[r2 + 1];
			/* shared columns, as (shift difference) list */
			uint32_t diffs[256], nd = 0;
			while (i < ie && j < je) {
				if (c->col[i] < c->col[j])
					i++;
				else if (c->col[i] > c->col[j])
					j++;
				else {
					diffs[nd++] = (c->shift[i] + c->z - c->shift[j]) % c->z;
					i++;
					j++;
				}
			}
			for (uint32_t x = 0; x < nd; x++)
				for (uint32_t y = x + 1; y < nd; y++)
					if (diffs[x] == diffs[y]) {
						ldpc_err(err, "rows %u and %u form a 4-cycle", r1, r2);
						goto out;
					}
		}
	/* Punctured columns: weight 2 and cycle-free (hence linearly independent). */
	for (uint32_t r = 0; r < c->mb; r++)
		uf[r] = (int)r;
	for (uint32_t k = 0; k < c->npunct_cols; k++) {
		uint32_t pc = c->punct_cols[k], rows[2], nr = 0;
		if (pc >= c->nb || wcol[pc] != 2 || is_p[pc]) {
			ldpc_err(err, "puncture column %u is not a distinct weight-2 column", pc);
			goto out;
		}
		is_p[pc] = 1;
		for (uint32_t r = 0; r < c->mb; r++)
			for (uint32_t e = c->row_start[r]; e < c->row_start[r + 1]; e++)
				if (c->col[e] == pc)
					rows[nr++] = r;
		int ra = find_root(uf, (int)rows[0]), rb = find_root(uf, (int)rows[1]);
		if (ra == rb) {
			ldpc_err(err, "puncture columns form a cycle at column %u", pc);
			goto out;
		}
		uf[ra] = rb;
	}
	uint32_t per = c->z / LDPC_GRAN;
	uint16_t *rest = malloc(c->nb * sizeof(uint16_t));
	c->punct_order = malloc((size_t)c->npunct_cols * per * sizeof(uint32_t) + 4);
	c->short_order = malloc((size_t)c->nb * per * sizeof(uint32_t));
	if (!rest || !c->punct_order || !c->short_order) {
		free(rest);
		rc = -ENOMEM;
		ldpc_err(err, "out of memory");
		goto out;
	}
	uint32_t nrest = 0;
	for (uint32_t j = 0; j < c->nb; j++)
		if (!is_p[j])
			rest[nrest++] = (uint16_t)j;
	c->npunct_gran = spread_order(c, c->punct_cols, c->npunct_cols, c->punct_order);
	c->nshort_gran = spread_order(c, rest, nrest, c->short_order);
	free(rest);
	rc = 0;
out:
	free(wcol);
	free(uf);
	free(is_p);
	return rc;
}

void dst_ldpc_code_get_info(const struct dst_ldpc_code *c, struct dst_ldpc_code_info *info)
{
	memset(info, 0, sizeof(*info));
	snprintf(info->name, sizeof(info->name), "%s", c->name);
	info->z = c->z;
	info->base_rows = c->mb;
	info->base_cols = c->nb;
	info->n = c->n;
	info->m = c->m;
	info->rate = 1.0 - (double)c->m / c->n;
	info->edges = (uint64_t)c->ne * c->z;
	info->seed = c->seed;
	uint32_t *w = calloc(c->nb, sizeof(uint32_t));
	info->cdeg_min = UINT32_MAX;
	for (uint32_t r = 0; r < c->mb; r++) {
		uint32_t d = c->row_start[r + 1] - c->row_start[r];
		info->cdeg_min = d < info->cdeg_min ? d : info->cdeg_min;
		info->cdeg_max = d > info->cdeg_max ? d : info->cdeg_max;
		for (uint32_t e = c->row_start[r]; w && e < c->row_start[r + 1]; e++)
			w[c->col[e]]++;
	}
	info->vdeg_min = UINT32_MAX;
	for (uint32_t j = 0; w && j < c->nb; j++) {
		info->vdeg_min = w[j] < info->vdeg_min ? w[j] : info->vdeg_min;
		info->vdeg_max = w[j] > info->vdeg_max ? w[j] : info->vdeg_max;
		if (w[j] < 32)
			info->vdeg_count[w[j]]++;
	}
	free(w);
	info->max_punctured = c->npunct_gran * LDPC_GRAN;
	info->max_shortened = c->nshort_gran * LDPC_GRAN;
}

uint32_t dst_ldpc_code_base_edges(const struct dst_ldpc_code *c)
{
	return c->ne;
}

void dst_ldpc_code_base_edge(const struct dst_ldpc_code *c, uint32_t e, uint32_t *row, uint32_t *col,
			     uint32_t *shift)
{
	uint32_t r = 0;
	while (r + 1 < c->mb && c->row_start[r + 1] <= e)
		r++;
	*row = r;
	*col = c->col[e];
	*shift = c->shift[e];
}

static inline uint64_t get64(const uint64_t *blk, uint32_t words, uint32_t p)
{
	uint32_t q = p >> 6, o = p & 63;
	if (!o)
		return blk[q];
	uint32_t q1 = q + 1 == words ? 0 : q + 1;
	return (blk[q] >> o) | (blk[q1] << (64 - o));
}

void ldpc_rotate_block(const uint64_t *in, uint32_t z, uint32_t s, uint64_t *out)
{
	uint32_t words = z / 64;
	for (uint32_t w = 0; w < words; w++) {
		uint32_t p = w * 64 + s;
		if (p >= z)
			p -= z;
		out[w] = get64(in, words, p);
	}
}

int dst_ldpc_code_syndrome(const struct dst_ldpc_code *c, const uint64_t *word, uint64_t *syn)
{
	if (!c || !word || !syn)
		return -EINVAL;
	uint32_t words = c->z / 64;
	for (uint32_t r = 0; r < c->mb; r++) {
		uint64_t *out = syn + (size_t)r * words;
		memset(out, 0, words * sizeof(uint64_t));
		for (uint32_t e = c->row_start[r]; e < c->row_start[r + 1]; e++) {
			const uint64_t *blk = word + (size_t)c->col[e] * words;
			uint32_t s = c->shift[e];
			for (uint32_t w = 0; w < words; w++) {
				uint32_t p = w * 64 + s;
				if (p >= c->z)
					p -= c->z;
				out[w] ^= get64(blk, words, p);
			}
		}
	}
	return 0;
}

/* Shortest cycle through one variable per base column (all variables of a column are equivalent
 * under the cyclic automorphism), by breadth-first search on the lifted graph. */
unsigned dst_ldpc_code_girth(const struct dst_ldpc_code *c, unsigned limit)
{
	uint32_t n = c->n, total = c->n + c->m, z = c->z;
	int32_t *dist = malloc(total * sizeof(int32_t));
	int32_t *par = malloc(total * sizeof(int32_t));
	uint32_t *queue = malloc(total * sizeof(uint32_t));
	/* column -> list of base edges */
	uint32_t *cstart = calloc(c->nb + 1, sizeof(uint32_t)), *cedge = malloc(c->ne * sizeof(uint32_t));
	uint32_t *erow = malloc(c->ne * sizeof(uint32_t));
	unsigned best = limit + 2;
	if (!dist || !par || !queue || !cstart || !cedge || !erow)
		goto out;
	for (uint32_t r = 0; r < c->mb; r++)
		for (uint32_t e = c->row_start[r]; e < c->row_start[r + 1]; e++) {
			erow[e] = r;
			cstart[c->col[e] + 1]++;
		}
	for (uint32_t j = 0; j < c->nb; j++)
		cstart[j + 1] += cstart[j];
	{
		uint32_t *fill = calloc(c->nb, sizeof(uint32_t));
		if (!fill)
			goto out;
		for (uint32_t e = 0; e < c->ne; e++)
			cedge[cstart[c->col[e]] + fill[c->col[e]]++] = e;
		free(fill);
	}
	for (uint32_t root_col = 0; root_col < c->nb; root_col++) {
		for (uint32_t i = 0; i < total; i++)
			dist[i] = -1;
		uint32_t root = root_col * z, head = 0, tail = 0;
		dist[root] = 0;
		par[root] = -1;
		queue[tail++] = root;
		while (head < tail) {
			uint32_t x = queue[head++];
			if ((unsigned)(2 * dist[x]) >= best)
				break;
			/* neighbours of x */
			if (x < n) {
				uint32_t col = x / z, k = x % z;
				for (uint32_t i = cstart[col]; i < cstart[col + 1]; i++) {
					uint32_t e = cedge[i];
					uint32_t y = n + erow[e] * z + (k + z - c->shift[e]) % z;
					if ((int32_t)y == par[x])
						continue;
					if (dist[y] >= 0) {
						unsigned len = (unsigned)(dist[x] + dist[y] + 1);
						if (len < best)
							best = len;
						continue;
					}
					dist[y] = dist[x] + 1;
					par[y] = (int32_t)x;
					queue[tail++] = y;
				}
			} else {
				uint32_t r = (x - n) / z, i0 = (x - n) % z;
				for (uint32_t e = c->row_start[r]; e < c->row_start[r + 1]; e++) {
					uint32_t y = c->col[e] * z + (i0 + c->shift[e]) % z;
					if ((int32_t)y == par[x])
						continue;
					if (dist[y] >= 0) {
						unsigned len = (unsigned)(dist[x] + dist[y] + 1);
						if (len < best)
							best = len;
						continue;
					}
					dist[y] = dist[x] + 1;
					par[y] = (int32_t)x;
					queue[tail++] = y;
				}
			}
		}
	}
out:
	free(dist);
	free(par);
	free(queue);
	free(cstart);
	free(cedge);
	free(erow);
	return best > limit ? limit + 2 : best;
}
