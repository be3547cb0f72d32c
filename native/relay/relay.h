// The native relay path of `ipcast recv` (UDP, ipcast format): one thread reads the socket
// in batches (recvmmsg), checks each header and CRC-32C, selects the channel, puts the chunks
// back in sequence order (sequencer.c, the rules of docs/receiver.md) and writes them through
// the engine's writers (engine/writer.h) into every transport at once, each behind its own
// bounded queue with the drop-oldest policy. Nothing here blocks: the socket and the pipes
// are polled, a full ring or queue is retried every millisecond.
//
// Plain C; native/relay_binding.cc runs relay_run() on a thread of its own and turns the
// events (relay_event) into JS calls. Control (attach a writer, detach it, end the stream on
// idle, stop) comes in through relay_command(), from any thread.
#ifndef IPCAST_RELAY_H
#define IPCAST_RELAY_H

#include <pthread.h>
#include <stdint.h>

#include "../engine/writer.h"
#include "sequencer.h"

#ifdef __cplusplus
extern "C" {
#endif

#define RELAY_KINDS 3     /* pipe, shm, msg (ipcast_kind) */
#define RELAY_MAX_OUTS 12 /* per kind: the live session's output and ones still draining; a session beyond them gets no output of that kind and its chunks count as dropped_slow */
#define RELAY_REASONS 9   /* ipcast_reason 1..7, 8 = bad_guide */
#define RELAY_BAD_GUIDE 8

struct relay_chunk_pool;

/* One chunk, copied once out of the socket's slot; shared by every output (refs). */
typedef struct relay_chunk {
  uint32_t refs;
  uint32_t len;
  uint32_t cap;                  /* bytes data[] can hold */
  uint8_t kind;
  uint64_t sender_us;
  struct relay_chunk_pool* pool; /* where it goes back when its last ref goes (or NULL) */
  struct relay_chunk* next;      /* in the pool's free list */
  uint8_t data[];
} relay_chunk;

/* Chunks of the usual size are recycled rather than freed: the relay thread allocates and
   frees one per datagram (about 3 % of its CPU with malloc at 1316-byte chunks). */
typedef struct relay_chunk_pool {
  relay_chunk* free;
  uint32_t n_free;
} relay_chunk_pool;

/* Counters of one transport kind over the whole run (every session's outputs add here). */
typedef struct {
  uint64_t handed_off, handed_off_bytes, dropped_slow, handoff_errors;
  uint64_t wait_ns; /* from a batch finding the transport full to the batch being in */
  uint64_t depth, bytes; /* point in time: queued in this kind's outputs */
} relay_kind_stats;

/* A session's output of one kind: the queue in front of one decoder and, while it is up, its writer. */
typedef struct {
  int used;
  ipcast_kind kind;
  uint32_t session;
  int ending;           /* the session ended: drain, then report RELAY_EV_DRAINED and let go */
  ipcast_writer* w;     /* lent by the binding; NULL while the decoder is down */
  void* token;          /* the binding's handle for w */
  relay_chunk** q;      /* ring of queued chunks */
  uint32_t cap, head, count;
  uint64_t bytes;
  relay_chunk* inflight[64]; /* the batch the writer has, until it is all in */
  uint32_t n_inflight;
  uint64_t inflight_bytes;
  uint64_t full_since_ns; /* when the batch in flight found the transport full (0: it did not) */
  int waiting;          /* the waiter thread is finishing the batch in flight (atomic) */
  int wait_result;      /* its result (atomic, read once waiting is 0) */
  int wait_handed;      /* relay thread only: a wait was handed out and not yet collected */
  int detach_after;     /* relay thread only: detach asked during the wait (1, or 2 = discard) */
} relay_out;

typedef enum {
  RELAY_EV_GUIDE = 1,    /* a valid guide: data/len (the payload) */
  RELAY_EV_SELECTED,     /* channel chosen: a = channel, b = 1 from the guide, 0 first data */
  RELAY_EV_SESSION_END,  /* a = session, b = 1 end of stream, 2 idle; the next session is a + 1 */
  RELAY_EV_DRAINED,      /* kind, a = session: its queue is empty and its writer given back */
  RELAY_EV_RETURNED,     /* kind, a = session: a writer given back on request (detach) */
  RELAY_EV_HANDOFF_ERROR,/* kind, a = session, b = errno: writer given back, its batch lost */
  RELAY_EV_SOCKET_ERROR, /* b = errno of recvmmsg (an ICMP error on the socket) */
  RELAY_EV_STOPPED       /* the thread is about to return */
} relay_event_type;

typedef struct {
  relay_event_type type;
  int kind;
  int64_t a, b;
  void* token; /* DRAINED / RETURNED / HANDOFF_ERROR: the writer's handle */
  const uint8_t* data;
  uint32_t len;
} relay_event;

typedef void (*relay_event_fn)(void* ctx, const relay_event* ev);

typedef struct {
  uint64_t datagrams, bytes, other_channel, delivered;
  uint64_t activity; /* chunks that keep a stream alive (data delivered, guide, heartbeat): the idle timer */
  uint64_t decode_errors[RELAY_REASONS];
  uint64_t lost, reordered, duplicates;
  uint64_t channel; /* 0 until selected */
  uint64_t session; /* the live session (1, 2, ...) */
  relay_kind_stats kinds[RELAY_KINDS];
} relay_stats;

typedef struct relay relay;

typedef struct {
  int fd;                 /* the bound, joined, non-blocking UDP socket (not owned) */
  int channel;            /* 0 = the first in the guide, else the first data chunk's */
  int window;             /* reorder window (32) */
  double max_hold_ms;     /* 50 */
  uint64_t max_buffer_bytes; /* per output */
  int kinds[RELAY_KINDS]; /* which transports get the stream */
  relay_event_fn on_event;
  void* ctx;
} relay_options;

/* NULL on failure (errno set). */
relay* relay_create(const relay_options* o);
/* Runs until relay_stop; returns 0 or -errno (a fatal poll/eventfd failure). */
int relay_run(relay* r);
/* Any thread. */
void relay_attach(relay* r, int kind, uint32_t session, ipcast_writer* w, void* token);
/* Gives the writer back (RELAY_EV_RETURNED); discard: the output's queue goes too. */
void relay_detach(relay* r, int kind, uint32_t session, int discard);
void relay_end_idle(relay* r);
void relay_stop(relay* r);
void relay_get_stats(relay* r, relay_stats* out);
/* After relay_run returned: frees queues and chunks. Writers still attached are reported as
   RELAY_EV_RETURNED before relay_run returns. */
void relay_free(relay* r);

#ifdef __cplusplus
}
#endif

#endif
