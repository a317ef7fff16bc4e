/* The authentication ledger of a link (dp_ledger.h): segments, pending blocks, claims,
 * reservations, and their records.
 *
 * Records (little-endian):
 *  header  "QNLG" | version 2 | link | 0 | r[4][16] | SHA-256(psk) | head | reserved[4] |
 *          block_next | claim upto | claim held | seen[4]                        (208 bytes)
 *          reserved and seen are msg_seq values in the stream's unit (dp_auth_stream_unit);
 *          version 1 counted 16-byte pads on every stream and is converted when loaded.
 *  segment "QNSG" | part | start | material[4][part]
 *  pending "QNPD" | part | block_seq | key id | key bits | 0 | gen_time_ns | material[4][part] |
 *          key bytes */
#include "dp_ledger.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>

#include "../wire/le.h"

#define HDR_LEN 208
#define SEG_HDR 16
#define PEND_HDR 48
#define MAGIC_HDR 0x474c4e51u /* "QNLG" */
#define MAGIC_SEG 0x47534e51u /* "QNSG" */
#define MAGIC_PEND 0x44504e51u /* "QNPD" */

struct seg {
	uint64_t start;
	uint32_t part;
	uint8_t *mat; /* 4 * part */
};

struct dp_ledger {
	uint32_t link_id;
	struct dp_ledger_io io;
	uint8_t r[DP_AUTH_STREAMS][DP_AUTH_R_LEN];
	uint8_t psk_digest[SHA256_DIGEST_LENGTH];
	uint64_t head;
	uint64_t reserved[DP_AUTH_STREAMS];
	uint64_t seen[DP_AUTH_STREAMS]; /* next_seq at the last write: where a receiver resumes */
	uint64_t block_next;
	struct dp_claim claim;
	struct seg *segs;
	unsigned n_segs, cap_segs;
	struct dp_refill pend[DP_LEDGER_PEND_MAX]; /* in block order */
	unsigned n_pend;
	bool have_header;
};

void dp_claim_put(uint8_t p[DP_CLAIM_WIRE_LEN], const struct dp_claim *c)
{
	put_le64(p, c->upto);
	put_le64(p + 8, c->held);
}

void dp_claim_get(const uint8_t p[DP_CLAIM_WIRE_LEN], struct dp_claim *c)
{
	c->upto = get_le64(p);
	c->held = get_le64(p + 8);
}

int dp_claim_holds(const struct dp_claim *c, uint64_t block)
{
	if (block >= c->upto)
		return -1;
	uint64_t age = c->upto - 1 - block;
	return age < DP_LEDGER_WINDOW && ((c->held >> age) & 1);
}

static void mat_free(uint8_t *m, uint32_t len)
{
	if (m)
		km_key_material_free(m, len ? len : 1);
}

void dp_refill_free(struct dp_refill *r)
{
	if (!r)
		return;
	mat_free(r->mat, 4 * r->part);
	if (r->key.material)
		km_key_material_free(r->key.material, (r->key.bits + 7) / 8);
	OPENSSL_cleanse(r, sizeof(*r));
}

void dp_ledger_free(struct dp_ledger *l)
{
	if (!l)
		return;
	for (unsigned i = 0; i < l->n_segs; i++)
		mat_free(l->segs[i].mat, 4 * l->segs[i].part);
	free(l->segs);
	for (unsigned i = 0; i < l->n_pend; i++)
		dp_refill_free(&l->pend[i]);
	OPENSSL_cleanse(l, sizeof(*l));
	free(l);
}

