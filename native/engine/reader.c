// The reader side: the record-stream parser and the per-transport reading steps. The ring's
// layout and semaphore protocol are in shm_ring.c, the message types in msg_queue.h, the
// record in record.h; writer.c and writer_ops.c are the other end of each step here.
#define _GNU_SOURCE
#include "reader.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/shm.h>
#include <unistd.h>

#include "../crc32c.h"
#include "exit_codes.h"
#include "sem.h"

__attribute__((format(printf, 2, 3))) static void fail(ipcast_reader* r, const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(r->error, sizeof r->error, fmt, ap);
  va_end(ap);
}

// Malformed input: counted, named, and the reader stops with IPCAST_EXIT_VERIFY.
#define CORRUPT(r, ...) ((r)->st.corrupt++, fail((r), __VA_ARGS__), IPCAST_EXIT_VERIFY)

void ipcast_reader_init(ipcast_reader* r, ipcast_kind kind, const ipcast_reader_hooks* hooks) {
  memset(r, 0, sizeof *r);
  r->kind = kind;
  if (hooks) r->hooks = *hooks;
  r->fd = -1;
  r->qid = -1;
  r->ring.shm_id = r->ring.sem_id = -1;
}

// ---------------------------------------------------------------- the parser
static void finish_record(ipcast_reader* r) {
  const ipcast_record* rec = &r->rec;
  ipcast_reader_stats* st = &r->st;
  if (r->crc != rec->crc) st->checksum_errors++;
  if (rec->sequence > st->next_seq) st->gaps += rec->sequence - st->next_seq;
  if (rec->sequence < st->next_seq) st->reorders++;
  else st->next_seq = rec->sequence + 1;
  st->records++;
  if (rec->flags & IPCAST_RECORD_FLAG_EOS) st->eos = 1;
  else st->chunks++;
  if (r->hooks.record) r->hooks.record(r->hooks.ctx, rec);
}

// An explicit state machine: header bytes are collected until all 40 are there, the header is
// validated (record.h) before any field is used, then the payload streams by in pieces,
// checksummed and handed to the hook, never buffered whole (a length is never allocated).
int ipcast_reader_feed(ipcast_reader* r, const uint8_t* p, size_t n) {
  while (n > 0) {
    if (r->st.eos) return CORRUPT(r, "%zu bytes after the end-of-stream record", n);
    if (!r->in_payload) {
      size_t take = IPCAST_RECORD_HEADER - r->hdr_fill;
      if (take > n) take = n;
      memcpy(r->hdr + r->hdr_fill, p, take);
      r->hdr_fill += take;
      p += take;
      n -= take;
      if (r->hdr_fill < IPCAST_RECORD_HEADER) break;
      r->hdr_fill = 0;
      int d = ipcast_record_decode(r->hdr, &r->rec);
      if (d != IPCAST_RECORD_OK)
        return CORRUPT(r, "malformed record after %" PRIu64 " records: %s", r->st.records, ipcast_record_reason(d));
      r->in_payload = 1;
      r->remaining = r->rec.length;
      r->crc = 0;
    }
    size_t take = r->remaining < n ? r->remaining : n;
    if (take > 0) {
      r->crc = ipcast_crc32c(r->crc, p, take);
      r->st.bytes += take;
      int code = r->hooks.payload ? r->hooks.payload(r->hooks.ctx, p, take) : 0;
      if (code) return code;
      p += take;
      n -= take;
      r->remaining -= (uint32_t)take;
    }
    if (r->remaining == 0) {
      r->in_payload = 0;
      finish_record(r);
    }
  }
  return 0;
}

int ipcast_reader_verdict(ipcast_reader* r) {
  const ipcast_reader_stats* st = &r->st;
  if (!st->gaps && !st->reorders && !st->checksum_errors) return 0;
  fail(r, "verification failed: %" PRIu64 " gaps, %" PRIu64 " reorders, %" PRIu64 " checksum errors", st->gaps,
       st->reorders, st->checksum_errors);
  return IPCAST_EXIT_VERIFY;
}

int ipcast_reader_done(const ipcast_reader* r) { return r->st.eos && (r->kind != IPCAST_PIPE || r->eof); }

// ---------------------------------------------------------------- opening
int ipcast_reader_open_pipe(ipcast_reader* r, int fd) {
  r->fd = fd;
  r->capacity = fcntl(fd, F_GETPIPE_SZ);
  r->buf_bytes = IPCAST_READER_PIPE_BUFFER;
  r->buf = malloc(r->buf_bytes);
  return r->buf ? 0 : -ENOMEM;
}

int ipcast_reader_attach_shm(ipcast_reader* r, int shm_id, int sem_id) {
  int e = ipcast_ring_attach(&r->ring, shm_id, sem_id);
  if (e < 0) return e;
  ipcast_ring_header* h = ipcast_ring_hdr(&r->ring);
  __atomic_store_n(&h->reader_pid, (int32_t)getpid(), __ATOMIC_RELAXED);
  shmctl(shm_id, IPC_RMID, NULL);  // both sides attached: the kernel frees it after the last detach
  ipcast_sem_op(sem_id, IPCAST_SEM_ATTACHED, 1, -1);
  return 0;
}

