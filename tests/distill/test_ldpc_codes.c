/* QC-LDPC codes: the committed family has its documented rates, no 4-cycles and independent
 * punctured columns (checked by brute force on the expanded matrix, not by the loader's own
 * base-matrix logic); the syndrome matches the definition; construction is deterministic; the
 * loader rejects truncated and corrupt files with a clear error. The long-frame family has its
 * documented rates and girth, its own calibration, and reconciles a key of two frames; a family's
 * calibration file is read as documented and a bad one fails the loading. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dst_ldpc.h"
#include "dst_reconcile.h"
#include "unit.h"

/* A family as documented in docs/formats.md: name, base rows (of 128 columns). */
struct doc_code {
	const char *name;
	unsigned rows;
};
/* The committed family (z = 1024). */
static const struct doc_code documented[] = {
	{"r045", 70}, {"r050", 64}, {"r055", 57}, {"r060", 51}, {"r065", 45},
	{"r070", 38}, {"r073", 35}, {"r075", 32}, {"r077", 29}, {"r079", 27},
	{"r080", 26}, {"r083", 22}, {"r085", 19}, {"r088", 16}, {"r090", 13},
};
#define NDOC (sizeof(documented) / sizeof(documented[0]))

/* The long-frame family (z = 8192): the same codes plus r084 and r091 for QBER 2% and 1%. */
static const struct doc_code documented_n20[] = {
	{"r045", 70}, {"r050", 64}, {"r055", 57}, {"r060", 51}, {"r065", 45}, {"r070", 38},
	{"r073", 35}, {"r075", 32}, {"r077", 29}, {"r079", 27}, {"r080", 26}, {"r083", 22},
	{"r084", 20}, {"r085", 19}, {"r088", 16}, {"r090", 13}, {"r091", 12},
};
#define NDOC_N20 (sizeof(documented_n20) / sizeof(documented_n20[0]))

static struct dst_ldpc_family *fam;

static int setup(void)
{
	char err[DST_LDPC_ERRLEN];
	return dst_ldpc_family_load(NULL, &fam, err) ? -1 : 0;
}

static int teardown(void)
{
	dst_ldpc_family_free(fam);
	return 0;
}

/* Expanded H as check -> bit lists, from the definition: check r*z+i, bit c*z+(i+s)%z. */
struct expanded {
	uint32_t n, m;
	uint32_t *start, *bits;
};

static void expand(const struct dst_ldpc_code *c, struct expanded *x)
{
	struct dst_ldpc_code_info in;
	dst_ldpc_code_get_info(c, &in);
	x->n = in.n;
	x->m = in.m;
	x->start = calloc(in.m + 1, sizeof(uint32_t));
	x->bits = malloc(in.edges * sizeof(uint32_t));
	uint32_t ne = dst_ldpc_code_base_edges(c), k = 0;
	uint32_t *er = malloc(ne * 4), *ec = malloc(ne * 4), *es = malloc(ne * 4);
	for (uint32_t e = 0; e < ne; e++)
		dst_ldpc_code_base_edge(c, e, &er[e], &ec[e], &es[e]);
	uint32_t e0 = 0;
	for (uint32_t r = 0; r < in.base_rows; r++) {
		uint32_t e1 = e0;
		while (e1 < ne && er[e1] == r)
			e1++;
		for (uint32_t i = 0; i < in.z; i++) {
			x->start[r * in.z + i] = k;
			for (uint32_t e = e0; e < e1; e++)
				x->bits[k++] = ec[e] * in.z + (i + es[e]) % in.z;
		}
		e0 = e1;
	}
	free(er);
	free(ec);
	free(es);
	x->start[in.m] = k;
}

/* The family holds exactly the documented codes, in ascending rate (descending rows), each with
 * circulants of z, 128 base columns, its rows and rate, and no 4-cycle. */
static void assert_documented(const struct dst_ldpc_family *f, const struct doc_code *doc, size_t nd,
			      uint32_t z)
{
	CU_ASSERT_EQUAL_FATAL(dst_ldpc_family_size(f), nd);
	CU_ASSERT_EQUAL(dst_ldpc_family_n(f), 128 * z);
	for (size_t k = 0; k < nd; k++) {
		const struct dst_ldpc_code *c = dst_ldpc_family_code(f, k);
		struct dst_ldpc_code_info in;
		dst_ldpc_code_get_info(c, &in);
		CU_ASSERT_STRING_EQUAL(in.name, doc[k].name);
		CU_ASSERT_EQUAL(in.z, z);
		CU_ASSERT_EQUAL(in.base_cols, 128);
		CU_ASSERT_EQUAL(in.n, 128 * z);
		CU_ASSERT_EQUAL(in.base_rows, doc[k].rows);
		CU_ASSERT_EQUAL(in.m, doc[k].rows * z);
		CU_ASSERT_DOUBLE_EQUAL(in.rate, 1.0 - doc[k].rows / 128.0, 1e-12);
		CU_ASSERT(dst_ldpc_code_girth(c, 4) > 4);
	}
}

