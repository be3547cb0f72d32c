// The sender's native pacing loop: see pacer.h.
#define _GNU_SOURCE
#include "pacer.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/udp.h>
#include <sys/socket.h>
#include <time.h>

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103 /* linux/udp.h, Linux 4.18 */
#endif

#include "../wire.h"

// A chunk due within this much of now goes in the current batch: the thread wakes about
// every LOOKAHEAD instead of once per chunk (a 1 Gbit/s stream has one every 10.8 us). The
// token bucket absorbs it: a chunk leaves at most this early.
#define LOOKAHEAD_NS 200000.0
// A full socket buffer is waited for in slices of this, so that pacer_stop() is seen.
#define FULL_POLL_MS 20
// After a stop, the end-of-stream chunks wait at most this long for room in a socket buffer.
#define FINAL_WAIT_NS 1000000000.0

struct block {
  struct block* next;
  size_t len, off;
  uint8_t data[];
};

struct urgent {
  struct urgent* next;
  size_t len;
  int guide;
  uint8_t data[];
};

struct channel {
  uint16_t id;
  uint32_t seq;
  double ns_per_byte; /* 0: unpaced */
  double burst_ns;    /* the bucket's depth, in time */
  double tat;         /* when the tokens taken so far have all accrued (monotonic ns) */
  int started;        /* the bucket starts empty at the channel's first chunk, not at start */
  int reserved;       /* the head chunk has taken its tokens; it may leave at `due` */
  double due;
  struct block *head, *tail;
  size_t queued, max_queue;
  int full; /* pacer_push() said full: a DRAINED is owed */
  int end_requested, ended;
  uint64_t chunks, bytes;
};

struct dest {
  int fd;
  struct sockaddr_in to;
  int gso; /* 1: runs of equal-size datagrams go as one UDP_SEGMENT send; 0 once the kernel refused */
  struct pacer_dest_stats st;
};

struct pacer {
  struct pacer_options o;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  struct dest dests[PACER_MAX_DESTS];
  int ndests;
  struct channel* ch;
  int nch;
  struct urgent *uhead, *utail;
  int stop; /* read without the lock by the sending code: __atomic */
  int rr;   /* the channel that goes first in the next batch */
};

// One datagram of a batch: a header of its own (unless raw or urgent) and a payload that
// points into a block or an urgent copy, both freed only after the batch has been sent.
struct item {
  const uint8_t* payload;
  size_t len;
  int has_header;
  int guide;
  uint8_t header[IPCAST_HEADER_BYTES];
};

static double mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static uint64_t wall_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

struct pacer* pacer_create(const struct pacer_options* o) {
  if (!o || o->chunk_bytes == 0) {
    errno = EINVAL;
    return NULL;
  }
  struct pacer* p = calloc(1, sizeof *p);
  if (!p) return NULL;
  p->o = *o;
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&p->cv, &ca);
  pthread_condattr_destroy(&ca);
  pthread_mutex_init(&p->mu, NULL);
  return p;
}

int pacer_add_dest(struct pacer* p, int fd, const struct sockaddr_in* to) {
  if (p->ndests >= PACER_MAX_DESTS) return -ENOSPC;
  struct dest* d = &p->dests[p->ndests];
  memset(d, 0, sizeof *d);
  d->fd = fd;
  d->to = *to;
  d->gso = p->o.gso;
  return p->ndests++;
}

int pacer_add_channel(struct pacer* p, uint16_t id, double rate_bps, double burst_bytes, size_t max_queue_bytes) {
  struct channel* grown = realloc(p->ch, (size_t)(p->nch + 1) * sizeof *grown);
  if (!grown) return -ENOMEM;
  p->ch = grown;
  struct channel* c = &p->ch[p->nch];
  memset(c, 0, sizeof *c);
  c->id = id;
  c->ns_per_byte = rate_bps > 0 ? 8e9 / rate_bps : 0;
  c->burst_ns = burst_bytes * c->ns_per_byte;
  c->max_queue = max_queue_bytes ? max_queue_bytes : 1;
  return p->nch++;
}