/* ---- records ---- */
static int write_header(struct dp_ledger *l)
{
	uint8_t h[HDR_LEN] = {0};
	put_le32(h, MAGIC_HDR);
	put_le32(h + 4, 2);
	put_le32(h + 8, l->link_id);
	memcpy(h + 16, l->r, sizeof(l->r));
	memcpy(h + 80, l->psk_digest, sizeof(l->psk_digest));
	put_le64(h + 112, l->head);
	for (unsigned i = 0; i < DP_AUTH_STREAMS; i++)
		put_le64(h + 120 + 8 * i, l->reserved[i]);
	put_le64(h + 152, l->block_next);
	put_le64(h + 160, l->claim.upto);
	put_le64(h + 168, l->claim.held);
	for (unsigned i = 0; i < DP_AUTH_STREAMS; i++)
		put_le64(h + 176 + 8 * i, l->seen[i]);
	int rc = l->io.put ? l->io.put(l->io.ctx, DP_LEDGER_REC_HEADER, h, sizeof(h)) : 0;
	OPENSSL_cleanse(h, sizeof(h));
	return rc;
}

static int write_seg(struct dp_ledger *l, const struct seg *s)
{
	size_t len = SEG_HDR + 4 * (size_t)s->part;
	uint8_t *b = km_key_material_alloc((uint32_t)len);
	if (!b)
		return -ENOMEM;
	put_le32(b, MAGIC_SEG);
	put_le32(b + 4, s->part);
	put_le64(b + 8, s->start);
	memcpy(b + SEG_HDR, s->mat, 4 * (size_t)s->part);
	int rc = l->io.put ? l->io.put(l->io.ctx, DP_LEDGER_REC_SEG(s->start), b, len) : 0;
	km_key_material_free(b, (uint32_t)len);
	return rc;
}

static size_t pend_len(const struct dp_refill *r)
{
	return PEND_HDR + 4 * (size_t)r->part + (r->key.material ? (r->key.bits + 7) / 8 : 0);
}

static int write_pend(struct dp_ledger *l, const struct dp_refill *r)
{
	size_t len = pend_len(r);
	uint8_t *b = km_key_material_alloc((uint32_t)len);
	if (!b)
		return -ENOMEM;
	put_le32(b, MAGIC_PEND);
	put_le32(b + 4, r->part);
	put_le64(b + 8, r->block_seq);
	memcpy(b + 16, r->key.key_id, KM_KEY_ID_LEN);
	put_le32(b + 32, r->key.material ? r->key.bits : 0);
	put_le64(b + 40, r->key.gen_time_ns);
	memcpy(b + PEND_HDR, r->mat, 4 * (size_t)r->part);
	if (r->key.material)
		memcpy(b + PEND_HDR + 4 * (size_t)r->part, r->key.material, (r->key.bits + 7) / 8);
	int rc = l->io.put ? l->io.put(l->io.ctx, DP_LEDGER_REC_PEND(r->block_seq), b, len) : 0;
	km_key_material_free(b, (uint32_t)len);
	return rc;
}

static int del_rec(struct dp_ledger *l, uint64_t rec)
{
	return l->io.del ? l->io.del(l->io.ctx, rec) : 0;
}

/* ---- segments ---- */
static int seg_append(struct dp_ledger *l, uint32_t part, uint8_t *mat)
{
	if (l->n_segs == l->cap_segs) {
		unsigned cap = l->cap_segs ? 2 * l->cap_segs : 64;
		void *p = realloc(l->segs, cap * sizeof(*l->segs));
		if (!p)
			return -ENOMEM;
		l->segs = p;
		l->cap_segs = cap;
	}
	l->segs[l->n_segs++] = (struct seg){l->head, part, mat};
	l->head += part;
	return 0;
}

static struct dp_ledger *alloc_ledger(uint32_t link_id, const struct dp_ledger_io *io)
{
	struct dp_ledger *l = calloc(1, sizeof(*l));
	if (!l)
		return NULL;
	l->link_id = link_id;
	if (io)
		l->io = *io;
	return l;
}