static void test_family_rates(void)
{
	assert_documented(fam, documented, NDOC, 1024);
}

static void test_no_four_cycles_brute_force(void)
{
	/* two checks sharing two bits <=> for some bit v, a bit u is reached from v twice */
	for (size_t k = 0; k < dst_ldpc_family_size(fam); k++) {
		struct expanded x;
		expand(dst_ldpc_family_code(fam, k), &x);
		/* bit -> checks */
		uint32_t *vs = calloc(x.n + 1, sizeof(uint32_t)), *vc = malloc(x.start[x.m] * 4);
		for (uint32_t j = 0; j < x.start[x.m]; j++)
			vs[x.bits[j] + 1]++;
		for (uint32_t v = 0; v < x.n; v++)
			vs[v + 1] += vs[v];
		uint32_t *fill = calloc(x.n, sizeof(uint32_t));
		for (uint32_t chk = 0; chk < x.m; chk++)
			for (uint32_t j = x.start[chk]; j < x.start[chk + 1]; j++) {
				uint32_t v = x.bits[j];
				vc[vs[v] + fill[v]++] = chk;
			}
		uint32_t *mark = malloc(x.n * sizeof(uint32_t));
		memset(mark, 0xff, x.n * sizeof(uint32_t));
		unsigned cycles = 0;
		for (uint32_t v = 0; v < x.n && !cycles; v++)
			for (uint32_t a = vs[v]; a < vs[v + 1]; a++) {
				uint32_t chk = vc[a];
				for (uint32_t j = x.start[chk]; j < x.start[chk + 1]; j++) {
					uint32_t u = x.bits[j];
					if (u == v)
						continue;
					if (mark[u] == v)
						cycles++;
					mark[u] = v;
				}
			}
		CU_ASSERT_EQUAL(cycles, 0);
		/* the girth search agrees: no cycle shorter than 6 */
		CU_ASSERT(dst_ldpc_code_girth(dst_ldpc_family_code(fam, k), 4) > 4);
		free(vs);
		free(vc);
		free(fill);
		free(mark);
		free(x.start);
		free(x.bits);
	}
}

static int find(int *p, int a)
{
	while (p[a] != a)
		a = p[a] = p[p[a]];
	return a;
}

static void test_punctured_columns_independent(void)
{
	/* Puncture every bit the code allows (all-ones filler): the punctured bits are weight-2
	 * columns; they are linearly independent iff they form a forest over the checks. */
	for (size_t k = 0; k < dst_ldpc_family_size(fam); k++) {
		const struct dst_ldpc_code *c = dst_ldpc_family_code(fam, k);
		struct dst_ldpc_code_info in;
		dst_ldpc_code_get_info(c, &in);
		struct dst_ldpc_plan p;
		/* Alice with an all-zero key and all-ones filler: the syndrome is the sum of the
		 * punctured columns */
		CU_ASSERT_EQUAL_FATAL(dst_ldpc_plan_make(fam, 0.02, 1.2, &p), 0);
		p.code = c;
		p.n = in.n;
		p.punctured = in.max_punctured;
		p.shortened = 0;
		p.revealed = 0;
		p.key_bits = in.n - p.punctured;
		p.syndrome_bits = in.m;
		struct dst_ldpc_ws *ws = dst_ldpc_ws_create(fam);
		uint64_t *key = calloc(p.key_bits / 64, 8), *fill = malloc(p.punctured / 8 + 8);
		uint64_t *syn = calloc(in.m / 64, 8);
		memset(fill, 0xff, p.punctured / 8 + 8);
		CU_ASSERT_EQUAL(dst_ldpc_alice(ws, &p, key, fill, syn), 0);
		struct expanded x;
		expand(c, &x);
		uint32_t *deg = calloc(x.n, sizeof(uint32_t)), *a = malloc(x.n * 4), *b = malloc(x.n * 4);
		for (uint32_t chk = 0; chk < x.m; chk++)
			for (uint32_t j = x.start[chk]; j < x.start[chk + 1]; j++) {
				uint32_t v = x.bits[j];
				if (deg[v] == 0)
					a[v] = chk;
				else
					b[v] = chk;
				deg[v]++;
			}
		/* H * (indicator of punctured bits) must equal syn; count the punctured weight-2 bits */
		uint64_t *acc = calloc(in.m / 64, 8);
		int *uf = malloc(x.m * sizeof(int));
		for (uint32_t i = 0; i < x.m; i++)
			uf[i] = (int)i;
		unsigned forest_ok = 1, count = 0;
		/* Bob's channel LLRs (zero decoding iterations) are 0 exactly at punctured bits */
		struct dst_ldpc_result r;
		uint64_t *bob = calloc(p.key_bits / 64, 8), *out = calloc(p.key_bits / 64, 8);
		p.max_iter = 0;
		CU_ASSERT_EQUAL(dst_ldpc_bob(ws, &p, bob, syn, NULL, out, &r), 0);
		size_t len;
		const int8_t *app = dst_ldpc_ws_app(ws, &len);
		CU_ASSERT_EQUAL(len, x.n);
		for (uint32_t v = 0; v < x.n; v++) {
			if (app[v] != 0)
				continue;
			count++;
			if (deg[v] != 2) {
				forest_ok = 0;
				continue;
			}
			acc[a[v] / 64] ^= 1ull << (a[v] % 64);
			acc[b[v] / 64] ^= 1ull << (b[v] % 64);
			int ra = find(uf, (int)a[v]), rb = find(uf, (int)b[v]);
			if (ra == rb)
				forest_ok = 0;
			uf[ra] = rb;
		}
		CU_ASSERT_EQUAL(count, p.punctured);
		CU_ASSERT(forest_ok);
		CU_ASSERT_EQUAL(memcmp(acc, syn, in.m / 8), 0); /* all-ones filler, zero key */
		free(acc);
		free(uf);
		free(bob);
		free(out);
		free(deg);
		free(a);
		free(b);
		free(x.start);
		free(x.bits);
		free(key);
		free(fill);
		free(syn);
		dst_ldpc_ws_free(ws);
	}
}

