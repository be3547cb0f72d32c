// The writer side of pipe, shm ring and message queue: batches of chunks become records
// (record.h) in the transport. Driven by the addon (native/transport_binding.cc) and by
// ipcast-baseline (native/baseline.c) through the same calls.
//
// Wait policy (one option, spin_us, the same for both drivers):
//   1. ipcast_writer_write puts as much as it can with non-blocking calls (writev on an
//      O_NONBLOCK fd, semop IPC_NOWAIT, msgsnd IPC_NOWAIT).
//   2. If the transport is full, it keeps trying on the calling thread as long as the reader
//      makes room at least every spin_us: it waits for room in the kernel with that timeout
//      (ppoll on the pipe, semtimedop on FREE; a pause loop for the queue, which has no timed
//      send). A full transport usually drains within microseconds at full speed, and this
//      is cheaper than the two thread hops of a blocking wait. spin_us = 0 skips this step;
//      a process that may use only one CPU skips it too (a spin only keeps the reader out).
//   3. Still full: -EAGAIN. The driver calls ipcast_writer_finish, which blocks in bounded
//      slices (poll 100 ms, semtimedop 100 ms; msgsnd without a timeout, woken by
//      ipcast_writer_close removing the queue). The addon calls it on a thread of the
//      writer's own, ipcast-baseline on its only thread.
#define _GNU_SOURCE
#include "writer.h"

#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/uio.h>
#include <unistd.h>

#include "../crc32c.h"
#include "pipe.h"
#include "record.h"
#include "sem.h"
#include "writer_ops.h"

/* iovecs per writev (two per record: 127 records, ~170 KB at 1316 B). 64 was 20 % slower at
   1316 B (docs/benchmarks.md). */
#define MAX_IOV 256


void ipcast_writer_default_options(ipcast_writer_options* o) {
  memset(o, 0, sizeof *o);
  o->framed = 1;
  o->pipe_bytes = 1 << 20;
  o->slots = IPCAST_RING_DEFAULT_SLOTS;
  o->slot_bytes = IPCAST_RING_DEFAULT_SLOT_BYTES;
  o->spin_us = IPCAST_DEFAULT_SPIN_US;
}

int ipcast_writer_open(ipcast_writer* w, ipcast_kind kind, const ipcast_writer_options* o) {
  memset(w, 0, sizeof *w);
  w->kind = kind;
  w->framed = o->framed != 0;
  w->fds[0] = w->fds[1] = -1;
  w->ring.shm_id = w->ring.sem_id = -1;
  w->qid = -1;
  w->removed = 1;  // nothing of ours to remove until we created it
  w->last_op = "write";
  uint32_t spin = o->spin_us <= IPCAST_MAX_SPIN_US ? o->spin_us : IPCAST_MAX_SPIN_US;
  w->spin_ns = (uint64_t)spin * 1000u;
  cpu_set_t cpus;
  if (sched_getaffinity(0, sizeof cpus, &cpus) == 0 && CPU_COUNT(&cpus) < 2) w->spin_ns = 0;
  int r;
  switch (kind) {
    case IPCAST_PIPE:
      w->last_op = "pipe2(2)";
      return ipcast_pipe_create(w->fds, o->pipe_bytes > 0 ? o->pipe_bytes : 1 << 20, &w->capacity);
    case IPCAST_SHM:
      w->last_op = "shmget/semget(2)";
      r = ipcast_ring_create(&w->ring, o->slots, o->slot_bytes);
      if (r == 0) w->removed = 0;
      return r;
    case IPCAST_MSG:
      w->last_op = "msgget(2)";
      ipcast_msg_read_limits(&w->limits);
      r = ipcast_msg_create();
      if (r < 0) return r;
      w->qid = r;
      w->removed = 0;
      w->qbytes = ipcast_msg_qbytes(w->qid);
      w->body_max = ipcast_msg_body_bytes(&w->limits, w->qbytes, o->msg_bytes);
      w->stage = malloc(sizeof(long) + w->body_max);
      if (!w->stage) {
        ipcast_writer_close(w);
        return -ENOMEM;
      }
      return 0;
  }
  return -EINVAL;
}

int ipcast_writer_reserve(ipcast_writer* w, size_t n) {
  if (n + 1 <= w->cap) return 0;
  size_t cap = (n + 1) * 2;
  const uint8_t** data = realloc(w->data, cap * sizeof *data);
  if (data) w->data = data;
  size_t* len = realloc(w->len, cap * sizeof *len);
  if (len) w->len = len;
  uint64_t* sus = realloc(w->sender_us, cap * sizeof *sus);
  if (sus) w->sender_us = sus;
  uint8_t* hdrs = realloc(w->hdrs, cap * IPCAST_RECORD_HEADER);
  if (hdrs) w->hdrs = hdrs;
  if (!data || !len || !sus || !hdrs) return -ENOMEM;
  w->cap = cap;
  return 0;
}

