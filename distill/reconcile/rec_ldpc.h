/* The QC-LDPC method behind dst_reconcile.h (one-way syndrome + blind rounds). */
#ifndef REC_LDPC_H
#define REC_LDPC_H

#include "dst_reconcile.h"

struct rec_ldpc_alice;
struct rec_ldpc_bob;

size_t rec_ldpc_max_msg(const struct dst_rec_config *cfg);
struct rec_ldpc_alice *rec_ldpc_alice_create(const struct dst_rec_config *cfg);
void rec_ldpc_alice_free(struct rec_ldpc_alice *a);
int rec_ldpc_alice_begin(struct rec_ldpc_alice *a, const uint64_t *key, uint64_t n_bits);
int rec_ldpc_alice_step(struct rec_ldpc_alice *a, const uint8_t *in, size_t in_len, uint8_t *out,
			size_t out_cap, size_t *out_len);
int rec_ldpc_alice_result(const struct rec_ldpc_alice *a, uint64_t *out, uint64_t *bits);
void rec_ldpc_alice_stats(const struct rec_ldpc_alice *a, struct dst_rec_stats *s);

struct rec_ldpc_bob *rec_ldpc_bob_create(const struct dst_rec_config *cfg);
void rec_ldpc_bob_free(struct rec_ldpc_bob *b);
int rec_ldpc_bob_begin(struct rec_ldpc_bob *b, const uint64_t *key, uint64_t n_bits, double qber);
int rec_ldpc_bob_step(struct rec_ldpc_bob *b, const uint8_t *in, size_t in_len, uint8_t *out,
		      size_t out_cap, size_t *out_len);
int rec_ldpc_bob_result(const struct rec_ldpc_bob *b, uint64_t *out, uint64_t *bits);
void rec_ldpc_bob_stats(const struct rec_ldpc_bob *b, struct dst_rec_stats *s);

#endif