static void test_syndrome_matches_definition(void)
{
	uint64_t seed = 42;
	for (size_t k = 0; k < dst_ldpc_family_size(fam); k += 3) {
		const struct dst_ldpc_code *c = dst_ldpc_family_code(fam, k);
		struct expanded x;
		expand(c, &x);
		uint64_t *w = malloc(x.n / 8), *s = malloc(x.m / 8), *ref = calloc(x.m / 64, 8);
		for (uint32_t i = 0; i < x.n / 64; i++)
			w[i] = unit_rand(&seed);
		for (uint32_t chk = 0; chk < x.m; chk++) {
			unsigned p = 0;
			for (uint32_t j = x.start[chk]; j < x.start[chk + 1]; j++)
				p ^= (unsigned)(w[x.bits[j] / 64] >> (x.bits[j] % 64)) & 1;
			ref[chk / 64] |= (uint64_t)p << (chk % 64);
		}
		CU_ASSERT_EQUAL(dst_ldpc_code_syndrome(c, w, s), 0);
		CU_ASSERT_EQUAL(memcmp(s, ref, x.m / 8), 0);
		free(w);
		free(s);
		free(ref);
		free(x.start);
		free(x.bits);
	}
}

static void test_build_deterministic(void)
{
	struct dst_ldpc_design d = {.z = 64, .base_cols = 24, .base_rows = 6, .nvdeg = 3,
				    .vdeg_w = {2, 3, 6}, .vdeg = {5, 15, 4}, .seed = 7, .name = "t"};
	struct dst_ldpc_code *a, *b;
	char err[DST_LDPC_ERRLEN];
	CU_ASSERT_EQUAL_FATAL(dst_ldpc_code_build(&d, &a, err), 0);
	CU_ASSERT_EQUAL_FATAL(dst_ldpc_code_build(&d, &b, err), 0);
	char *ta, *tb;
	long la = dst_ldpc_code_format(a, &ta), lb = dst_ldpc_code_format(b, &tb);
	CU_ASSERT(la > 0);
	CU_ASSERT_EQUAL(la, lb);
	CU_ASSERT_EQUAL(memcmp(ta, tb, (size_t)la), 0);
	/* round trip through the parser */
	struct dst_ldpc_code *c;
	CU_ASSERT_EQUAL(dst_ldpc_code_parse(ta, (size_t)la, &c, err), 0);
	struct dst_ldpc_code_info in;
	dst_ldpc_code_get_info(c, &in);
	CU_ASSERT_EQUAL(in.vdeg_count[2], 5);
	CU_ASSERT_EQUAL(in.vdeg_count[3], 15);
	CU_ASSERT_EQUAL(in.vdeg_count[6], 4);
	CU_ASSERT_EQUAL(in.edges, (5 * 2 + 15 * 3 + 4 * 6) * 64);
	dst_ldpc_code_free(c);
	/* a different seed gives a different code */
	d.seed = 8;
	dst_ldpc_code_free(b);
	CU_ASSERT_EQUAL(dst_ldpc_code_build(&d, &b, err), 0);
	free(tb);
	lb = dst_ldpc_code_format(b, &tb);
	CU_ASSERT(la != lb || memcmp(ta, tb, (size_t)la) != 0);
	free(ta);
	free(tb);
	dst_ldpc_code_free(a);
	dst_ldpc_code_free(b);
	/* impossible designs are refused */
	d.vdeg[0] = 23; /* weight 2 everywhere but one column */
	d.vdeg[1] = 0;
	d.vdeg[2] = 1;
	CU_ASSERT_EQUAL(dst_ldpc_code_build(&d, &a, err), -EINVAL);
	CU_ASSERT(strlen(err) > 0);
	d.vdeg[0] = 5;
	d.vdeg[1] = 14; /* 23 columns listed for 24 */
	d.vdeg[2] = 4;
	CU_ASSERT_EQUAL(dst_ldpc_code_build(&d, &a, err), -EINVAL);
}