static size_t record_bytes(const ipcast_writer* w, size_t i) {
  return (w->framed ? IPCAST_RECORD_HEADER : 0) + (i < w->n ? w->len[i] : 0);
}

static void build_header(ipcast_writer* w, size_t i, uint64_t now_ns) {
  ipcast_record r = {0};
  int is_eos = i >= w->n;
  r.flags = is_eos ? IPCAST_RECORD_FLAG_EOS : 0;
  r.length = is_eos ? 0 : (uint32_t)w->len[i];
  r.crc = is_eos ? 0 : ipcast_crc32c(0, w->data[i], w->len[i]);
  r.sequence = w->seq_base + i;
  r.handoff_ns = now_ns;
  r.sender_us = is_eos ? 0 : w->sender_us[i];
  ipcast_record_encode(&w->hdrs[i * IPCAST_RECORD_HEADER], &r);
}

// Gathers the next bytes of the batch (from rec/off) into iov. The records gathered in one
// call go in within microseconds of each other: one clock read stamps them. Records built
// by an earlier gather but not yet started (a partial writev, a full ring) are stamped
// again: the hand-off time is when a record goes in, not when it first tried.
static int gather(ipcast_writer* w, struct iovec* iov) {
  int n = 0;
  uint64_t now_ns = 0;
  if (w->framed) {
    size_t started = w->rec + (w->off > 0 ? 1 : 0);
    if (w->built > started) w->built = started;
  }
  size_t r = w->rec, o = w->off, hb = w->framed ? IPCAST_RECORD_HEADER : 0;
  while (r < w->total && n < MAX_IOV - 1) {
    if (w->framed && r >= w->built) {
      if (now_ns == 0) now_ns = ipcast_mono_ns();
      build_header(w, r, now_ns);
      w->built = r + 1;
    }
    if (o < hb) {
      iov[n].iov_base = &w->hdrs[r * IPCAST_RECORD_HEADER + o];
      iov[n++].iov_len = hb - o;
      o = hb;
    }
    size_t pl = r < w->n ? w->len[r] : 0;
    if (o < hb + pl) {
      iov[n].iov_base = (void*)(w->data[r] + (o - hb));
      iov[n++].iov_len = hb + pl - o;
    }
    r++;
    o = 0;
  }
  if (w->framed) __atomic_store_n(&w->st.next_seq, w->seq_base + w->built, __ATOMIC_RELAXED);
  return n;
}

static void advance(ipcast_writer* w, size_t n) {
  bump(&w->st.bytes, n);
  uint64_t done = 0;
  while (n > 0 && w->rec < w->total) {
    size_t left = record_bytes(w, w->rec) - w->off;
    if (n >= left) {
      n -= left;
      w->rec++;
      w->off = 0;
      done++;
    } else {
      w->off += n;
      n = 0;
    }
  }
  while (w->rec < w->total && record_bytes(w, w->rec) == 0) {  // empty raw chunks: no bytes
    w->rec++;
    done++;
  }
  bump(&w->st.records, done);
}

static int timed_wait(ipcast_writer* w) {
  uint64_t t0 = ipcast_mono_ns();
  bump(&w->st.waits, 1);
  int r = ipcast_writer_wait_room(w);
  bump(&w->st.wait_ns, ipcast_mono_ns() - t0);
  return r;
}

// Puts what it can of the batch from the cursor without waiting: 0 when all of it is in
// and visible, -EAGAIN when the transport is full, -errno.
static int run(ipcast_writer* w) {
  struct iovec iov[MAX_IOV];
  while (w->rec < w->total) {
    int cnt = gather(w, iov);
    ssize_t r = cnt > 0 ? ipcast_writer_put(w, iov, cnt) : 0;
    if (r > 0 || cnt == 0) {
      advance(w, r > 0 ? (size_t)r : 0);
      continue;
    }
    return r == 0 ? -EAGAIN : (int)r;
  }
  return ipcast_writer_flush(w);
}

// Step 2: keeps trying while the reader makes room at least every spin_ns.
static int run_spinning(ipcast_writer* w) {
  int r = run(w);
  if (r != -EAGAIN || w->spin_ns == 0) return r;
  uint64_t t0 = ipcast_mono_ns(), last = t0, t = t0, progress = w->st.bytes + w->st.records;
  bump(&w->st.spins, 1);
  while (r == -EAGAIN && t - last < w->spin_ns) {
    int s = ipcast_writer_short_wait(w, w->spin_ns - (t - last));
    r = s < 0 ? s : run(w);
    t = ipcast_mono_ns();
    if (w->st.bytes + w->st.records != progress) {
      progress = w->st.bytes + w->st.records;
      last = t;
    }
  }
  bump(&w->st.spin_ns, t - t0);
  if (r == 0) bump(&w->st.spin_wins, 1);
  return r;
}