struct dp_ledger *dp_ledger_create(uint32_t link_id, const uint8_t *psk, size_t psk_len,
				   const struct dp_ledger_io *io, const char **why)
{
	const char *dummy;
	if (!why)
		why = &dummy;
	if (!psk || psk_len < DP_AUTH_PSK_MIN)
		return *why = "pre-shared authentication secret too short", NULL;
	struct dp_ledger *l = alloc_ledger(link_id, io);
	if (!l)
		return *why = "out of memory", NULL;
	memcpy(l->r, psk, sizeof(l->r));
	SHA256(psk, psk_len, l->psk_digest);
	const uint8_t *rest = psk + sizeof(l->r);
	/* the same split as dp_auth_split: four equal parts of whole pads */
	size_t part = (psk_len - sizeof(l->r)) / DP_AUTH_STREAMS / DP_AUTH_PAD_LEN * DP_AUTH_PAD_LEN;
	int rc = 0;
	for (size_t off = 0; off < part && !rc; off += DP_LEDGER_SEG_MAX) {
		uint32_t n = (uint32_t)(part - off < DP_LEDGER_SEG_MAX ? part - off : DP_LEDGER_SEG_MAX);
		uint8_t *m = km_key_material_alloc(4 * n);
		if (!m) {
			rc = -ENOMEM;
			break;
		}
		for (unsigned i = 0; i < DP_AUTH_STREAMS; i++)
			memcpy(m + (size_t)i * n, rest + i * part + off, n);
		if ((rc = seg_append(l, n, m)))
			mat_free(m, 4 * n);
		else
			rc = write_seg(l, &l->segs[l->n_segs - 1]);
	}
	l->have_header = true;
	if (!rc)
		rc = write_header(l);
	if (rc) {
		dp_ledger_free(l);
		return *why = rc == -ENOMEM ? "out of memory" : "cannot write the authentication state", NULL;
	}
	return l;
}

/* ---- loading ---- */
struct dp_ledger *dp_ledger_load_begin(uint32_t link_id, const struct dp_ledger_io *io)
{
	return alloc_ledger(link_id, io);
}

static int load_header(struct dp_ledger *l, const uint8_t *d, size_t len, const char **why)
{
	if (len != HDR_LEN)
		return *why = "authentication state header truncated or malformed", -EPROTO;
	if (get_le32(d) != MAGIC_HDR)
		return *why = "authentication state header has a bad magic", -EPROTO;
	uint32_t version = get_le32(d + 4);
	if (version != 1 && version != 2)
		return *why = "authentication state has an unsupported version", -EPROTO;
	if (get_le32(d + 8) != l->link_id)
		return *why = "authentication state belongs to another link", -EPROTO;
	memcpy(l->r, d + 16, sizeof(l->r));
	memcpy(l->psk_digest, d + 80, sizeof(l->psk_digest));
	l->head = get_le64(d + 112);
	for (unsigned i = 0; i < DP_AUTH_STREAMS; i++)
		l->reserved[i] = get_le64(d + 120 + 8 * i);
	l->block_next = get_le64(d + 152);
	l->claim.upto = get_le64(d + 160);
	l->claim.held = get_le64(d + 168);
	for (unsigned i = 0; i < DP_AUTH_STREAMS; i++)
		l->seen[i] = get_le64(d + 176 + 8 * i);
	for (unsigned i = 0; i < DP_AUTH_STREAMS && version == 1; i++) {
		/* version 1 numbered 16-byte pads: the same byte offsets in this stream's unit */
		uint64_t f = DP_AUTH_PAD_LEN / dp_auth_stream_unit(i);
		if (l->reserved[i] > UINT64_MAX / 32 || l->seen[i] > UINT64_MAX / 32)
			return *why = "authentication state header has a bad reservation", -EPROTO;
		l->reserved[i] *= f;
		l->seen[i] *= f;
	}
	if (l->head % DP_AUTH_PAD_LEN || l->head > UINT64_MAX / 2)
		return *why = "authentication state header has a bad stream head", -EPROTO;
	l->have_header = true;
	return 0;
}

