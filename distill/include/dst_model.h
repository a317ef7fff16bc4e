/* Link model: the physics of a decoy-state efficient-BB84 link (the QKD module emulator).
 *
 * Alice sends one phase-randomised weak coherent pulse per slot with a biased basis choice (Z with
 * probability p_z, X otherwise), a uniform bit and one of up to three intensity classes. Bob picks
 * his basis with the same bias and measures with two threshold detectors (one per bit value):
 * each detector sees Poisson photons (the correct one mean eta*mu*(1-e_mis) when the bases match,
 * the wrong one eta*mu*e_mis; eta*mu/2 each when they do not) plus its own dark counts; a double
 * click gets a random bit. With probability p_ap a click is followed by an after-pulse in the next
 * slot when that slot has no click of its own (random bit). eta = 10^(-loss_db/10) * eta_det.
 *
 * Generation skips empty slots geometrically (the click probability does not depend on either
 * basis or bit), so the cost is per detection, not per slot. The stream is a pure function of the
 * parameters and the seed: batch sizes and slot limits do not change it.
 *
 * Conventions shared with sifting: basis bit 0 = Z (key basis), 1 = X (test basis); the intensity
 * class c (0 = signal mu[0], 1 = decoy mu[1], 2 = vacuum/weak mu[2]) is stored as two bit-planes
 * lo = c & 1, hi = c >> 1. */
#ifndef DST_MODEL_H
#define DST_MODEL_H

#include <stddef.h>
#include <stdint.h>

#define DST_MAX_CLASSES 3

struct dst_link_params {
	double p_z;                     /* probability of the Z (key) basis, both sides */
	unsigned n_classes;             /* intensity classes in use, 1..3 */
	double mu[DST_MAX_CLASSES];     /* mean photon number per class (mu[0] signal) */
	double p_mu[DST_MAX_CLASSES];   /* probability of each class; sums to 1 */
	double pulse_rate_hz;           /* slots per second (only converts slots to time) */
	double loss_db;                 /* channel loss, dB (fibre attenuation x length + extras) */
	double eta_det;                 /* detector efficiency (0, 1] */
	double p_dark;                  /* dark-count probability per detector per slot */
	double e_mis;                   /* misalignment: probability a photon hits the wrong detector */
	double p_ap;                    /* after-pulse probability per click (0 disables) */
};

/* Detector, misalignment and vacuum-intensity figures of Lim et al. PRA 89, 022307 (2014), sec. IV
 * (eta_det 0.1, p_dark 6e-7, p_ap 0.04, e_mis 0.005, mu[2] 2e-4), 50 km of 0.2 dB/km fibre, 1 GHz,
 * and a source setting within ~5% of the optimal finite-key rate for 10^6-bit blocks at 25-100 km
 * (dst_fk_optimize): p_z = 0.75, mu = 0.45 / 0.2 / 2e-4 with probabilities 0.3 / 0.5 / 0.2. */
void dst_link_params_default(struct dst_link_params *p);
/* 0, or -EINVAL with a static reason in *why (may be NULL). */
int dst_link_params_check(const struct dst_link_params *p, const char **why);

/* Analytic per-slot probabilities for one intensity class, stationary in the after-pulse chain. */
struct dst_link_expect {
	double gain[DST_MAX_CLASSES];     /* P(Bob registers a click | class) */
	double err[DST_MAX_CLASSES];      /* P(click and wrong bit | class, bases match) */
	double qber[DST_MAX_CLASSES];     /* err / gain */
	double gain_total;                /* P(click) averaged over classes */
};
int dst_link_expect(const struct dst_link_params *p, struct dst_link_expect *e);

/* A batch of detection events, structure of arrays. Event i has slot[i] (strictly increasing) and
 * bit i of each packed plane (PA bit order, ceil(n/64) words each). */
struct dst_events {
	size_t n;             /* events in the batch */
	size_t cap;           /* capacity in events (a multiple of 64) */
	uint64_t *slot;       /* absolute slot index */
	uint64_t *a_basis;    /* Alice's basis */
	uint64_t *a_bit;      /* Alice's bit */
	uint64_t *cls_lo;     /* intensity class, low bit */
	uint64_t *cls_hi;     /* intensity class, high bit */
	uint64_t *b_basis;    /* Bob's basis */
	uint64_t *b_bit;      /* Bob's bit */
};
/* Allocate planes for 'cap' events (rounded up to 64). NULL on -ENOMEM. */
struct dst_events *dst_events_create(size_t cap);
void dst_events_free(struct dst_events *ev);

/* The same data as dense bit-planes over a window of slots: bit j of each plane is slot slot0+j.
 * 'det' marks Bob's clicks; the other planes are per-slot choices (Bob's bit is meaningful only
 * where det is set). */
struct dst_planes {
	uint64_t slot0;
	size_t nslots;        /* slots in the window */
	size_t cap_words;     /* capacity of every plane in 64-bit words */
	uint64_t *det, *a_basis, *a_bit, *cls_lo, *cls_hi, *b_basis, *b_bit;
};
struct dst_planes *dst_planes_create(size_t cap_slots);
void dst_planes_free(struct dst_planes *pl);

struct dst_model;

/* Create a generator at slot 0. NULL on bad parameters (dst_link_params_check) or -ENOMEM. */
struct dst_model *dst_model_create(const struct dst_link_params *p, uint64_t seed);
void dst_model_free(struct dst_model *m);

/* Append detections with slot < slot_end to ev (from ev->n on) until ev is full. Returns the
 * number of events added; dst_model_slot() then tells how far the stream has advanced (slot_end
 * when the batch did not fill up). Never allocates. */
size_t dst_model_events(struct dst_model *m, struct dst_events *ev, uint64_t slot_end);
/* First slot not yet covered by the stream. */
uint64_t dst_model_slot(const struct dst_model *m);

/* Fill pl with the next pl->cap_words * 64 slots of the stream as dense planes (Alice's and Bob's
 * choices drawn for every slot, the empty ones from the no-click distribution; the clicks are the
 * same events dst_model_events() would give; empty-slot probabilities at 2^-16 resolution).
 * Returns the number of detections. Never allocates. */
size_t dst_model_planes(struct dst_model *m, struct dst_planes *pl);

/* Event-file I/O (docs/formats.md, "event file"). Files hold the parameters, the slot window and
 * one dst_events batch. Errors: -EINVAL with *why set to a one-line reason for a malformed file,
 * -ENOMEM, -errno from the file system. */
struct dst_event_file {
	struct dst_link_params params;
	uint64_t seed;
	uint64_t slot_begin, slot_end; /* the window the events cover (pulses sent = end - begin) */
	struct dst_events *ev;         /* owned; dst_event_file_clear() frees it */
};
int dst_event_file_encode(const struct dst_event_file *f, uint8_t **buf, size_t *len);
int dst_event_file_decode(const uint8_t *buf, size_t len, struct dst_event_file *f,
			  const char **why);
void dst_event_file_clear(struct dst_event_file *f);

#endif