int ipcast_writer_write(ipcast_writer* w, size_t n, int eos) {
  if (is_closed(w)) {
    w->last_op = "write";
    return -ECANCELED;
  }
  w->n = n;
  w->eos = eos && w->framed;
  w->total = n + (w->eos ? 1 : 0);
  w->rec = w->off = w->built = 0;
  w->seq_base = __atomic_load_n(&w->st.next_seq, __ATOMIC_RELAXED);
  return run_spinning(w);
}

// Step 3, and back to 2 after every wait: once the reader is awake again, records flow
// without a sleep and a wake-up per slot or message.
int ipcast_writer_finish(ipcast_writer* w) {
  for (;;) {
    // Make what is put visible before sleeping, so the reader can progress (for the queue
    // the blocking wait is the send of the staged message itself).
    if (w->kind != IPCAST_MSG) {
      int f = ipcast_writer_flush(w);
      if (f < 0 && f != -EAGAIN) return f;
    }
    int r = timed_wait(w);
    if (r < 0) return r;
    r = run_spinning(w);
    if (r != -EAGAIN) return r;
  }
}

int ipcast_writer_resume(ipcast_writer* w) {
  if (is_closed(w)) {
    w->last_op = "write";
    return -ECANCELED;
  }
  // As ipcast_writer_finish does before it sleeps: what is put becomes visible to the reader.
  if (w->kind != IPCAST_MSG) {
    int f = ipcast_writer_flush(w);
    if (f < 0 && f != -EAGAIN) return f;
  }
  return run_spinning(w);
}

int ipcast_writer_writable(ipcast_writer* w) {
  if (is_closed(w)) return 0;
  switch (w->kind) {
    case IPCAST_PIPE: {
      struct pollfd pfd = {w->fds[1], POLLOUT, 0};
      return poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLOUT);
    }
    case IPCAST_SHM:
      return (w->have_slot && w->fill < w->ring.slot_bytes) || ipcast_sem_get(w->ring.sem_id, IPCAST_SEM_FREE) > 0;
    case IPCAST_MSG: {
      struct msqid_ds ds;
      if (msgctl(w->qid, IPC_STAT, &ds) < 0) return 0;
      return ds.msg_cbytes + w->body_max <= ds.msg_qbytes;
    }
  }
  return 0;
}

void ipcast_writer_get_stats(const ipcast_writer* w, ipcast_writer_stats* o) {
  const uint64_t* src = (const uint64_t*)&w->st;
  uint64_t* dst = (uint64_t*)o;
  for (size_t i = 0; i < sizeof *o / sizeof(uint64_t); i++) dst[i] = __atomic_load_n(&src[i], __ATOMIC_RELAXED);
}

void ipcast_writer_close(ipcast_writer* w) {
  __atomic_store_n(&w->closed, 1, __ATOMIC_RELEASE);
  if (__atomic_exchange_n(&w->removed, 1, __ATOMIC_ACQ_REL)) return;
  // Only ids this writer created (removed starts at 1 until they exist). The ids stay in
  // place: a blocked writer thread may still use them and gets EIDRM.
  if (w->kind == IPCAST_SHM) {
    ipcast_sem_remove(w->ring.sem_id);
    if (w->ring.base) shmctl(w->ring.shm_id, IPC_RMID, NULL);  // still attached: the id is still ours
  } else if (w->kind == IPCAST_MSG) {
    ipcast_msg_remove(w->qid);
  }
}

void ipcast_writer_release(ipcast_writer* w) {
  if (w->released) return;
  w->released = 1;
  if (w->kind == IPCAST_PIPE && w->fds[1] >= 0) {
    close(w->fds[1]);
    w->fds[1] = -1;
  } else if (w->kind == IPCAST_SHM) {
    ipcast_ring_detach(&w->ring);
  }
}

void ipcast_writer_free(ipcast_writer* w) {
  ipcast_writer_close(w);
  ipcast_writer_release(w);
  free(w->stage);
  free((void*)w->data);
  free(w->len);
  free(w->sender_us);
  free(w->hdrs);
  w->stage = NULL;
  w->data = NULL;
  w->len = NULL;
  w->sender_us = NULL;
  w->hdrs = NULL;
  w->cap = 0;
}
