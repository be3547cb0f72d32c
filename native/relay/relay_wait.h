// Internal to the relay: a thread that finishes a batch the ring or the queue could not take
// (relay_wait.c). A full pipe is waited for with poll on the relay's own thread, but a shm
// ring (semaphore) or a message queue has no fd to poll: without this thread the relay could
// only retry them every millisecond, which caps a 16 KiB queue at ~16 MB/s. The thread blocks
// in ipcast_writer_finish (the engine's wait, as the JS path's wait thread does) and wakes the
// relay through its eventfd when the batch is in.
#ifndef IPCAST_RELAY_WAIT_H
#define IPCAST_RELAY_WAIT_H

#include <pthread.h>

#include "relay.h"

typedef struct {
  pthread_t th;
  int started, quit, efd;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  relay_out* job;
} relay_waiter;

void relay_waiter_init(relay_waiter* w, int efd);
/* Hands o's batch in flight to the thread (started on first use): 0, or -EBUSY / -errno. */
int relay_waiter_hand(relay_waiter* w, relay_out* o);
/* Ends and joins the thread; a job in progress must be made to return first (close its writer). */
void relay_waiter_stop(relay_waiter* w);

#endif