/* Shortest cycle of the expanded graph restricted to weight-2 columns, counted in columns (the
 * weight of the codeword it is): breadth-first search from every check over bits of weight 2. */
static uint32_t weight2_girth(const struct expanded *x)
{
	uint32_t *w = calloc(x->n, sizeof(uint32_t)), *other = malloc(2 * x->n * sizeof(uint32_t));
	for (uint32_t k = 0; k < x->start[x->m]; k++)
		w[x->bits[k]]++;
	/* the two checks of each weight-2 bit */
	for (uint32_t b = 0; b < x->n; b++)
		other[2 * b] = other[2 * b + 1] = UINT32_MAX;
	for (uint32_t r = 0; r < x->m; r++)
		for (uint32_t k = x->start[r]; k < x->start[r + 1]; k++) {
			uint32_t b = x->bits[k];
			if (w[b] == 2)
				other[2 * b + (other[2 * b] != UINT32_MAX)] = r;
		}
	uint32_t *dist = malloc(x->m * sizeof(uint32_t)), *via = malloc(x->m * sizeof(uint32_t));
	uint32_t *queue = malloc(x->m * sizeof(uint32_t)), girth = UINT32_MAX;
	for (uint32_t s = 0; s < x->m; s++) {
		for (uint32_t r = 0; r < x->m; r++)
			dist[r] = UINT32_MAX;
		uint32_t head = 0, tail = 0;
		dist[s] = 0;
		via[s] = UINT32_MAX;
		queue[tail++] = s;
		while (head < tail) {
			uint32_t r = queue[head++];
			for (uint32_t k = x->start[r]; k < x->start[r + 1]; k++) {
				uint32_t b = x->bits[k];
				if (w[b] != 2 || b == via[r])
					continue;
				uint32_t r2 = other[2 * b] == r ? other[2 * b + 1] : other[2 * b];
				if (dist[r2] == UINT32_MAX) {
					dist[r2] = dist[r] + 1;
					via[r2] = b;
					queue[tail++] = r2;
				} else if (dist[r] + dist[r2] + 1 < girth) {
					girth = dist[r] + dist[r2] + 1;
				}
			}
		}
	}
	free(w);
	free(other);
	free(dist);
	free(via);
	free(queue);
	return girth;
}

/* Weight-2 columns beyond the chain close cycles among weight-2 columns; a short lifted one would
 * be a low-weight codeword. The builder keeps them at 32 columns or more where z allows. */
static void test_extra_weight2_columns(void)
{
	struct dst_ldpc_design d = {.z = 256, .base_cols = 32, .base_rows = 8, .nvdeg = 3,
				    .vdeg_w = {2, 3, 6}, .vdeg = {12, 16, 4}, .seed = 3, .name = "w2"};
	struct dst_ldpc_code *c;
	char err[DST_LDPC_ERRLEN];
	CU_ASSERT_EQUAL_FATAL(dst_ldpc_code_build(&d, &c, err), 0);
	struct dst_ldpc_code_info in;
	dst_ldpc_code_get_info(c, &in);
	CU_ASSERT_EQUAL(in.vdeg_count[2], 12);
	CU_ASSERT_EQUAL(in.max_punctured, 4 * 256); /* every other column of the 7-column chain */
	CU_ASSERT(dst_ldpc_code_girth(c, 4) > 4);
	struct expanded x;
	expand(c, &x);
	CU_ASSERT(weight2_girth(&x) >= 8);
	free(x.start);
	free(x.bits);
	dst_ldpc_code_free(c);
}