static int load_seg(struct dp_ledger *l, uint64_t rec, const uint8_t *d, size_t len,
		    const char **why)
{
	if (len < SEG_HDR || get_le32(d) != MAGIC_SEG)
		return *why = "authentication segment record truncated or malformed", -EPROTO;
	uint32_t part = get_le32(d + 4);
	uint64_t start = get_le64(d + 8);
	if (!part || part > DP_LEDGER_SEG_MAX || part % DP_AUTH_PAD_LEN ||
	    len != SEG_HDR + 4 * (size_t)part || DP_LEDGER_REC_SEG(start) != rec ||
	    start % DP_AUTH_PAD_LEN)
		return *why = "authentication segment record truncated or malformed", -EPROTO;
	uint8_t *m = km_key_material_alloc(4 * part);
	if (!m)
		return *why = "out of memory", -ENOMEM;
	memcpy(m, d + SEG_HDR, 4 * (size_t)part);
	uint64_t head = l->head;
	l->head = start; /* records arrive in start order; checked in load_end */
	int rc = seg_append(l, part, m);
	l->head = head;
	if (rc) {
		mat_free(m, 4 * part);
		return *why = "out of memory", rc;
	}
	return 0;
}

static int load_pend(struct dp_ledger *l, uint64_t rec, const uint8_t *d, size_t len,
		     const char **why)
{
	if (len < PEND_HDR || get_le32(d) != MAGIC_PEND)
		return *why = "authentication pending record truncated or malformed", -EPROTO;
	struct dp_refill r = {.part = get_le32(d + 4), .block_seq = get_le64(d + 8)};
	uint32_t bits = get_le32(d + 32);
	size_t key_bytes = (bits + 7u) / 8;
	if (r.part > DP_LEDGER_SEG_MAX || r.part % DP_AUTH_PAD_LEN ||
	    len != PEND_HDR + 4 * (size_t)r.part + key_bytes || DP_LEDGER_REC_PEND(r.block_seq) != rec ||
	    r.block_seq >= (1ull << 62))
		return *why = "authentication pending record truncated or malformed", -EPROTO;
	if (l->n_pend == DP_LEDGER_PEND_MAX)
		return *why = "too many authentication pending records", -EPROTO;
	r.mat = km_key_material_alloc(r.part ? 4 * r.part : 1);
	if (bits)
		r.key.material = km_key_material_alloc((uint32_t)key_bytes);
	if (!r.mat || (bits && !r.key.material)) {
		dp_refill_free(&r);
		return *why = "out of memory", -ENOMEM;
	}
	memcpy(r.mat, d + PEND_HDR, 4 * (size_t)r.part);
	memcpy(r.key.key_id, d + 16, KM_KEY_ID_LEN);
	r.key.link_id = l->link_id;
	r.key.bits = bits;
	r.key.block_seq = r.block_seq;
	r.key.gen_time_ns = get_le64(d + 40);
	if (bits)
		memcpy(r.key.material, d + PEND_HDR + 4 * (size_t)r.part, key_bytes);
	l->pend[l->n_pend++] = r;
	return 0;
}

int dp_ledger_load_rec(struct dp_ledger *l, uint64_t rec, const uint8_t *data, size_t len,
		       const char **why)
{
	const char *dummy;
	if (!why)
		why = &dummy;
	switch (rec >> 62) {
	case 0:
		if (rec != DP_LEDGER_REC_HEADER)
			break;
		return load_header(l, data, len, why);
	case 1:
		return load_seg(l, rec, data, len, why);
	case 2:
		return load_pend(l, rec, data, len, why);
	}
	return *why = "unknown authentication state record", -EPROTO;
}

static int seg_cmp(const void *a, const void *b)
{
	uint64_t x = ((const struct seg *)a)->start, y = ((const struct seg *)b)->start;
	return x < y ? -1 : x > y;
}

static int pend_cmp(const void *a, const void *b)
{
	uint64_t x = ((const struct dp_refill *)a)->block_seq, y = ((const struct dp_refill *)b)->block_seq;
	return x < y ? -1 : x > y;
}

