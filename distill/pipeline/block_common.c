/* Block pipeline pieces both sides use: message checks, sizes, randomness, status names. */
#include <errno.h>
#include <stdlib.h>
#include <sys/random.h>

#include "block_internal.h"

const char *dst_block_status_str(enum dst_block_status s)
{
	switch (s) {
	case DST_BLOCK_OK: return "ok";
	case DST_BLOCK_ABORT_ESTIMATE: return "parameter estimation";
	case DST_BLOCK_ABORT_MISMATCH: return "sifting counts differ";
	case DST_BLOCK_ABORT_RECONCILE: return "reconciliation failed";
	case DST_BLOCK_ABORT_VERIFY: return "verification tags differ";
	case DST_BLOCK_ABORT_LENGTH: return "no secret key (l <= 0)";
	case DST_BLOCK_ABORT_PROTOCOL: return "corrupted or unexpected message";
	case DST_BLOCK_ABORT_LOCAL: return "local failure";
	}
	return "unknown";
}

size_t dst_block_max_msg(const struct dst_block_config *cfg)
{
	size_t rec = dst_rec_max_msg(&cfg->rec);
	if (!rec)
		return 0;
	uint64_t n = cfg->rec.max_bits;
	uint64_t pe = BLK_PE_REQ_FIXED + (cfg->max_test_bits + 7) / 8;
	uint64_t pa = BLK_PA_FIXED + (2 * n + 7) / 8;
	uint64_t ver = BLK_VERIFY_FIXED + rec;
	uint64_t m = rec;
	if (pe > m)
		m = pe;
	if (pa > m)
		m = pa;
	if (ver > m)
		m = ver;
	return (size_t)m + BLK_HDR + BLK_TRAILER + 64;
}

int blk_check(const uint8_t *in, size_t in_len, uint64_t seq, const uint8_t **body, uint32_t *body_len)
{
	if (!in || in_len < BLK_HDR + BLK_TRAILER)
		return -EPROTO;
	uint32_t bl = blk_get32(in + 4);
	if ((uint64_t)bl + BLK_HDR + BLK_TRAILER != in_len || in[1] != BLK_VERSION || in[2] || in[3] ||
	    blk_get64(in + 8) != seq || blk_get32(in + BLK_HDR + bl) != dst_crc32c(in, BLK_HDR + bl))
		return -EPROTO;
	*body = in + BLK_HDR;
	*body_len = bl;
	return in[0];
}

int blk_random(const struct dst_block_config *cfg, void *buf, size_t len)
{
	if (cfg->random)
		return cfg->random(cfg->random_ctx, buf, len);
	uint8_t *p = buf;
	while (len) {
		ssize_t r = getrandom(p, len, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? -errno : -EIO;
		p += r;
		len -= (size_t)r;
	}
	return 0;
}

double blk_efficiency(uint64_t leak, uint64_t bits, uint64_t errors)
{
	if (!bits || !errors)
		return 0;
	double h = dst_h2((double)errors / (double)bits);
	return h > 0 ? (double)leak / ((double)bits * h) : 0;
}

int blk_pa_run(struct blk_pa *pa, const uint64_t *x, uint64_t n, uint64_t l, uint64_t *seed,
	       uint64_t *key)
{
	if (l == 0 || l > n)
		return -EINVAL;
	/* Seed bits past n + l - 1 are zero: the first l outputs do not read them. */
	uint64_t used = n + l - 1, sw = DST_PA_WORDS(2 * n - 1);
	if (used & 63)
		seed[used >> 6] &= ~0ULL >> (64 - (used & 63));
	for (uint64_t i = (used + 63) >> 6; i < sw; i++)
		seed[i] = 0;
	int rc;
	if (pa->plan && pa->n == n) {
		rc = dst_pa_plan_reseed(pa->plan, seed);
	} else {
		dst_pa_plan_free(pa->plan);
		pa->plan = NULL;
		rc = dst_pa_plan_create(n, n, seed, &pa->plan);
		pa->n = rc ? 0 : n;
	}
	if (!rc)
		rc = dst_pa_apply(pa->plan, x, pa->y);
	if (rc)
		return rc;
	uint64_t kw = (l + 63) / 64;
	memcpy(key, pa->y, kw * 8);
	if (l & 63)
		key[kw - 1] &= ~0ULL >> (64 - (l & 63));
	explicit_bzero(pa->y, DST_PA_WORDS(n) * 8);
	return 0;
}

void blk_pa_free(struct blk_pa *pa, uint64_t max_bits)
{
	dst_pa_plan_free(pa->plan);
	pa->plan = NULL;
	if (pa->y)
		explicit_bzero(pa->y, DST_PA_WORDS(max_bits) * 8);
	free(pa->y);
	pa->y = NULL;
}