/* FNV-1a 64, the checksum docs/formats.md specifies */
static uint64_t fnv(const char *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < n; i++) {
		h ^= (uint8_t)p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

static int parse_with_sum(const char *body, char *err)
{
	char text[1024];
	int n = snprintf(text, sizeof(text), "%s", body);
	snprintf(text + n, sizeof(text) - (size_t)n, "end %016llx\n", (unsigned long long)fnv(text, (size_t)n));
	struct dst_ldpc_code *c = NULL;
	int rc = dst_ldpc_code_parse(text, strlen(text), &c, err);
	dst_ldpc_code_free(c);
	return rc;
}

static void test_loader_rejects_bad_files(void)
{
	char err[DST_LDPC_ERRLEN];
	/* a valid tiny code: 2 rows x 4 columns, z = 64 */
	const char *good = "qcldpc 1\nname tiny\nz 64\nbase 2 4\nseed 1\npuncture 0\n"
			   "row 3 0:0 1:1 2:5\nrow 3 0:3 1:10 3:7\n";
	CU_ASSERT_EQUAL(parse_with_sum(good, err), 0);
	/* 4-cycle: rows share columns 0 and 1 with equal shift differences (0-1 == 3-4) */
	CU_ASSERT_EQUAL(parse_with_sum("qcldpc 1\nname c4\nz 64\nbase 2 4\nseed 1\npuncture 0\n"
				       "row 3 0:0 1:1 2:5\nrow 3 0:3 1:4 3:7\n",
				       err),
			-EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "4-cycle"));
	CU_ASSERT_EQUAL(parse_with_sum("qcldpc 1\nname s\nz 64\nbase 2 4\nseed 1\npuncture 0\n"
				       "row 3 0:0 1:64 2:5\nrow 3 0:3 1:10 3:7\n",
				       err),
			-EINVAL); /* shift out of range */
	CU_ASSERT_EQUAL(parse_with_sum("qcldpc 1\nname z\nz 60\nbase 2 4\nseed 1\npuncture 0\n"
				       "row 3 0:0 1:1 2:5\nrow 3 0:3 1:10 3:7\n",
				       err),
			-EINVAL); /* z not a multiple of 64 */
	CU_ASSERT_EQUAL(parse_with_sum("qcldpc 1\nname p\nz 64\nbase 2 4\nseed 1\npuncture 1 2\n"
				       "row 3 0:0 1:1 2:5\nrow 3 0:3 1:10 3:7\n",
				       err),
			-EINVAL); /* puncture column of weight 1 */
	/* every truncation of a real code file is refused, and a flipped byte is caught */
	char path[4096];
	snprintf(path, sizeof(path), "%s/r080.qc", dst_ldpc_default_dir());
	FILE *f = fopen(path, "rb");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	static char buf[1 << 16];
	size_t len = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	struct dst_ldpc_code *c = NULL;
	CU_ASSERT_EQUAL(dst_ldpc_code_parse(buf, len, &c, err), 0);
	dst_ldpc_code_free(c);
	for (size_t cut = 0; cut < len - 1; cut += 1 + cut / 7) {
		c = NULL;
		err[0] = 0;
		CU_ASSERT_EQUAL(dst_ldpc_code_parse(buf, cut, &c, err), -EINVAL);
		CU_ASSERT_PTR_NULL(c);
		CU_ASSERT(strlen(err) > 0);
	}
	for (size_t pos = 20; pos < len - 30; pos += 997) {
		char saved = buf[pos];
		buf[pos] = saved == '1' ? '2' : '1';
		c = NULL;
		CU_ASSERT_EQUAL(dst_ldpc_code_parse(buf, len, &c, err), -EINVAL);
		CU_ASSERT_PTR_NULL(c);
		buf[pos] = saved;
	}
	CU_ASSERT_EQUAL(dst_ldpc_code_load("/nonexistent/ldpc.qc", &c, err), -ENOENT);
}

static struct dst_ldpc_design regular(uint32_t rows, uint32_t cols, uint32_t w)
{
	struct dst_ldpc_design d = {.base_rows = rows, .base_cols = cols, .nvdeg = 1};
	d.vdeg_w[0] = w;
	d.vdeg[0] = cols;
	return d;
}

/* Density evolution of regular ensembles against the published BSC belief-propagation thresholds
 * (Richardson and Urbanke, IEEE Trans. IT 47(2), 2001, Table I): (3,6) 0.084, (4,8) 0.076, (3,4)
 * 0.167. The Gaussian approximation of the check messages keeps within 2 %. */
