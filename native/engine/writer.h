// The writer of the three IPC transports: one engine that the addon (through N-API),
// ipcast-baseline (plain C) and nothing else drive, so a benchmark of the two measures the
// same code and differs only in the language on top. See writer.c for the wait policy.
#ifndef IPCAST_WRITER_H
#define IPCAST_WRITER_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "msg_queue.h"
#include "shm_ring.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { IPCAST_PIPE = 0, IPCAST_SHM = 1, IPCAST_MSG = 2 } ipcast_kind;

#define IPCAST_DEFAULT_SPIN_US 30u
#define IPCAST_MAX_SPIN_US 10000u

typedef struct {
  int framed;          /* records (40-byte header + payload); 0 = raw bytes (a pipe to a decoder; tests) */
  int pipe_bytes;      /* F_SETPIPE_SZ wish (default 1 MiB) */
  uint32_t slots;      /* shm ring geometry (default 64 x 64 KiB) */
  uint32_t slot_bytes;
  size_t msg_bytes;    /* message body wish (0: msgmax, capped at the queue's qbytes) */
  uint32_t spin_us;    /* the wait policy: see writer.c (default IPCAST_DEFAULT_SPIN_US) */
} ipcast_writer_options;

typedef struct {
  uint64_t records, bytes;     /* records completed, bytes put (headers included) */
  uint64_t waits, wait_ns;     /* blocking waits for room (ipcast_writer_finish) and their time */
  uint64_t spins, spin_wins, spin_ns; /* spin phases, how many ended with everything in, time */
  uint64_t next_seq;           /* the next record's sequence number */
  uint64_t slots_posted;       /* shm */
} ipcast_writer_stats;

typedef struct {
  ipcast_kind kind;
  int framed;
  int closed;   /* set by ipcast_writer_close from any thread (atomic builtins) */
  int released; /* pipe write end closed / segment detached */
  int removed;  /* System V objects removed (or never ours) */
  uint64_t spin_ns;
  ipcast_writer_stats st; /* one writer thread at a time; read with ipcast_writer_get_stats */
  const char* last_op;    /* the system call behind the last error */

  int fds[2], capacity;                                   /* pipe */
  ipcast_ring ring; int have_slot; uint32_t fill;         /* shm */
  int qid; ipcast_msg_limits limits; long qbytes;         /* msg */
  size_t body_max; uint8_t* stage; size_t stage_len; int stage_eos;

  /* the batch: the caller fills data/len/sender_us[0..n) after ipcast_writer_reserve */
  const uint8_t** data;
  size_t* len;
  uint64_t* sender_us;
  uint8_t* hdrs;
  size_t cap, n, total, rec, off, built;
  uint64_t seq_base;
  int eos;
} ipcast_writer;

void ipcast_writer_default_options(ipcast_writer_options* o);
/* Creates the transport (IPC_PRIVATE, 0600). 0, -EINVAL (a bad geometry), or -errno with
   last_op naming the call; on failure nothing is left behind and ipcast_writer_free is safe. */
int ipcast_writer_open(ipcast_writer* w, ipcast_kind kind, const ipcast_writer_options* o);
/* Room for a batch of n chunks; the caller then fills w->data, w->len, w->sender_us. */
int ipcast_writer_reserve(ipcast_writer* w, size_t n);
/* Writes the reserved batch (+ an end-of-stream record when eos and framed) without ever
   blocking longer than the spin policy allows: 0 when all of it went in, -EAGAIN when the
   transport stayed full (finish it with ipcast_writer_finish), else -errno. */
int ipcast_writer_write(ipcast_writer* w, size_t n, int eos);
/* Blocks until the rest of the batch is in (waits in 100 ms slices, checking `closed`).
   0, -ECANCELED when closed meanwhile, -EPIPE when the reader died, -errno. */
int ipcast_writer_finish(ipcast_writer* w);
/* Goes on with a batch that returned -EAGAIN, without blocking (steps 1 and 2 again): 0 when
   the rest is in, -EAGAIN while still full, else -errno. For a driver that polls (the relay). */
int ipcast_writer_resume(ipcast_writer* w);
/* Room right now? */
int ipcast_writer_writable(ipcast_writer* w);
void ipcast_writer_get_stats(const ipcast_writer* w, ipcast_writer_stats* out);
/* Any thread: stop; remove the semaphore array / queue / segment (wakes a blocked writer). */
void ipcast_writer_close(ipcast_writer* w);
/* The writing thread, once no write runs: closes the pipe's write end, detaches the ring. */
void ipcast_writer_release(ipcast_writer* w);
/* close + release + frees the buffers. */
void ipcast_writer_free(ipcast_writer* w);

/* CLOCK_MONOTONIC ns: the clock of the records' hand-off stamp. */
static inline uint64_t ipcast_mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

#ifdef __cplusplus
}
#endif

#endif