int pacer_dest_count(const struct pacer* p) { return p->ndests; }
int pacer_channel_count(const struct pacer* p) { return p->nch; }

int pacer_push(struct pacer* p, int channel, const uint8_t* data, size_t len) {
  if (channel < 0 || channel >= p->nch) return -EINVAL;
  struct block* b = malloc(sizeof *b + len);
  if (!b) return -ENOMEM;
  b->next = NULL;
  b->len = len;
  b->off = 0;
  memcpy(b->data, data, len);
  pthread_mutex_lock(&p->mu);
  struct channel* c = &p->ch[channel];
  if (p->stop || c->end_requested || c->ended) {
    pthread_mutex_unlock(&p->mu);
    free(b);
    return -EPIPE;
  }
  if (len == 0) {
    pthread_mutex_unlock(&p->mu);
    free(b);
    return 1;
  }
  if (c->tail) c->tail->next = b;
  else c->head = b;
  c->tail = b;
  c->queued += len;
  int more = c->queued < c->max_queue;
  if (!more) c->full = 1;
  pthread_cond_signal(&p->cv);
  pthread_mutex_unlock(&p->mu);
  return more;
}

void pacer_end(struct pacer* p, int channel) {
  if (channel < 0 || channel >= p->nch) return;
  pthread_mutex_lock(&p->mu);
  p->ch[channel].end_requested = 1;
  pthread_cond_signal(&p->cv);
  pthread_mutex_unlock(&p->mu);
}

void pacer_urgent(struct pacer* p, const uint8_t* data, size_t len, int guide) {
  struct urgent* u = malloc(sizeof *u + len);
  if (!u) return;
  u->next = NULL;
  u->len = len;
  u->guide = guide;
  memcpy(u->data, data, len);
  pthread_mutex_lock(&p->mu);
  if (p->utail) p->utail->next = u;
  else p->uhead = u;
  p->utail = u;
  pthread_cond_signal(&p->cv);
  pthread_mutex_unlock(&p->mu);
}

void pacer_stop(struct pacer* p) {
  pthread_mutex_lock(&p->mu);
  __atomic_store_n(&p->stop, 1, __ATOMIC_RELAXED);
  pthread_cond_signal(&p->cv);
  pthread_mutex_unlock(&p->mu);
}

static void emit(struct pacer* p, int type, int channel) {
  if (!p->o.on_event) return;
  struct pacer_event ev = {type, channel};
  p->o.on_event(p->o.ctx, &ev);
}

static void count_error(struct pacer_dest_stats* st, int err) {
  st->errors++;
  for (int i = 0; i < PACER_ERRNO_SLOTS; i++) {
    if (st->errnos[i] == err || st->errnos[i] == 0) {
      st->errnos[i] = err;
      st->errno_counts[i]++;
      return;
    }
  }
}

static void header_for(struct item* it, int kind, uint16_t channel, uint32_t seq, uint64_t ts, const uint8_t* payload, size_t len) {
  struct ipcast_header h;
  memset(&h, 0, sizeof h);
  h.kind = (uint8_t)kind;
  h.channel = channel;
  h.length = (uint32_t)len;
  h.sequence = seq;
  h.timestamp_us = ts;
  ipcast_encode_header(&h, payload, it->header);
  it->has_header = 1;
}

// UDP generic segmentation offload: one send of up to GSO_MAX_SEGS equal-size datagrams
// (the last may be shorter) that the kernel cuts into datagrams after the IP layer, so the
// route lookup and the IP stack are paid once per run, not per datagram (4-5x less sender CPU
// for 1348-byte datagrams on loopback, scripts/relay-bench.sh). The receiver sees ordinary
// datagrams. pacer_options.gso = 0 turns it off.
#define GSO_MAX_SEGS 64
#define GSO_MAX_BYTES 65000 /* one send's UDP payload (the IPv4 limit is 65507) */

struct msgs {
  struct mmsghdr m[PACER_BATCH];
  struct iovec iov[PACER_BATCH * 2];
  union {
    char buf[CMSG_SPACE(sizeof(uint16_t))];
    struct cmsghdr align;
  } ctrl[PACER_BATCH];
  int first[PACER_BATCH], count[PACER_BATCH];
};