static void test_threshold_published(void)
{
	const struct {
		uint32_t rows, cols, w;
		double published;
	} ens[] = {{64, 128, 3, 0.084}, {64, 128, 4, 0.076}, {96, 128, 3, 0.167}};
	for (size_t i = 0; i < sizeof(ens) / sizeof(ens[0]); i++) {
		struct dst_ldpc_design d = regular(ens[i].rows, ens[i].cols, ens[i].w);
		double t = dst_ldpc_design_threshold(&d);
		CU_ASSERT(fabs(t - ens[i].published) < 0.02 * ens[i].published);
	}
	struct dst_ldpc_design bad = regular(64, 128, 3);
	bad.vdeg[0] = 127; /* columns do not add up */
	CU_ASSERT(dst_ldpc_design_threshold(&bad) < 0);
	bad = regular(64, 128, 65); /* heavier than the rows */
	CU_ASSERT(dst_ldpc_design_threshold(&bad) < 0);
}

/* The optimiser keeps the design's shape, respects its limits and does not lower the threshold. */
static void test_optimise_profile(void)
{
	struct dst_ldpc_design d = regular(4, 16, 3), start = d;
	double t0 = dst_ldpc_design_threshold(&d), t = 0;
	CU_ASSERT_EQUAL_FATAL(dst_ldpc_design_optimise(&d, 4, &t), 0);
	CU_ASSERT(t > t0); /* a regular (3,12) ensemble is far from the best of its rate */
	CU_ASSERT(fabs(dst_ldpc_design_threshold(&d) - t) < 1e-3 * t); /* bisection resolution */
	uint32_t cols = 0, edges = 0;
	CU_ASSERT(d.nvdeg >= 1 && d.nvdeg <= 8);
	for (uint32_t i = 0; i < d.nvdeg; i++) {
		CU_ASSERT(d.vdeg_w[i] >= 2 && d.vdeg_w[i] <= 4);
		CU_ASSERT(i == 0 || d.vdeg_w[i] > d.vdeg_w[i - 1]);
		if (d.vdeg_w[i] == 2)
			CU_ASSERT(d.vdeg[i] <= d.base_cols / 2);
		cols += d.vdeg[i];
		edges += d.vdeg[i] * d.vdeg_w[i];
	}
	CU_ASSERT_EQUAL(cols, 16);
	CU_ASSERT(edges > 0);
	CU_ASSERT_EQUAL(d.base_rows, start.base_rows);
	/* deterministic */
	struct dst_ldpc_design again = start;
	double t2 = 0;
	CU_ASSERT_EQUAL(dst_ldpc_design_optimise(&again, 4, &t2), 0);
	CU_ASSERT_EQUAL(memcmp(&again, &d, sizeof(d)), 0);
	CU_ASSERT_EQUAL(dst_ldpc_design_optimise(&again, 2, &t2), -EINVAL);
}

/* The long-frame family's directory in the source tree. */
static const char *n20_dir(void)
{
	return unit_src_path("../distill/ldpc/codes_n20");
}

static void test_long_family(void)
{
	char err[DST_LDPC_ERRLEN];
	struct dst_ldpc_family *lf;
	CU_ASSERT_EQUAL_FATAL(dst_ldpc_family_load(n20_dir(), &lf, err), 0);
	assert_documented(lf, documented_n20, NDOC_N20, 8192);
	/* 2%: the code made for it, barely adapted; the sweep limit the family asks for */
	struct dst_ldpc_plan p;
	CU_ASSERT_EQUAL_FATAL(dst_ldpc_plan_make(lf, 0.02, 1.10, &p), 0);
	struct dst_ldpc_code_info in;
	dst_ldpc_code_get_info(p.code, &in);
	CU_ASSERT_STRING_EQUAL(in.name, "r084");
	CU_ASSERT(p.punctured + p.shortened < in.n / 100);
	CU_ASSERT(p.max_iter > DST_LDPC_MAX_ITER_DEFAULT);
	/* its own calibration, lower than the short family's where longer frames decode better */
	CU_ASSERT(dst_ldpc_default_f(lf, 0.02) < dst_ldpc_default_f(fam, 0.02) - 0.01);
	CU_ASSERT(dst_ldpc_default_f(lf, 0.03) < dst_ldpc_default_f(fam, 0.03));
	double f;
	unsigned step;
	CU_ASSERT_EQUAL(dst_ldpc_blind_default(lf, 0.02, &f, &step), -ENOENT); /* none measured */
	CU_ASSERT_EQUAL(dst_ldpc_blind_default(fam, 0.02, &f, &step), 0);
	dst_ldpc_family_free(lf);
}

/* A 2^21-bit key at QBER 3% through both sides with the long family: cut into frames of about
 * 2^20 bits (three: a frame holds n - m/(f h) fewer), Bob ends with Alice's key, and the leak is
 * the calibrated efficiency's. */
