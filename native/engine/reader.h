// The reader side of the three IPC transports, the counterpart of writer.h: the incremental
// record-stream parser (record.h) with its verification counters, and one reading step per
// transport (pipe read, shm ring slot, message). ipcast-sink (native/sink.c) drives it: it
// owns the loop, the signals, the parent-death checks and the decoder; the reader owns the
// protocol. The reader never trusts its peer: every header field, slot size and message type
// is validated before it is used.
#ifndef IPCAST_READER_H
#define IPCAST_READER_H

#include <stddef.h>
#include <stdint.h>

#include "msg_queue.h"
#include "record.h"
#include "shm_ring.h"
#include "writer.h" /* ipcast_kind */

#ifdef __cplusplus
extern "C" {
#endif

/* The slice a shm wait lasts (semtimedop) before the driver gets control back. */
#define IPCAST_READER_SLICE_MS 100
/* The pipe's read buffer. */
#define IPCAST_READER_PIPE_BUFFER (1u << 20)

typedef struct {
  uint64_t bytes;           /* payload bytes of all records */
  uint64_t chunks;          /* data records (the EOS record not counted) */
  uint64_t records;         /* all records */
  uint64_t gaps;            /* sequence numbers skipped */
  uint64_t reorders;        /* records older than the next expected sequence number */
  uint64_t checksum_errors; /* CRC-32C mismatches */
  uint64_t corrupt;         /* malformed records, slots or messages (each one stops the reader) */
  uint64_t next_seq;
  int eos;                  /* the end-of-stream record was read */
} ipcast_reader_stats;

/* What the driver does with the stream. Both may be NULL. */
typedef struct {
  /* Payload bytes as they stream by (their CRC already taken, never buffered whole).
     0, or an exit code (exit_codes.h) that stops the reader. */
  int (*payload)(void* ctx, const uint8_t* p, size_t n);
  /* A record is complete and counted (the EOS record too). */
  void (*record)(void* ctx, const ipcast_record* rec);
  void* ctx;
} ipcast_reader_hooks;

/* ipcast_reader_step results; besides these, a value > 0 is an exit code (exit_codes.h):
   IPCAST_EXIT_VERIFY for a malformed record / slot / message (error says which), or what
   the payload hook returned. */
enum {
  IPCAST_READ_OK = 0,      /* bytes were read and parsed (look at st.eos, ipcast_reader_done) */
  IPCAST_READ_AGAIN = -1,  /* the wait slice passed or a signal came: check, then call again */
  IPCAST_READ_CLOSED = -2, /* the writer's end is gone: EOF on the pipe, semaphores / queue removed */
  IPCAST_READ_FAILED = -3, /* a system call failed; error names it */
};

typedef struct {
  ipcast_kind kind;
  ipcast_reader_stats st;
  ipcast_reader_hooks hooks;
  char error[256]; /* set when the reader itself stops: malformed input, a failed call */

  /* the parser */
  uint8_t hdr[IPCAST_RECORD_HEADER];
  size_t hdr_fill;
  int in_payload;
  ipcast_record rec;
  uint32_t remaining, crc;

  int eof;              /* pipe: end of input seen */
  int fd, capacity;     /* pipe: the fd read, F_GETPIPE_SZ (-1 when it is not a pipe) */
  ipcast_ring ring;     /* shm */
  uint64_t pos;         /* shm: slots taken so far */
  int qid;              /* msg */
  ipcast_msg_limits limits;
  long qbytes;          /* msg: the queue's msg_qbytes, or -errno when it could not be read */
  size_t body_max;      /* msg: the largest body a writer sends (ipcast_msg_body_bytes) */
  uint8_t* buf;         /* pipe: read buffer; msg: mtype + body */
  size_t buf_bytes;
} ipcast_reader;

/* The parser alone (no transport yet); hooks may be NULL. */
void ipcast_reader_init(ipcast_reader* r, ipcast_kind kind, const ipcast_reader_hooks* hooks);
/* Parses stream bytes: 0, or an exit code (IPCAST_EXIT_VERIFY: a malformed record or bytes
   after the end-of-stream record; else what the payload hook returned). */
int ipcast_reader_feed(ipcast_reader* r, const uint8_t* p, size_t n);

/* Opening the transport. 0 or -errno; nothing to undo on failure but ipcast_reader_close. */
int ipcast_reader_open_pipe(ipcast_reader* r, int fd);
/* Attaches the ring (validated against the segment's real size: -EPROTO when it is not an
   ipcast ring), records reader_pid, marks the segment IPC_RMID (both sides are attached now)
   and V(ATTACHED). */
int ipcast_reader_attach_shm(ipcast_reader* r, int shm_id, int sem_id);
/* Reads the kernel limits and the queue's qbytes (-errno when the queue cannot be stat'ed). */
int ipcast_reader_open_msg(ipcast_reader* r, int qid);

/* One wait for data, and the parse of what came:
     pipe  read(2) (blocking; a signal ends it with IPCAST_READ_AGAIN)
     shm   P(FILLED) for at most IPCAST_READER_SLICE_MS, validate the slot's used <= slot_bytes,
           parse, read_pos++, V(FREE)
     msg   msgrcv(2) (blocking; a signal ends it), mtype DATA or EOS only, and an EOS message
           must complete the end-of-stream record. */
int ipcast_reader_step(ipcast_reader* r);

/* The stream is complete: the EOS record was read and, on a pipe, EOF after it (a pipe's end
   of stream is EOS + EOF, so bytes after EOS are seen and refused). The shm ring and the queue
   stay in place after EOS until the sink exits, so for them EOS is the end. */
int ipcast_reader_done(const ipcast_reader* r);

/* After the stream ended: 0 when every record verified, else IPCAST_EXIT_VERIFY with error
   "verification failed: N gaps, N reorders, N checksum errors" (reading goes on past those to
   the end of stream; only malformed input stops the reader at once). */
int ipcast_reader_verdict(ipcast_reader* r);

/* Detaches the ring and frees the buffers. Removes no System V object and closes no fd. */
void ipcast_reader_close(ipcast_reader* r);

#ifdef __cplusplus
}
#endif

#endif