int dp_ledger_load_end(struct dp_ledger *l, const uint8_t *psk, size_t psk_len, const char **why)
{
	const char *dummy;
	if (!why)
		why = &dummy;
	if (!l->have_header)
		return *why = "authentication state has no header record", -ENOENT;
	qsort(l->segs, l->n_segs, sizeof(l->segs[0]), seg_cmp);
	qsort(l->pend, l->n_pend, sizeof(l->pend[0]), pend_cmp);
	for (unsigned i = 1; i < l->n_pend; i++)
		if (l->pend[i].block_seq == l->pend[i - 1].block_seq)
			return *why = "authentication pending records repeat a block", -EPROTO;
	for (unsigned i = 1; i < l->n_segs; i++)
		if (l->segs[i].start != l->segs[i - 1].start + l->segs[i - 1].part)
			return *why = "authentication segments are not contiguous", -EPROTO;
	if (l->n_segs && l->segs[l->n_segs - 1].start + l->segs[l->n_segs - 1].part != l->head)
		return *why = "authentication segments do not end at the stream head", -EPROTO;
	if (l->n_pend && l->claim.upto <= l->pend[l->n_pend - 1].block_seq)
		return *why = "authentication state claims less than its pending blocks", -EPROTO;
	if (psk) {
		uint8_t d[SHA256_DIGEST_LENGTH];
		SHA256(psk, psk_len, d);
		if (CRYPTO_memcmp(d, l->psk_digest, sizeof(d)))
			return *why = "the pre-shared secret differs from the one this authentication "
				      "state was created from", -EKEYREJECTED;
	}
	return 0;
}

/* ---- use ---- */
uint64_t dp_ledger_block_next(const struct dp_ledger *l)
{
	return l->block_next;
}

uint64_t dp_ledger_head(const struct dp_ledger *l)
{
	return l->head;
}

uint64_t dp_ledger_reserved(const struct dp_ledger *l, unsigned stream)
{
	return stream < DP_AUTH_STREAMS ? l->reserved[stream] : 0;
}

struct dp_claim dp_ledger_claim(const struct dp_ledger *l)
{
	return l->claim;
}

unsigned dp_ledger_pending(const struct dp_ledger *l)
{
	return l->n_pend;
}

size_t dp_ledger_stream_cap(const struct dp_ledger *l)
{
	uint64_t held = l->n_segs ? l->head - l->segs[0].start : 0;
	/* room for what is held plus a generous run of refills */
	return (size_t)held + (size_t)DP_LEDGER_PEND_MAX * DP_LEDGER_SEG_MAX + (1u << 16);
}

int dp_ledger_restore(const struct dp_ledger *l, struct dp_auth_stream *streams[DP_AUTH_STREAMS],
		      unsigned send_mask)
{
	size_t cap = dp_ledger_stream_cap(l);
	for (unsigned i = 0; i < DP_AUTH_STREAMS; i++) {
		struct dp_auth_stream *s = streams[i];
		if (!s)
			continue;
		bool send = (send_mask >> i) & 1;
		uint64_t next = send ? l->reserved[i] : l->seen[i];
		unsigned unit = dp_auth_stream_unit(i);
		uint64_t from = next * unit;
		if (l->n_segs && from < l->segs[0].start)
			from = l->segs[0].start;
		if (from > l->head)
			from = l->head;
		int rc = dp_auth_stream_restore(s, l->r[i], cap, unit, from, next);
		for (unsigned k = 0; !rc && k < l->n_segs; k++) {
			const struct seg *g = &l->segs[k];
			if (g->start + g->part <= from)
				continue;
			uint64_t skip = from > g->start ? from - g->start : 0;
			rc = dp_auth_stream_append(s, g->mat + (size_t)i * g->part + skip, g->part - skip);
		}
		if (rc)
			return rc;
		if (!send)
			s->limit = UINT64_MAX; /* a receiver follows the sender's (reserved) numbers */
	}
	return 0;
}