static void test_long_family_key(void)
{
	const uint64_t bits = 1u << 21, nw = bits / 64;
	struct dst_rec_config cfg = {.method = DST_REC_LDPC, .max_bits = bits, .ldpc_dir = n20_dir()};
	struct dst_rec_alice *A = dst_rec_alice_create(&cfg);
	struct dst_rec_bob *B = dst_rec_bob_create(&cfg);
	size_t cap = dst_rec_max_msg(&cfg);
	uint8_t *m1 = malloc(cap), *m2 = malloc(cap);
	uint64_t *ka = malloc(nw * 8), *kb = malloc(nw * 8), *out = calloc(nw, 8);
	CU_ASSERT_FATAL(A && B && m1 && m2 && ka && kb && out);
	uint64_t x = 0x1234567, errors = 0;
	for (uint64_t w = 0; w < nw; w++) {
		uint64_t e = 0;
		for (int b = 0; b < 64; b++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			e |= (uint64_t)((x >> 11) % 1000 < 30) << b;
		}
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		ka[w] = x;
		kb[w] = x ^ e;
		errors += (uint64_t)__builtin_popcountll(e);
	}
	CU_ASSERT_EQUAL(dst_rec_alice_begin(A, ka, bits), 0);
	CU_ASSERT_EQUAL(dst_rec_bob_begin(B, kb, bits, 0.03), 0);
	CU_ASSERT_EQUAL(dst_rec_run_local(A, B, m1, m2, cap), 0);
	struct dst_rec_stats st;
	dst_rec_bob_stats(B, &st);
	uint64_t got = 0;
	CU_ASSERT_EQUAL(dst_rec_bob_result(B, out, &got), 0);
	CU_ASSERT(st.frames >= 2 && st.frames <= 3);
	CU_ASSERT_EQUAL(st.frames_failed, 0);
	CU_ASSERT_EQUAL(got, bits);
	CU_ASSERT_EQUAL(st.bits_corrected, errors);
	CU_ASSERT_EQUAL(memcmp(out, ka, bits / 8), 0);
	struct dst_ldpc_family *lf;
	char err[DST_LDPC_ERRLEN];
	CU_ASSERT_EQUAL_FATAL(dst_ldpc_family_load(n20_dir(), &lf, err), 0);
	double f = dst_ldpc_efficiency(st.leak_bits, bits, 0.03), f_cal = dst_ldpc_default_f(lf, 0.03);
	CU_ASSERT(f >= f_cal - 1e-9 && f < f_cal + 0.01);
	dst_ldpc_family_free(lf);
	dst_rec_alice_free(A);
	dst_rec_bob_free(B);
	free(m1);
	free(m2);
	free(ka);
	free(kb);
	free(out);
}