int ipcast_reader_open_msg(ipcast_reader* r, int qid) {
  r->qid = qid;
  ipcast_msg_read_limits(&r->limits);
  r->qbytes = ipcast_msg_qbytes(qid);
  if (r->qbytes < 0) return (int)r->qbytes;
  r->body_max = ipcast_msg_body_bytes(&r->limits, 0, 0);  // the largest body any writer sends
  r->buf_bytes = sizeof(long) + r->body_max;
  r->buf = malloc(r->buf_bytes);
  return r->buf ? 0 : -ENOMEM;
}

void ipcast_reader_close(ipcast_reader* r) {
  ipcast_ring_detach(&r->ring);
  free(r->buf);
  r->buf = NULL;
  r->buf_bytes = 0;
}

// ---------------------------------------------------------------- pipe
static int pipe_step(ipcast_reader* r) {
  ssize_t n = read(r->fd, r->buf, r->buf_bytes);
  if (n > 0) return ipcast_reader_feed(r, r->buf, (size_t)n);
  if (n == 0) {
    r->eof = 1;
    return IPCAST_READ_CLOSED;
  }
  if (errno == EINTR) return IPCAST_READ_AGAIN;
  fail(r, "read from %s failed: %s", r->fd == 0 ? "stdin" : "the pipe", strerror(errno));
  return IPCAST_READ_FAILED;
}

// ---------------------------------------------------------------- shm: take, validate, release
// P(FILLED) for at most one slice: 0 when a filled slot is ours, else a step result.
static int shm_take_filled(ipcast_reader* r) {
  int e = ipcast_sem_op(r->ring.sem_id, IPCAST_SEM_FILLED, -1, IPCAST_READER_SLICE_MS);
  if (e == 0) return 0;
  if (e == -EAGAIN || e == -EINTR) return IPCAST_READ_AGAIN;
  if (e == -EIDRM || e == -EINVAL) return IPCAST_READ_CLOSED;  // the writer removed the array
  fail(r, "semtimedop failed: %s", strerror(-e));
  return IPCAST_READ_FAILED;
}

// The slot's byte count, written by the peer: never above the slot size validated at attach.
static int shm_slot_used(ipcast_reader* r, ipcast_ring_slot* s, uint32_t* used) {
  *used = __atomic_load_n(&s->used, __ATOMIC_ACQUIRE);
  if (*used > r->ring.slot_bytes)
    return CORRUPT(r, "slot %" PRIu64 " claims %u bytes, more than the slot size %u", r->pos, *used, r->ring.slot_bytes);
  return 0;
}

// read_pos++ and V(FREE): the writer may reuse the slot only from now on.
static void shm_release(ipcast_reader* r) {
  r->pos++;
  __atomic_store_n(&ipcast_ring_hdr(&r->ring)->read_pos, r->pos, __ATOMIC_RELAXED);
  ipcast_sem_op(r->ring.sem_id, IPCAST_SEM_FREE, 1, -1);
}

static int shm_step(ipcast_reader* r) {
  int t = shm_take_filled(r);
  if (t != 0) return t;
  ipcast_ring_slot* s = ipcast_ring_slot_at(&r->ring, r->pos);
  uint32_t used;
  int code = shm_slot_used(r, s, &used);
  if (code) return code;
  code = ipcast_reader_feed(r, ipcast_ring_slot_data(s), used);
  shm_release(r);
  return code;
}

// ---------------------------------------------------------------- msg
static int msg_step(ipcast_reader* r) {
  ssize_t n = msgrcv(r->qid, r->buf, r->body_max, 0, 0);  // the driver's timer signal interrupts it
  if (n < 0) {
    if (errno == EINTR) return IPCAST_READ_AGAIN;
    if (errno == E2BIG) return CORRUPT(r, "a message larger than msgmax (%zu bytes)", r->body_max);
    if (errno == EIDRM || errno == EINVAL) return IPCAST_READ_CLOSED;  // the writer removed the queue
    fail(r, "msgrcv failed: %s", strerror(errno));
    return IPCAST_READ_FAILED;
  }
  long mtype;
  memcpy(&mtype, r->buf, sizeof mtype);
  if (mtype != IPCAST_MTYPE_DATA && mtype != IPCAST_MTYPE_EOS) return CORRUPT(r, "message of unknown type %ld", mtype);
  int code = ipcast_reader_feed(r, r->buf + sizeof(long), (size_t)n);
  if (code) return code;
  if (mtype == IPCAST_MTYPE_EOS && !r->st.eos) return CORRUPT(r, "end-of-stream message without an end-of-stream record");
  return IPCAST_READ_OK;
}

int ipcast_reader_step(ipcast_reader* r) {
  switch (r->kind) {
    case IPCAST_PIPE: return pipe_step(r);
    case IPCAST_SHM: return shm_step(r);
    case IPCAST_MSG: return msg_step(r);
  }
  fail(r, "unknown transport kind %d", (int)r->kind);
  return IPCAST_READ_FAILED;
}
