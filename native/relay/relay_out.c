// See relay_out.h.
#include "relay_out.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../engine/record.h"

/* One writer batch: as the JS feeder batches (src/receiver/child-feeder.ts). */
#define BATCH_CHUNKS 64
#define BATCH_BYTES (1u << 20)

/* The pooled size: a 1316-byte chunk (7 MPEG-TS packets) and up to ~2 KiB; and how many wait. */
#define POOL_CHUNK_BYTES 2048u
#define POOL_MAX_FREE 1024u /* ~2 MiB: enough for the chunks in flight; a long decoder outage is not kept */

relay_chunk* relay_chunk_new(relay_chunk_pool* pool, const uint8_t* payload, uint32_t len, uint64_t sender_us, uint8_t kind) {
  relay_chunk* c = NULL;
  if (pool && len <= POOL_CHUNK_BYTES && pool->free) {
    c = pool->free;
    pool->free = c->next;
    pool->n_free--;
  } else {
    uint32_t cap = pool && len <= POOL_CHUNK_BYTES ? POOL_CHUNK_BYTES : len;
    c = malloc(sizeof *c + cap);
    if (!c) return NULL;
    c->cap = cap;
    c->pool = pool;
  }
  c->refs = 1;
  c->len = len;
  c->sender_us = sender_us;
  c->kind = kind;
  c->next = NULL;
  if (len) memcpy(c->data, payload, len);
  return c;
}

void relay_chunk_unref(relay_chunk* c) {
  if (!c || --c->refs > 0) return;
  relay_chunk_pool* pool = c->pool;
  if (pool && c->cap == POOL_CHUNK_BYTES && pool->n_free < POOL_MAX_FREE) {
    c->next = pool->free;
    pool->free = c;
    pool->n_free++;
    return;
  }
  free(c);
}

void relay_chunk_pool_drain(relay_chunk_pool* pool) {
  while (pool->free) {
    relay_chunk* c = pool->free;
    pool->free = c->next;
    free(c);
  }
  pool->n_free = 0;
}

int relay_out_init(relay_out* o, ipcast_kind kind, uint32_t session) {
  memset(o, 0, sizeof *o);
  o->cap = 1024;
  o->q = malloc(o->cap * sizeof *o->q);
  if (!o->q) return -ENOMEM;
  o->used = 1;
  o->kind = kind;
  o->session = session;
  return 0;
}

int relay_out_empty(const relay_out* o) { return o->count == 0 && o->n_inflight == 0; }

static relay_chunk* pop(relay_out* o) {
  relay_chunk* c = o->q[o->head];
  o->head = (o->head + 1) & (o->cap - 1);
  o->count--;
  o->bytes -= c->len;
  return c;
}

static int grow(relay_out* o) {
  uint32_t cap = o->cap * 2;
  relay_chunk** q = malloc(cap * sizeof *q);
  if (!q) return -ENOMEM;
  for (uint32_t i = 0; i < o->count; i++) q[i] = o->q[(o->head + i) & (o->cap - 1)];
  free(o->q);
  o->q = q;
  o->cap = cap;
  o->head = 0;
  return 0;
}

int relay_out_push(relay_out* o, relay_chunk* c, uint64_t max_bytes, relay_kind_stats* st) {
  while (o->bytes + c->len > max_bytes && o->count > 0) {
    relay_chunk_unref(pop(o));
    relay_bump(&st->dropped_slow, 1);
  }
  if (o->count == o->cap && grow(o) < 0) {
    relay_bump(&st->dropped_slow, 1);
    return -ENOMEM;
  }
  c->refs++;
  o->q[(o->head + o->count) & (o->cap - 1)] = c;
  o->count++;
  o->bytes += c->len;
  return 0;
}

static void finish_batch(relay_out* o, relay_kind_stats* st, int ok) {
  if (o->full_since_ns) relay_bump(&st->wait_ns, ipcast_mono_ns() - o->full_since_ns);
  o->full_since_ns = 0;
  if (ok) {
    relay_bump(&st->handed_off, o->n_inflight);
    relay_bump(&st->handed_off_bytes, o->inflight_bytes);
  }
  for (uint32_t i = 0; i < o->n_inflight; i++) relay_chunk_unref(o->inflight[i]);
  o->n_inflight = 0;
  o->inflight_bytes = 0;
}

void relay_out_fail_batch(relay_out* o, relay_kind_stats* st) {
  if (o->n_inflight > 0) relay_bump(&st->handoff_errors, 1);
  finish_batch(o, st, 0);
}

relay_out_state relay_out_service(relay_out* o, relay_kind_stats* st, int max_batches, int* err) {
  for (int b = 0; o->w && b < max_batches; b++) {
    int r;
    if (o->n_inflight > 0) {
      r = ipcast_writer_resume(o->w);
    } else {
      if (o->count == 0) return OUT_IDLE;
      uint32_t n = 0;
      uint64_t bytes = 0;
      while (o->count > 0 && n < BATCH_CHUNKS && bytes < BATCH_BYTES) {
        relay_chunk* c = pop(o);
        o->inflight[n++] = c;
        bytes += c->len;
      }
      o->n_inflight = n;
      o->inflight_bytes = bytes;
      if (ipcast_writer_reserve(o->w, n) < 0) {
        r = -ENOMEM;
      } else {
        for (uint32_t i = 0; i < n; i++) {
          o->w->data[i] = o->inflight[i]->data;
          o->w->len[i] = o->inflight[i]->len;
          o->w->sender_us[i] = o->inflight[i]->sender_us;
        }
        r = ipcast_writer_write(o->w, n, 0);
      }
    }
    if (r == -EAGAIN) {
      if (!o->full_since_ns) o->full_since_ns = ipcast_mono_ns();
      return OUT_FULL;
    }
    if (r < 0) {
      relay_out_fail_batch(o, st);
      *err = -r;
      return OUT_ERROR;
    }
    finish_batch(o, st, 1);
  }
  return o->w && o->count > 0 ? OUT_FULL : OUT_IDLE;
}

relay_out_state relay_out_after_wait(relay_out* o, relay_kind_stats* st, int* err) {
  int rc = __atomic_load_n(&o->wait_result, __ATOMIC_RELAXED);
  if (rc < 0) {
    relay_out_fail_batch(o, st);
    *err = -rc;
    return OUT_ERROR;
  }
  finish_batch(o, st, 1);
  return OUT_IDLE;
}

void relay_out_free(relay_out* o) {
  for (uint32_t i = 0; i < o->n_inflight; i++) relay_chunk_unref(o->inflight[i]);
  while (o->count > 0) relay_chunk_unref(pop(o));
  free(o->q);
  memset(o, 0, sizeof *o);
}
