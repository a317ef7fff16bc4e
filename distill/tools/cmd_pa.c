/* qkdtool pa: Toeplitz privacy amplification of a raw packed bit file (docs/formats.md). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dst_pa.h"
#include "qkdtool.h"

static const char pa_usage[] =
	"--seed FILE --in FILE --in-bits N --out-bits M --out FILE [--alg auto|karatsuba|fft]";

/* Raw bits -> zero-padded word buffer (DST_PA_WORDS(bits) words). */
static uint64_t *to_words(const uint8_t *bytes, size_t bits)
{
	size_t w = DST_PA_WORDS(bits);
	uint64_t *p = calloc(w ? w : 1, sizeof(uint64_t));
	if (p)
		memcpy(p, bytes, (bits + 7) / 8);
	return p;
}

static void wipe_free(void *p, size_t len)
{
	if (p) {
		explicit_bzero(p, len);
		free(p);
	}
}

static int run_pa(int argc, char **argv)
{
	const char *seed_path = NULL, *in_path = NULL, *out_path = NULL, *alg_name = "auto";
	const char *n_str = NULL, *m_str = NULL;
	for (int i = 1; i < argc; i++) {
		const char **slot = NULL;
		if (!strcmp(argv[i], "--seed"))
			slot = &seed_path;
		else if (!strcmp(argv[i], "--in"))
			slot = &in_path;
		else if (!strcmp(argv[i], "--out"))
			slot = &out_path;
		else if (!strcmp(argv[i], "--in-bits"))
			slot = &n_str;
		else if (!strcmp(argv[i], "--out-bits"))
			slot = &m_str;
		else if (!strcmp(argv[i], "--alg"))
			slot = &alg_name;
		else
			return qkdtool_bad("pa", "unknown argument '%s' (usage: qkdtool pa %s)", argv[i], pa_usage);
		if (i + 1 >= argc)
			return qkdtool_bad("pa", "%s needs a value", argv[i]);
		*slot = argv[++i];
	}
	if (!seed_path || !in_path || !out_path || !n_str || !m_str)
		return qkdtool_bad("pa", "missing arguments (usage: qkdtool pa %s)", pa_usage);
	uint64_t n, m;
	if (qkdtool_parse_u64(n_str, 1, DST_PA_MAX_BITS, &n))
		return qkdtool_bad("pa", "--in-bits '%s': need 1..%llu", n_str, (unsigned long long)DST_PA_MAX_BITS);
	if (qkdtool_parse_u64(m_str, 1, n, &m))
		return qkdtool_bad("pa", "--out-bits '%s': need 1..%llu (at most --in-bits)", m_str,
				   (unsigned long long)n);
	enum dst_pa_alg alg;
	if (!strcmp(alg_name, "auto"))
		alg = DST_PA_ALG_AUTO;
	else if (!strcmp(alg_name, "karatsuba"))
		alg = DST_PA_ALG_KARATSUBA;
	else if (!strcmp(alg_name, "fft"))
		alg = DST_PA_ALG_FFT;
	else
		return qkdtool_bad("pa", "--alg '%s': need auto, karatsuba or fft", alg_name);

	uint8_t *seed_raw = NULL, *in_raw = NULL;
	size_t seed_len = 0, in_len = 0;
	int rc = qkdtool_read_file(seed_path, &seed_raw, &seed_len);
	if (rc)
		return qkdtool_bad("pa", "%s: %s", seed_path, strerror(-rc));
	size_t sbits = (size_t)(n + m - 1);
	if (seed_len < (sbits + 7) / 8) {
		wipe_free(seed_raw, seed_len);
		return qkdtool_bad("pa", "%s: seed holds %zu bits, need at least %zu (in-bits + out-bits - 1)",
				   seed_path, seed_len * 8, sbits);
	}
	rc = qkdtool_read_file(in_path, &in_raw, &in_len);
	if (rc) {
		wipe_free(seed_raw, seed_len);
		return qkdtool_bad("pa", "%s: %s", in_path, strerror(-rc));
	}
	if (in_len != (n + 7) / 8) {
		wipe_free(seed_raw, seed_len);
		wipe_free(in_raw, in_len);
		return qkdtool_bad("pa", "%s: %zu bytes, expected %llu for %llu bits", in_path, in_len,
				   (unsigned long long)((n + 7) / 8), (unsigned long long)n);
	}
	if ((n & 7) && (in_raw[in_len - 1] >> (n & 7))) {
		wipe_free(seed_raw, seed_len);
		wipe_free(in_raw, in_len);
		return qkdtool_bad("pa", "%s: padding bits above bit %llu are not zero", in_path,
				   (unsigned long long)(n - 1));
	}

	int status = QKDTOOL_OK;
	uint64_t *s = to_words(seed_raw, sbits), *x = to_words(in_raw, (size_t)n);
	uint64_t *y = calloc(DST_PA_WORDS(m), sizeof(uint64_t));
	struct dst_pa_plan *plan = NULL;
	if (!s || !x || !y) {
		fprintf(stderr, "qkdtool pa: out of memory\n");
		status = QKDTOOL_FAILED;
	} else if ((rc = dst_pa_plan_create_with((size_t)n, (size_t)m, s, alg, NULL, &plan)) ||
		   (rc = dst_pa_apply(plan, x, y))) {
		fprintf(stderr, "qkdtool pa: %s\n", strerror(-rc));
		status = QKDTOOL_FAILED;
	} else if ((rc = qkdtool_write_file(out_path, y, (size_t)(m + 7) / 8))) {
		fprintf(stderr, "qkdtool pa: %s: %s\n", out_path, strerror(-rc));
		status = QKDTOOL_FAILED;
	}
	dst_pa_plan_free(plan);
	wipe_free(seed_raw, seed_len);
	wipe_free(in_raw, in_len);
	wipe_free(s, DST_PA_WORDS(sbits) * 8);
	wipe_free(x, DST_PA_WORDS(n) * 8);
	wipe_free(y, DST_PA_WORDS(m) * 8);
	return status;
}
QKDTOOL_CMD("pa", pa_usage, run_pa)
