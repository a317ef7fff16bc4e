/* Shared between relay.c and app.c: add (or with a negative rate, release) a reservation on
 * every hop of a relay session's path. */
#ifndef SESSION_INTERNAL_H
#define SESSION_INTERNAL_H

#include "cp_session.h"

void cp__reserve_path(struct cp_sessions *s, const struct cp_relay_session *r, int64_t bps);

#endif
