/* Event-frame generator: turns the link model (dst_model.h) into the frames the two QKD modules of
 * a link send their nodes. Used by qkdsim, the tests and the benchmarks. Slot s of the model is
 * slot s + 1 on the wire (sparse coding starts at slot 1). */
#ifndef DP_SIMGEN_H
#define DP_SIMGEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dst_model.h"

struct dp_simgen;

/* slots_per_frame: model slots covered by one frame pair (a multiple of 64; with alice_dense the
 * dense frame must fit the MTU: at most 2 * (mtu - 20)). alice_dense: the transmitter module
 * reports every slot; else only the slots with a detection (sparse, an emulator shortcut that
 * keeps the frame rate low). */
struct dp_simgen *dp_simgen_create(const struct dst_link_params *p, uint64_t seed,
				   uint16_t link_id, unsigned slots_per_frame, bool alice_dense);
void dp_simgen_free(struct dp_simgen *g);

/* The next frame pair (event header + payload, no Ethernet header). *len_b is 0 when the window
 * had no detection (and *len_a too when Alice is sparse). Returns the detections in the window,
 * or -ENOSPC when a buffer is too small. */
int dp_simgen_next(struct dp_simgen *g, uint8_t *alice, size_t cap_a, size_t *len_a,
		   uint8_t *bob, size_t cap_b, size_t *len_b);

/* The model planes of the last window (for reference sifting in tests). */
const struct dst_planes *dp_simgen_planes(const struct dp_simgen *g);

#endif
