// The native pacing loop of `ipcast send` for IPv4 UDP outputs: a thread that cuts each
// channel's stream into chunks, paces every channel with its own token bucket (the rules of
// src/sender/token-bucket.ts: starts empty, may go into debt, at most `burst` of credit),
// writes the ipcast header (sequence, timestamp, CRC-32C) and hands the datagrams to every
// destination with one sendmmsg per batch. JS only reads the source in blocks (pacer_push),
// says when a channel's source has ended (pacer_end) and sends the guide (pacer_urgent).
//
// Chunks never span two blocks: a block is cut into pieces of chunk_bytes and its last piece
// may be shorter, exactly as src/sender/sources.ts cuts a file.
//
// Threads: pacer_run() is the pacing thread; every other function may be called from any
// other thread (the binding calls them from Node's main thread). on_event runs on the pacing
// thread and must not block.
#ifndef IPCAST_PACER_H
#define IPCAST_PACER_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PACER_MAX_DESTS 64
#define PACER_BATCH 64
#define PACER_ERRNO_SLOTS 8

enum pacer_event_type {
  PACER_EV_DRAINED = 1, /* a channel that pacer_push() said was full has room again */
  PACER_EV_STOPPED = 2  /* the thread has sent its last datagram and is about to return */
};

struct pacer_event {
  int type;
  int channel; /* index given by pacer_add_channel; -1 for STOPPED */
};

struct pacer_options {
  int raw;              /* 1: bare payload, no header and no end-of-stream chunk */
  uint32_t chunk_bytes; /* payload bytes per datagram */
  int gso;              /* 1: equal-size runs as one UDP_SEGMENT send (falls back by itself) */
  void (*on_event)(void* ctx, const struct pacer_event* ev);
  void* ctx;
};

struct pacer_dest_stats {
  uint64_t datagrams; /* data, guide and end-of-stream chunks the kernel took */
  uint64_t bytes;     /* wire bytes of those */
  uint64_t guides;
  uint64_t segmented; /* datagrams of those that went in a UDP_SEGMENT send */
  uint64_t errors;    /* datagrams the kernel refused (ENOBUFS, ECONNREFUSED, ...): skipped */
  int errnos[PACER_ERRNO_SLOTS]; /* errors by errno, first PACER_ERRNO_SLOTS distinct ones */
  uint64_t errno_counts[PACER_ERRNO_SLOTS];
};

struct pacer_channel_stats {
  uint64_t chunks; /* data chunks sent (to every destination) */
  uint64_t bytes;  /* payload bytes of those */
  uint64_t queued; /* payload bytes waiting */
  int ended;       /* its end of stream went out (or the pacer stopped) */
};

struct pacer;

struct pacer* pacer_create(const struct pacer_options* o);
// Before the thread starts. fd: a non-blocking UDP socket the caller owns (and closes after
// the thread has ended). Returns the index or -errno.
int pacer_add_dest(struct pacer* p, int fd, const struct sockaddr_in* to);
// Before the thread starts. rate_bps <= 0: unpaced. burst_bytes: the bucket's depth.
// max_queue_bytes: above this pacer_push() says "full". Returns the index or -errno.
int pacer_add_channel(struct pacer* p, uint16_t id, double rate_bps, double burst_bytes, size_t max_queue_bytes);
// The thread body; returns when every channel has ended, or after pacer_stop().
void pacer_run(struct pacer* p);
// Copies len bytes as the channel's next block. Returns 1 when more is welcome, 0 when the
// queue is full (a PACER_EV_DRAINED for this channel follows), -EPIPE after the end/stop.
int pacer_push(struct pacer* p, int channel, const uint8_t* data, size_t len);
// The channel's source has ended: after its queue, its end-of-stream chunk.
void pacer_end(struct pacer* p, int channel);
// A datagram (a guide) to every destination ahead of any queued chunk; copied.
void pacer_urgent(struct pacer* p, const uint8_t* data, size_t len, int guide);
// Ends the stream now: what is queued is dropped, every channel not yet ended gets its
// end-of-stream chunk, then the thread returns.
void pacer_stop(struct pacer* p);
void pacer_dest_stats(struct pacer* p, int dest, struct pacer_dest_stats* out);
void pacer_channel_stats(struct pacer* p, int channel, struct pacer_channel_stats* out);
int pacer_dest_count(const struct pacer* p);
int pacer_channel_count(const struct pacer* p);
// After pacer_run() has returned (or was never started).
void pacer_free(struct pacer* p);

#ifdef __cplusplus
}
#endif

#endif
