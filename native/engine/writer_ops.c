// The per-transport steps of the writer: put bytes, flush, wait for room. See writer.c
// for how they make the wait policy, shm_ring.c and msg_queue.h for the transports.
#define _GNU_SOURCE
#include "writer_ops.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <time.h>
#include <unistd.h>

#include "record.h"
#include "sem.h"

#define SLICE_MS 100

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
#endif
}

// ---- per transport: >= 0 bytes accepted, -EAGAIN when full, -errno ----
static int post_slot(ipcast_writer* w) {
  ipcast_ring_slot* s = ipcast_ring_slot_at(&w->ring, w->st.slots_posted);
  s->used = w->fill;
  s->seq = (uint32_t)w->st.slots_posted;
  bump(&w->st.slots_posted, 1);
  __atomic_store_n(&ipcast_ring_hdr(&w->ring)->write_pos, w->st.slots_posted, __ATOMIC_RELAXED);
  w->have_slot = 0;
  w->fill = 0;
  w->last_op = "semop(2) post filled";
  return ipcast_sem_op(w->ring.sem_id, IPCAST_SEM_FILLED, 1, -1);
}

static ssize_t put_shm(ipcast_writer* w, const struct iovec* iov, int cnt) {
  size_t accepted = 0;
  for (int i = 0; i < cnt; i++) {
    const uint8_t* p = iov[i].iov_base;
    size_t left = iov[i].iov_len;
    while (left > 0) {
      if (!w->have_slot) {
        w->last_op = "semop(2) take free";
        int r = ipcast_sem_op(w->ring.sem_id, IPCAST_SEM_FREE, -1, -1);
        if (r == -EAGAIN) return accepted > 0 ? (ssize_t)accepted : -EAGAIN;
        if (r < 0) return r;
        w->have_slot = 1;
        w->fill = 0;
      }
      size_t room = w->ring.slot_bytes - w->fill, k = left < room ? left : room;
      memcpy(ipcast_ring_slot_data(ipcast_ring_slot_at(&w->ring, w->st.slots_posted)) + w->fill, p, k);
      w->fill += (uint32_t)k;
      p += k;
      left -= k;
      accepted += k;
      if (w->fill == w->ring.slot_bytes) {
        int r = post_slot(w);
        if (r < 0) return r;
      }
    }
  }
  return (ssize_t)accepted;
}

static int send_stage(ipcast_writer* w, int nowait) {
  long mtype = w->stage_eos ? IPCAST_MTYPE_EOS : IPCAST_MTYPE_DATA;
  memcpy(w->stage, &mtype, sizeof mtype);
  w->last_op = "msgsnd(2)";
  while (msgsnd(w->qid, w->stage, w->stage_len, nowait ? IPC_NOWAIT : 0) != 0) {
    if (errno == EINTR && !is_closed(w)) continue;
    return errno == EAGAIN ? -EAGAIN : -errno;
  }
  w->stage_len = 0;
  w->stage_eos = 0;
  return 0;
}

static ssize_t put_msg(ipcast_writer* w, const struct iovec* iov, int cnt) {
  size_t accepted = 0;
  for (int i = 0; i < cnt; i++) {
    const uint8_t* p = iov[i].iov_base;
    size_t left = iov[i].iov_len;
    while (left > 0) {
      if (w->stage_len == w->body_max) {
        int r = send_stage(w, 1);
        if (r == -EAGAIN) return accepted > 0 ? (ssize_t)accepted : -EAGAIN;
        if (r < 0) return r;
      }
      size_t room = w->body_max - w->stage_len, k = left < room ? left : room;
      memcpy(w->stage + sizeof(long) + w->stage_len, p, k);
      w->stage_len += k;
      p += k;
      left -= k;
      accepted += k;
    }
  }
  return (ssize_t)accepted;
}