static size_t item_bytes(const struct item* it) { return (it->has_header ? IPCAST_HEADER_BYTES : 0) + it->len; }

// Lays items[from..n) out as messages: with gso, each run of equal sizes (plus one shorter
// last datagram) is one message. Returns the number of messages.
static int build_msgs(struct dest* d, const struct item* items, int from, int n, struct msgs* ms) {
  int nm = 0, niov = 0;
  memset(ms->m, 0, sizeof ms->m);
  for (int i = from; i < n;) {
    size_t seg = item_bytes(&items[i]);
    int k = 1;
    if (d->gso && seg > 0) {
      size_t total = seg;
      while (i + k < n && k < GSO_MAX_SEGS && total + item_bytes(&items[i + k]) <= GSO_MAX_BYTES) {
        size_t next = item_bytes(&items[i + k]);
        if (next > seg || next == 0) break;
        total += next;
        k++;
        if (next < seg) break;  // a shorter datagram can only end a run
      }
    }
    struct msghdr* h = &ms->m[nm].msg_hdr;
    h->msg_iov = &ms->iov[niov];
    for (int j = i; j < i + k; j++) {
      if (items[j].has_header) ms->iov[niov++] = (struct iovec){(void*)items[j].header, IPCAST_HEADER_BYTES};
      if (items[j].len) ms->iov[niov++] = (struct iovec){(void*)items[j].payload, items[j].len};
    }
    h->msg_iovlen = (size_t)(&ms->iov[niov] - h->msg_iov);
    h->msg_name = &d->to;
    h->msg_namelen = sizeof d->to;
    if (k > 1) {
      h->msg_control = ms->ctrl[nm].buf;
      h->msg_controllen = sizeof ms->ctrl[nm].buf;
      struct cmsghdr* c = CMSG_FIRSTHDR(h);
      c->cmsg_level = SOL_UDP;
      c->cmsg_type = UDP_SEGMENT;
      c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
      uint16_t gso_size = (uint16_t)seg;
      memcpy(CMSG_DATA(c), &gso_size, sizeof gso_size);
    }
    ms->first[nm] = i;
    ms->count[nm] = k;
    nm++;
    i += k;
  }
  return nm;
}

static void count_sent(struct dest* d, const struct item* items, int first, int count) {
  if (count > 1) d->st.segmented += (uint64_t)count;
  for (int j = first; j < first + count; j++) {
    d->st.datagrams++;
    d->st.bytes += item_bytes(&items[j]);
    if (items[j].guide) d->st.guides++;
  }
}

// Sends items[0..n) to one destination: every datagram the kernel takes is counted, one it
// refuses is counted as an error and skipped, a full socket buffer is waited for (until
// `deadline`, or until a stop when deadline is 0).
static void send_to(struct pacer* p, struct dest* d, const struct item* items, int n, double deadline) {
  struct msgs ms;
  int i = 0;  // the first item not yet sent
  int nm = build_msgs(d, items, i, n, &ms), m = 0;
  pthread_mutex_lock(&p->mu);
  while (m < nm) {
    pthread_mutex_unlock(&p->mu);
    int r = sendmmsg(d->fd, ms.m + m, (unsigned)(nm - m), MSG_DONTWAIT);
    int err = r < 0 ? errno : 0;
    if (err == EAGAIN || err == EWOULDBLOCK) {
      struct pollfd pfd = {d->fd, POLLOUT, 0};
      poll(&pfd, 1, FULL_POLL_MS);
    }
    pthread_mutex_lock(&p->mu);
    if (r > 0) {
      for (int j = m; j < m + r; j++) count_sent(d, items, ms.first[j], ms.count[j]);
      m += r;
    } else if (err == EAGAIN || err == EWOULDBLOCK) {
      if (deadline > 0 ? mono_ns() > deadline : __atomic_load_n(&p->stop, __ATOMIC_RELAXED)) break;
    } else if (ms.count[m] > 1 && (err == EIO || err == EINVAL || err == EOPNOTSUPP || err == ENOPROTOOPT || err == EMSGSIZE)) {
      // No segmentation offload here (an old kernel, a device without it): datagram by datagram.
      d->gso = 0;
      i = ms.first[m];
      nm = build_msgs(d, items, i, n, &ms);
      m = 0;
    } else if (err != EINTR) {
      // These datagrams cannot go (ENOBUFS, ECONNREFUSED...): counted, the stream goes on.
      for (int j = 0; j < ms.count[m]; j++) count_error(&d->st, err);
      m++;
    }
  }
  pthread_mutex_unlock(&p->mu);
}

