// Internal to the writer: the per-transport steps (writer_ops.c) that writer.c composes into
// the wait policy. Not for the drivers: they use writer.h.
#ifndef IPCAST_WRITER_OPS_H
#define IPCAST_WRITER_OPS_H

#include <sys/types.h>
#include <sys/uio.h>

#include "writer.h"

/* Counters have one writing thread at a time and are read from another: relaxed atomics. */
static inline void bump(uint64_t* p, uint64_t v) {
  __atomic_store_n(p, __atomic_load_n(p, __ATOMIC_RELAXED) + v, __ATOMIC_RELAXED);
}
static inline int is_closed(const ipcast_writer* w) { return __atomic_load_n(&w->closed, __ATOMIC_ACQUIRE); }

/* Puts gathered bytes: >= 0 accepted, -EAGAIN when full, -errno. */
ssize_t ipcast_writer_put(ipcast_writer* w, const struct iovec* iov, int cnt);
/* Makes what was put visible to the reader (partial slot posted, staged message sent). */
int ipcast_writer_flush(ipcast_writer* w);
/* Waits at most ns for room (step 2 of the policy). 0 = try again, -errno. */
int ipcast_writer_short_wait(ipcast_writer* w, uint64_t ns);
/* Blocks until there is room, in bounded slices (step 3). 0, -ECANCELED, -EPIPE, -errno. */
int ipcast_writer_wait_room(ipcast_writer* w);

#endif