ssize_t ipcast_writer_put(ipcast_writer* w, const struct iovec* iov, int cnt) {
  if (is_closed(w)) return -ECANCELED;
  switch (w->kind) {
    case IPCAST_PIPE: {
      w->last_op = "write(2) to the pipe";
      ssize_t r = writev(w->fds[1], iov, cnt);
      if (r < 0) return errno == EWOULDBLOCK ? -EAGAIN : -errno;
      return r;
    }
    case IPCAST_SHM: return put_shm(w, iov, cnt);
    case IPCAST_MSG: return put_msg(w, iov, cnt);
  }
  return -EINVAL;
}

// Makes the bytes put so far visible to the reader: the partial slot posted, the staged
// message sent (the last one of an end-of-stream batch as mtype EOS). 0, -EAGAIN, -errno.
int ipcast_writer_flush(ipcast_writer* w) {
  if (w->kind == IPCAST_SHM && w->have_slot && w->fill > 0) return post_slot(w);
  if (w->kind == IPCAST_MSG && w->stage_len > 0) {
    w->stage_eos = w->eos && w->rec >= w->total;
    return send_stage(w, 1);
  }
  return 0;
}

static int take_free_slot(ipcast_writer* w, const struct timespec* ts) {
  struct sembuf op = {IPCAST_SEM_FREE, -1, 0};
  w->last_op = "semtimedop(2) take free";
  if (semtimedop(w->ring.sem_id, &op, 1, ts) == 0) {
    w->have_slot = 1;
    w->fill = 0;
    return 0;
  }
  return -errno;
}

// Step 2 of the policy: waits at most ns for room. 0 = try again, -errno on a hard error.
int ipcast_writer_short_wait(ipcast_writer* w, uint64_t ns) {
  struct timespec ts = {(time_t)(ns / 1000000000ull), (long)(ns % 1000000000ull)};
  switch (w->kind) {
    case IPCAST_PIPE: {
      struct pollfd pfd = {w->fds[1], POLLOUT, 0};
      int r = ppoll(&pfd, 1, &ts, NULL);
      return r < 0 && errno != EINTR ? -errno : 0;
    }
    case IPCAST_SHM: {
      if (w->have_slot) return 0;
      int r = take_free_slot(w, &ts);
      return r == 0 || r == -EAGAIN || r == -EINTR ? 0 : r;
    }
    case IPCAST_MSG:
      for (int i = 0; i < 64; i++) cpu_relax();
      return 0;
  }
  return 0;
}

// Step 3: blocks until there is room. 0, -ECANCELED when closed, -EPIPE, -errno.
int ipcast_writer_wait_room(ipcast_writer* w) {
  for (;;) {
    if (is_closed(w)) return -ECANCELED;
    switch (w->kind) {
      case IPCAST_PIPE: {
        struct pollfd pfd = {w->fds[1], POLLOUT, 0};
        w->last_op = "poll(2) on the pipe";
        int r = poll(&pfd, 1, SLICE_MS);
        if (r < 0 && errno != EINTR) return -errno;
        if (r > 0) return 0;  // writable, or POLLERR: the next write says EPIPE
        break;
      }
      case IPCAST_SHM: {
        struct timespec ts = {SLICE_MS / 1000, (SLICE_MS % 1000) * 1000000L};
        int r = take_free_slot(w, &ts);
        if (r == 0) return 0;
        if (r != -EAGAIN && r != -EINTR) return r;
        int32_t reader = __atomic_load_n(&ipcast_ring_hdr(&w->ring)->reader_pid, __ATOMIC_RELAXED);
        if (reader > 0 && kill(reader, 0) < 0 && errno == ESRCH) return -EPIPE;
        break;
      }
      case IPCAST_MSG:
        if (w->stage_len == 0) return 0;
        w->stage_eos = w->eos && w->rec >= w->total;
        return send_stage(w, 0);  // blocking; ipcast_writer_close removes the queue (EIDRM)
    }
  }
}

