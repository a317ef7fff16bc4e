/* Variant entry points of the sifting kernels (sift.c dispatches between them). */
#ifndef DST_SIFT_INTERNAL_H
#define DST_SIFT_INTERNAL_H

#include "dst_sift.h"

size_t dst_sift_events_base(struct dst_sift_block *b, const struct dst_events *ev, size_t from);
size_t dst_sift_planes_base(struct dst_sift_block *b, const struct dst_planes *pl, size_t from);
size_t dst_sift_events_avx2(struct dst_sift_block *b, const struct dst_events *ev, size_t from);
size_t dst_sift_planes_avx2(struct dst_sift_block *b, const struct dst_planes *pl, size_t from);

#endif