static void send_batch(struct pacer* p, const struct item* items, int n, double deadline) {
  for (int k = 0; k < p->ndests; k++) send_to(p, &p->dests[k], items, n, deadline);
}

// Takes the head chunk's tokens, as TokenBucket.reserve() does when the chunk is read.
static void reserve(struct channel* c, size_t len, double now) {
  if (c->ns_per_byte == 0) {
    c->due = now;
  } else {
    if (!c->started) c->tat = now;
    c->started = 1;
    double base = c->tat > now - c->burst_ns ? c->tat : now - c->burst_ns;
    c->tat = base + (double)len * c->ns_per_byte;
    c->due = c->tat;
  }
  c->reserved = 1;
}

static int all_ended(const struct pacer* p) {
  for (int i = 0; i < p->nch; i++)
    if (!p->ch[i].ended) return 0;
  return 1;
}

// Under the lock: fills items with what is due now (guides first, then the channels in
// turn, one chunk each per round). Blocks fully taken go to *spent, urgent copies to
// *spent_urgent, channels that have room again to drained[]. Returns the count.
static int take_due(struct pacer* p, struct item* items, struct block** spent, struct urgent** spent_urgent, int* drained, int* ndrained) {
  int n = 0;
  while (n < PACER_BATCH && p->uhead) {
    struct urgent* u = p->uhead;
    p->uhead = u->next;
    if (!p->uhead) p->utail = NULL;
    u->next = *spent_urgent;
    *spent_urgent = u;
    items[n++] = (struct item){.payload = u->data, .len = u->len, .guide = u->guide};
  }
  if (p->nch == 0) return n;
  double now = mono_ns();
  uint64_t ts = wall_us();
  uint32_t cb = p->o.chunk_bytes;
  int progress = 1;
  while (n < PACER_BATCH && progress) {
    progress = 0;
    for (int k = 0; k < p->nch && n < PACER_BATCH; k++) {
      int ci = (p->rr + k) % p->nch;
      struct channel* c = &p->ch[ci];
      if (c->ended) continue;
      if (!c->head) {
        if (!c->end_requested) continue;
        struct item* it = &items[n];
        memset(it, 0, sizeof *it);
        if (!p->o.raw) {
          header_for(it, IPCAST_KIND_EOS, c->id, c->seq++, ts, NULL, 0);
          n++;
        }
        c->ended = 1;
        progress = 1;
        continue;
      }
      struct block* b = c->head;
      size_t len = b->len - b->off < cb ? b->len - b->off : cb;
      if (!c->reserved) reserve(c, len, now);
      if (c->due > now + LOOKAHEAD_NS) continue;
      struct item* it = &items[n++];
      memset(it, 0, sizeof *it);
      it->payload = b->data + b->off;
      it->len = len;
      if (!p->o.raw) header_for(it, IPCAST_KIND_DATA, c->id, c->seq++, ts, it->payload, len);
      c->reserved = 0;
      b->off += len;
      c->queued -= len;
      c->chunks++;
      c->bytes += len;
      if (b->off == b->len) {
        c->head = b->next;
        if (!c->head) c->tail = NULL;
        b->next = *spent;
        *spent = b;
      }
      if (c->full && c->queued < c->max_queue / 2) {
        c->full = 0;
        drained[(*ndrained)++] = ci;
      }
      progress = 1;
    }
    p->rr = (p->rr + 1) % p->nch;
  }
  return n;
}