/* A directory holding one committed code and a family.cal with these contents. */
static void cal_dir(char *dir, const char *cal)
{
	strcpy(dir, "/tmp/qkd_ldpc_cal_XXXXXX");
	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
	char from[4096], to[4096], cmd[8400];
	snprintf(from, sizeof(from), "%s/r080.qc", dst_ldpc_default_dir());
	snprintf(to, sizeof(to), "%s/r080.qc", dir);
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", from, to);
	CU_ASSERT_EQUAL_FATAL(system(cmd), 0);
	snprintf(to, sizeof(to), "%s/family.cal", dir);
	FILE *f = fopen(to, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs(cal, f);
	fclose(f);
}

static void cal_dir_remove(const char *dir)
{
	char cmd[4200];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	CU_ASSERT_EQUAL(system(cmd), 0);
}

static void test_calibration_file(void)
{
	char dir[64], err[DST_LDPC_ERRLEN];
	struct dst_ldpc_family *cf;
	cal_dir(dir, "# comment\n\nfixed 0.02 1.2\n  fixed 0.04 1.3\nblind 0.01 1.1\nblind 0.03 1.2\n"
		     "sweeps 150\n");
	CU_ASSERT_EQUAL_FATAL(dst_ldpc_family_load(dir, &cf, err), 0);
	CU_ASSERT_DOUBLE_EQUAL(dst_ldpc_default_f(cf, 0.01), 1.2, 1e-12);  /* flat below */
	CU_ASSERT_DOUBLE_EQUAL(dst_ldpc_default_f(cf, 0.03), 1.25, 1e-12); /* linear between */
	CU_ASSERT_DOUBLE_EQUAL(dst_ldpc_default_f(cf, 0.2), 1.3, 1e-12);   /* flat above */
	double f;
	unsigned step;
	CU_ASSERT_EQUAL(dst_ldpc_blind_default(cf, 0.02, &f, &step), 0);
	CU_ASSERT_DOUBLE_EQUAL(f, 1.15, 1e-12);
	CU_ASSERT_EQUAL(dst_ldpc_blind_default(cf, 0.05, &f, &step), -ENOENT); /* outside */
	/* the plan's default efficiency follows the file */
	struct dst_ldpc_plan p;
	CU_ASSERT_EQUAL(dst_ldpc_plan_make(cf, 0.03, 0, &p), 0);
	CU_ASSERT_DOUBLE_EQUAL(p.f_target, 1.25, 1e-12);
	CU_ASSERT_EQUAL(p.max_iter, 150);
	dst_ldpc_family_free(cf);
	cal_dir_remove(dir);
	/* without a sweeps line: the default limit */
	cal_dir(dir, "fixed 0.02 1.2\n");
	CU_ASSERT_EQUAL_FATAL(dst_ldpc_family_load(dir, &cf, err), 0);
	CU_ASSERT_EQUAL(dst_ldpc_plan_make(cf, 0.03, 0, &p), 0);
	CU_ASSERT_EQUAL(p.max_iter, DST_LDPC_MAX_ITER_DEFAULT);
	dst_ldpc_family_free(cf);
	cal_dir_remove(dir);

	/* each bad file fails the loading with its line number, and nothing is handed out */
	const struct {
		const char *text, *where;
	} bad[] = {
		{"fixed 0.02 1.2\nfixed 0.01 1.3\n", "family.cal:2: QBER not ascending"},
		{"fixed 0.02\n", "family.cal:1: expected"},
		{"fixed 0.02 1.2 7\n", "family.cal:1: expected"},
		{"blend 0.02 1.2\n", "family.cal:1: expected"},
		{"fixed 0.6 1.2\n", "family.cal:1: QBER must be"},
		{"fixed 0.02 0.9\n", "family.cal:1: QBER must be"},
		{"fixed 0.02 nan\n", "family.cal:1: QBER must be"},
		{"blind 0.02 1.2\n", "no 'fixed' points"},
		{"# only a comment\n", "no 'fixed' points"},
		{"fixed 0.02 1.2\nsweeps 0\n", "family.cal:2: sweeps must be"},
		{"fixed 0.02 1.2\nsweeps 1001\n", "family.cal:2: sweeps must be"},
		{"fixed 0.02 1.2\nsweeps 10 x\n", "family.cal:2: expected"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cal_dir(dir, bad[i].text);
		cf = NULL;
		err[0] = 0;
		CU_ASSERT_EQUAL(dst_ldpc_family_load(dir, &cf, err), -EINVAL);
		CU_ASSERT_PTR_NULL(cf);
		CU_ASSERT_PTR_NOT_NULL(strstr(err, bad[i].where));
		cal_dir_remove(dir);
	}
	/* a line longer than the reader's buffer */
	char lng[600];
	memset(lng, ' ', sizeof(lng));
	memcpy(lng + sizeof(lng) - 17, "fixed 0.02 1.2\n", 16);
	lng[sizeof(lng) - 1] = 0;
	cal_dir(dir, lng);
	CU_ASSERT_EQUAL(dst_ldpc_family_load(dir, &cf, err), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "line too long"));
	cal_dir_remove(dir);
	/* 17 points of one kind */
	char many[1024] = "";
	for (int i = 1; i <= 17; i++)
		snprintf(many + strlen(many), sizeof(many) - strlen(many), "fixed 0.%02d 1.2\n", i);
	cal_dir(dir, many);
	CU_ASSERT_EQUAL(dst_ldpc_family_load(dir, &cf, err), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "family.cal:17: too many"));
	cal_dir_remove(dir);
}

int main(void)
{
	CU_TestInfo codes[] = {
		{"family has the documented rates", test_family_rates},
		{"no 4-cycles (brute force on H)", test_no_four_cycles_brute_force},
		{"punctured columns independent", test_punctured_columns_independent},
		{"syndrome matches definition", test_syndrome_matches_definition},
		{"construction deterministic", test_build_deterministic},
		{"extra weight-2 columns: no short weight-2 cycles", test_extra_weight2_columns},
		{"loader rejects bad files", test_loader_rejects_bad_files},
		{"density evolution: published thresholds", test_threshold_published},
		{"profile optimiser keeps the design's limits", test_optimise_profile},
		{"long-frame family: documented rates, girth, calibration", test_long_family},
		{"long-frame family reconciles a key of a few frames", test_long_family_key},
		{"family calibration file read as documented, bad ones refused", test_calibration_file},
		CU_TEST_INFO_NULL,
	};
	CU_SuiteInfo suites[] = {
		{"ldpc_codes", setup, teardown, NULL, NULL, codes},
		CU_SUITE_INFO_NULL,
	};
	return unit_run(suites);
}
