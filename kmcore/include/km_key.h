/* The key descriptor that crosses from the dataplane's distill workers to the key manager
 * through SP/SC rte_rings (fixed size, passed by value). The material it points to is owned by
 * whoever holds the descriptor; km_key_material_free() zeroizes and releases it. */
#ifndef KM_KEY_H
#define KM_KEY_H

#include <stdint.h>

#define KM_KEY_ID_LEN 16 /* a UUID, identical on both ends of the link */

struct km_key_desc {
	uint8_t key_id[KM_KEY_ID_LEN];
	uint32_t link_id;
	uint32_t bits;        /* secret key length in bits (PA bit order) */
	uint64_t block_seq;   /* the link's block sequence number the key came from */
	uint64_t gen_time_ns; /* CLOCK_REALTIME when the block finished */
	uint8_t *material;    /* (bits + 7) / 8 bytes from km_key_material_alloc() */
};

/* Locked (mlock), zero-initialised memory for key material; free zeroizes first. */
uint8_t *km_key_material_alloc(uint32_t bytes);
void km_key_material_free(uint8_t *material, uint32_t bytes);

#endif
