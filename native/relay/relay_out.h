// Internal to the relay: one output's queue and its writes (relay_out.c). See relay.h.
#ifndef IPCAST_RELAY_OUT_H
#define IPCAST_RELAY_OUT_H

#include "relay.h"

/* Relaxed atomic store of a counter read by another thread (relay_get_stats). */
static inline void relay_bump(uint64_t* p, uint64_t v) {
  __atomic_store_n(p, __atomic_load_n(p, __ATOMIC_RELAXED) + v, __ATOMIC_RELAXED);
}

/* pool may be NULL (plain malloc / free). */
relay_chunk* relay_chunk_new(relay_chunk_pool* pool, const uint8_t* payload, uint32_t len, uint64_t sender_us, uint8_t kind);
void relay_chunk_unref(relay_chunk* c);
void relay_chunk_pool_drain(relay_chunk_pool* pool);

int relay_out_init(relay_out* o, ipcast_kind kind, uint32_t session);
/* Queues c (one more ref), dropping the oldest queued chunks while the queue would exceed
   max_bytes (counted in st->dropped_slow). 0 or -ENOMEM (the chunk is then not queued: counted
   dropped too). */
int relay_out_push(relay_out* o, relay_chunk* c, uint64_t max_bytes, relay_kind_stats* st);

typedef enum {
  OUT_IDLE = 0,   /* nothing to write, or no writer */
  OUT_FULL,       /* the transport is full: try again when it has room */
  OUT_ERROR       /* the writer failed: *err is the errno; the batch is lost, the writer let go */
} relay_out_state;

/* The batch in flight is lost (the writer failed, or its decoder is gone): one failed hand-off
   counted, its chunks let go. Nothing in flight: nothing counted. */
void relay_out_fail_batch(relay_out* o, relay_kind_stats* st);
/* Writes queued chunks while the transport takes them, at most max_batches batches. */
relay_out_state relay_out_service(relay_out* o, relay_kind_stats* st, int max_batches, int* err);
/* Collects a finished wait (relay_wait.c): the batch in flight is in (OUT_IDLE) or failed
   (OUT_ERROR, *err). */
relay_out_state relay_out_after_wait(relay_out* o, relay_kind_stats* st, int* err);
/* Drops everything queued and in flight (not counted: the output is being discarded). */
void relay_out_free(relay_out* o);
int relay_out_empty(const relay_out* o);

#endif
