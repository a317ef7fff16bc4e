/* Metering for accounting (Y.3802 clause 7.4 accounting management): keys and bits supplied,
 * counted per SAE and per pool (link or peer KM). The key store feeds it on every supply and
 * fetch; the control plane reads it (per entry, by iteration, or as JSON for Mk). Thread-safe. */
#ifndef KM_METER_H
#define KM_METER_H

#include <jansson.h>
#include <stdint.h>

#include "km_store.h"

struct km_meter;

struct km_meter_count {
	uint64_t keys;
	uint64_t bits;
};

struct km_meter *km_meter_create(void);
void km_meter_free(struct km_meter *m);

/* Count a supply of 'keys' keys totalling 'bits' bits to SAE 'sae' from 'pool'. Returns 0 or
 * -EINVAL (empty or over-long SAE id), -ENOMEM. */
int km_meter_add(struct km_meter *m, const char *sae, km_pool_id pool, uint64_t keys, uint64_t bits);

/* Totals for one SAE / one pool (zeros when never seen: returns -ENOENT). */
int km_meter_sae(const struct km_meter *m, const char *sae, struct km_meter_count *c);
int km_meter_pool(const struct km_meter *m, km_pool_id pool, struct km_meter_count *c);

/* Visit every SAE, then every pool. The callback returns nonzero to stop. */
typedef int (*km_meter_sae_fn)(void *ctx, const char *sae, const struct km_meter_count *c);
typedef int (*km_meter_pool_fn)(void *ctx, km_pool_id pool, const struct km_meter_count *c);
int km_meter_foreach_sae(const struct km_meter *m, km_meter_sae_fn fn, void *ctx);
int km_meter_foreach_pool(const struct km_meter *m, km_meter_pool_fn fn, void *ctx);

/* {"sae": {"<id>": {"keys": n, "bits": n}, ...},
 *  "links": {"<link id>": {...}}, "peers": {"<node id>": {...}}} (new reference). */
json_t *km_meter_json(const struct km_meter *m);

/* Zero every counter (after the accounting system collected them). */
void km_meter_reset(struct km_meter *m);

#endif