// Under the lock: how long to sleep (absolute monotonic ns), or 0 to wait for a signal.
static double next_due(struct pacer* p) {
  double when = 0;
  double now = mono_ns();
  for (int i = 0; i < p->nch; i++) {
    struct channel* c = &p->ch[i];
    if (c->ended || !c->head) continue;
    if (!c->reserved) return now;  // cannot happen after take_due, but never sleep on it
    double t = c->due - LOOKAHEAD_NS / 2;
    if (when == 0 || t < when) when = t;
  }
  return when;
}

static void free_spent(struct block* b, struct urgent* u) {
  while (b) {
    struct block* next = b->next;
    free(b);
    b = next;
  }
  while (u) {
    struct urgent* next = u->next;
    free(u);
    u = next;
  }
}

void pacer_run(struct pacer* p) {
  struct item items[PACER_BATCH];
  int drained[PACER_BATCH];
  pthread_mutex_lock(&p->mu);
  for (;;) {
    if (p->stop) break;
    struct block* spent = NULL;
    struct urgent* spent_urgent = NULL;
    int ndrained = 0;
    int n = take_due(p, items, &spent, &spent_urgent, drained, &ndrained);
    if (n == 0 && ndrained == 0) {
      if (all_ended(p) && !p->uhead) break;
      double when = next_due(p);
      if (when == 0) {
        pthread_cond_wait(&p->cv, &p->mu);
      } else if (when > mono_ns()) {
        struct timespec ts = {(time_t)(when / 1e9), (long)((uint64_t)when % 1000000000u)};
        pthread_cond_timedwait(&p->cv, &p->mu, &ts);
      }
      free_spent(spent, spent_urgent);
      continue;
    }
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < ndrained; i++) emit(p, PACER_EV_DRAINED, drained[i]);
    if (n > 0) send_batch(p, items, n, 0);
    free_spent(spent, spent_urgent);
    pthread_mutex_lock(&p->mu);
  }
  // Stopped (or every channel ended): what is queued is dropped, every channel that has
  // not ended gets its end-of-stream chunk.
  int n = 0;
  uint64_t ts = wall_us();
  struct block* spent = NULL;
  for (int i = 0; i < p->nch; i++) {
    struct channel* c = &p->ch[i];
    while (c->head) {
      struct block* b = c->head;
      c->head = b->next;
      b->next = spent;
      spent = b;
    }
    c->tail = NULL;
    c->queued = 0;
    if (c->ended) continue;
    c->ended = 1;
    if (p->o.raw || n >= PACER_BATCH) continue;
    memset(&items[n], 0, sizeof items[n]);
    header_for(&items[n++], IPCAST_KIND_EOS, c->id, c->seq++, ts, NULL, 0);
  }
  pthread_mutex_unlock(&p->mu);
  if (n > 0) send_batch(p, items, n, mono_ns() + FINAL_WAIT_NS);
  free_spent(spent, NULL);
  emit(p, PACER_EV_STOPPED, -1);
}

void pacer_dest_stats(struct pacer* p, int dest, struct pacer_dest_stats* out) {
  pthread_mutex_lock(&p->mu);
  if (dest >= 0 && dest < p->ndests) *out = p->dests[dest].st;
  else memset(out, 0, sizeof *out);
  pthread_mutex_unlock(&p->mu);
}

void pacer_channel_stats(struct pacer* p, int channel, struct pacer_channel_stats* out) {
  memset(out, 0, sizeof *out);
  pthread_mutex_lock(&p->mu);
  if (channel >= 0 && channel < p->nch) {
    struct channel* c = &p->ch[channel];
    out->chunks = c->chunks;
    out->bytes = c->bytes;
    out->queued = c->queued;
    out->ended = c->ended;
  }
  pthread_mutex_unlock(&p->mu);
}

void pacer_free(struct pacer* p) {
  if (!p) return;
  for (int i = 0; i < p->nch; i++) {
    struct block* b = p->ch[i].head;
    free_spent(b, NULL);
  }
  free_spent(NULL, p->uhead);
  free(p->ch);
  pthread_cond_destroy(&p->cv);
  pthread_mutex_destroy(&p->mu);
  free(p);
}