int dp_ledger_finished(struct dp_ledger *l, struct dp_refill *r)
{
	if (r->part > DP_LEDGER_SEG_MAX || r->part % DP_AUTH_PAD_LEN || r->block_seq >= (1ull << 62) ||
	    r->block_seq < l->claim.upto)
		return -EINVAL;
	if (l->n_pend == DP_LEDGER_PEND_MAX)
		return -ENOSPC;
	int rc = write_pend(l, r);
	if (rc)
		return rc;
	l->pend[l->n_pend++] = *r;
	memset(r, 0, sizeof(*r));
	/* every block below this one is final here; this one is held */
	uint64_t shift = l->pend[l->n_pend - 1].block_seq + 1 - l->claim.upto;
	l->claim.held = shift >= 64 ? 0 : l->claim.held << shift;
	l->claim.held |= 1;
	l->claim.upto = l->pend[l->n_pend - 1].block_seq + 1;
	return write_header(l);
}

int dp_ledger_decide(struct dp_ledger *l, const struct dp_claim *peer, uint64_t max_head,
		     const struct dp_ledger_sink *sink)
{
	int decided = 0, rc = 0;
	while (l->n_pend) {
		struct dp_refill *r = &l->pend[0];
		int holds = dp_claim_holds(peer, r->block_seq);
		if (holds < 0)
			break;
		if (holds) {
			if (l->head + r->part > max_head)
				break; /* the lcores' rings are full: decide later */
			if (r->part) {
				if ((rc = seg_append(l, r->part, r->mat)))
					break;
				if ((rc = write_seg(l, &l->segs[l->n_segs - 1]))) {
					l->n_segs--;
					l->head -= r->part;
					break;
				}
				r->mat = NULL; /* the segment owns it now */
				sink->apply(sink->ctx, r->block_seq, r->part, l->segs[l->n_segs - 1].mat);
			}
			if (r->key.material)
				sink->key(sink->ctx, &r->key);
		} else if (r->key.material) {
			sink->drop(sink->ctx, &r->key);
		}
		if ((rc = del_rec(l, DP_LEDGER_REC_PEND(r->block_seq))) && rc != -ENOENT)
			break;
		rc = 0;
		dp_refill_free(r);
		memmove(l->pend, l->pend + 1, --l->n_pend * sizeof(l->pend[0]));
		decided++;
	}
	if (decided && (rc = write_header(l)) == 0)
		return decided;
	return rc ? rc : decided;
}

int dp_ledger_reserve(struct dp_ledger *l, const uint64_t next_seq[DP_AUTH_STREAMS],
		      const uint64_t want[DP_AUTH_STREAMS], uint64_t block_in_use)
{
	bool moved = false;
	uint64_t low = UINT64_MAX; /* lowest byte offset any stream still needs */
	for (unsigned i = 0; i < DP_AUTH_STREAMS; i++) {
		uint64_t need = next_seq[i];
		if (want[i] && want[i] >= need) /* want 0: nothing asked */
			need = want[i] + 1;
		uint64_t ahead = DP_LEDGER_RESERVE * (DP_AUTH_PAD_LEN / dp_auth_stream_unit(i));
		if (need + ahead / 2 > l->reserved[i]) {
			l->reserved[i] = need + ahead;
			moved = true;
		}
		if (next_seq[i] * dp_auth_stream_unit(i) < low)
			low = next_seq[i] * dp_auth_stream_unit(i);
		l->seen[i] = next_seq[i]; /* written with the next header */
	}
	if (block_in_use + DP_LEDGER_BLOCK_RESERVE / 2 > l->block_next) {
		l->block_next = block_in_use + DP_LEDGER_BLOCK_RESERVE;
		moved = true;
	}
	/* segments every stream has used up are gone for good */
	unsigned drop = 0;
	while (drop < l->n_segs &&
	       l->segs[drop].start + l->segs[drop].part <= low) {
		int rc = del_rec(l, DP_LEDGER_REC_SEG(l->segs[drop].start));
		if (rc && rc != -ENOENT)
			return rc;
		mat_free(l->segs[drop].mat, 4 * l->segs[drop].part);
		drop++;
	}
	if (drop)
		memmove(l->segs, l->segs + drop, (l->n_segs -= drop) * sizeof(l->segs[0]));
	if (moved) {
		int rc = write_header(l);
		if (rc)
			return rc;
	}
	return moved;
}
