// See relay.h. The per-datagram steps mirror src/receiver/receiver.ts (onDatagram, onChunk,
// release, deliverPayload) so that both paths count alike (docs/receiver.md).
#define _GNU_SOURCE
#include "relay.h"

#include <errno.h>
#include <math.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "../udp_io.h"
#include "../wire.h"
#include "relay_internal.h"

#define GUIDE_CHANNEL 0
#define TICK_MS 50.0          /* the stale check, as the JS receiver's housekeeping timer */
#define FULL_RETRY_MS 1       /* a full ring or queue whose waiter is busy: try again this soon */
#define BATCHES_PER_WAKE 16   /* recvmmsg calls before the outputs are served again */
#define OUT_BATCHES_PER_WAKE 64 /* writer batches per output per call: more than one read brings */
static double now_ms(void) { return (double)ipcast_mono_ns() / 1e6; }

void relay_emit(relay* r, relay_event_type type, int kind, int64_t a, int64_t b, void* token, const uint8_t* data, uint32_t len) {
  relay_event ev = {type, kind, a, b, token, data, len};
  r->o.on_event(r->o.ctx, &ev);
}

relay_out* relay_find_out(relay* r, int kind, uint32_t session) {
  for (int i = 0; i < RELAY_MAX_OUTS; i++) {
    relay_out* o = &r->outs[kind][i];
    if (o->used && o->session == session) return o;
  }
  return NULL;
}

/* The outputs of a new session, one per transport asked for. */
static void open_session(relay* r, uint32_t session) {
  r->session = session;
  __atomic_store_n(&r->st.session, session, __ATOMIC_RELAXED);
  for (int k = 0; k < RELAY_KINDS; k++) {
    if (!r->o.kinds[k]) continue;
    for (int i = 0; i < RELAY_MAX_OUTS; i++) {
      if (r->outs[k][i].used) continue;
      relay_out_init(&r->outs[k][i], (ipcast_kind)k, session);
      break;
    }
  }
}

static void reset_sequencer(relay* r) {
  r->earlier.lost += r->seq.counts.lost;
  r->earlier.reordered += r->seq.counts.reordered;
  r->earlier.duplicates += r->seq.counts.duplicates;
  seq_init(&r->seq, r->o.window, r->o.max_hold_ms);
}

static void publish_counts(relay* r) {
  __atomic_store_n(&r->st.lost, r->earlier.lost + r->seq.counts.lost, __ATOMIC_RELAXED);
  __atomic_store_n(&r->st.reordered, r->earlier.reordered + r->seq.counts.reordered, __ATOMIC_RELAXED);
  __atomic_store_n(&r->st.duplicates, r->earlier.duplicates + r->seq.counts.duplicates, __ATOMIC_RELAXED);
}

/* The stream ended (end of stream in order, or idle): this session's outputs drain and let go. */
void relay_end_session(relay* r, int why) {
  uint32_t ended = r->session;
  for (int k = 0; k < RELAY_KINDS; k++)
    for (int i = 0; i < RELAY_MAX_OUTS; i++)
      if (r->outs[k][i].used && r->outs[k][i].session == ended) r->outs[k][i].ending = 1;
  reset_sequencer(r);
  open_session(r, ended + 1);
  relay_emit(r, RELAY_EV_SESSION_END, -1, ended, why, NULL, NULL, 0);
}

static void deliver(relay* r, relay_chunk* c) {
  if (c->len == 0) return;
  relay_bump(&r->st.delivered, 1);
  relay_bump(&r->st.activity, 1);
  for (int k = 0; k < RELAY_KINDS; k++) {
    if (!r->o.kinds[k]) continue;
    relay_out* o = relay_find_out(r, k, r->session);
    if (o) relay_out_push(o, c, r->o.max_buffer_bytes, &r->st.kinds[k]);
    else relay_bump(&r->st.kinds[k].dropped_slow, 1); /* RELAY_MAX_OUTS earlier sessions still draining */
  }
}

void relay_release(relay* r, void** items, int n) {
  publish_counts(r);
  for (int i = 0; i < n; i++) {
    relay_chunk* c = items[i];
    if (c->kind == IPCAST_KIND_EOS) relay_end_session(r, 1);
    else if (c->kind == IPCAST_KIND_DATA) deliver(r, c);
    relay_chunk_unref(c);
  }
}

static void select_channel(relay* r, int channel, int from_guide) {
  r->selected = channel;
  __atomic_store_n(&r->st.channel, channel, __ATOMIC_RELAXED);
  relay_emit(r, RELAY_EV_SELECTED, -1, channel, from_guide, NULL, NULL, 0);
}

/* now: the batch's clock (read once per recvmmsg, not per datagram: the sequencer's hold). */
static void on_datagram(relay* r, const uint8_t* buf, const struct udp_dgram* d, double now) {
  relay_bump(&r->st.datagrams, 1);
  relay_bump(&r->st.bytes, d->len);
  if (d->status != IPCAST_OK) {
    relay_bump(&r->st.decode_errors[d->status > 0 && d->status < RELAY_REASONS ? d->status : IPCAST_BAD_MAGIC], 1);
    return;
  }
  const uint8_t* payload = buf + IPCAST_HEADER_BYTES;
  uint32_t plen = d->len - IPCAST_HEADER_BYTES;
  if (d->channel == GUIDE_CHANNEL) {
    if (d->kind == IPCAST_KIND_GUIDE) {
      int first = ipcast_guide_first_id(payload, plen);
      if (first < 0) {
        relay_bump(&r->st.decode_errors[RELAY_BAD_GUIDE], 1);
        return;
      }
      relay_emit(r, RELAY_EV_GUIDE, -1, 0, 0, NULL, payload, plen);
      if (r->selected == 0 && first > 0) select_channel(r, first, 1);
    }
    relay_bump(&r->st.activity, 1);
    return;
  }
  if (r->selected == 0) {
    if (d->kind != IPCAST_KIND_DATA) return;
    select_channel(r, d->channel, 0);
  }
  if (d->channel != r->selected) {
    relay_bump(&r->st.other_channel, 1);
    return;
  }
  if (d->kind == IPCAST_KIND_HEARTBEAT) {
    relay_bump(&r->st.activity, 1);
    return;
  }
  relay_chunk* c = relay_chunk_new(&r->pool, payload, plen, d->timestamp_us, d->kind);
  if (!c) return; /* out of memory: as if lost on the way; the sequencer counts the gap */
  void* out[SEQ_OUT_MAX];
  int taken = 0;
  int n = seq_push(&r->seq, d->sequence, c, (double)d->timestamp_us, now, out, &taken);
  if (!taken) relay_chunk_unref(c);
  relay_release(r, out, n);
}

/* ---- the loop ---- */

/* Serves every output; returns the poll timeout wanted (ms) and, with pfds, adds the pipe fds
   to wait on. */
static int serve_outputs(relay* r, struct pollfd* pfds, int* npfd) {
  int timeout = -1;
  for (int k = 0; k < RELAY_KINDS; k++) {
    uint64_t depth = 0, bytes = 0;
    for (int i = 0; i < RELAY_MAX_OUTS; i++) {
      relay_out* o = &r->outs[k][i];
      if (!o->used) continue;
      if (o->wait_handed) {
        if (__atomic_load_n(&o->waiting, __ATOMIC_ACQUIRE)) {
          depth += o->count + o->n_inflight;
          bytes += o->bytes + o->inflight_bytes;
          continue;
        }
        relay_collect_wait(r, o);
        if (!o->used) continue;
      }
      int err = 0;
      relay_out_state s = relay_out_service(o, &r->st.kinds[k], OUT_BATCHES_PER_WAKE, &err);
      if (s == OUT_ERROR) relay_let_go(r, o, RELAY_EV_HANDOFF_ERROR, err);
      else if (s == OUT_FULL) {
        if (k == IPCAST_PIPE) {
          if (pfds) {
            pfds[*npfd].fd = o->w->fds[1];
            pfds[*npfd].events = POLLOUT;
            pfds[(*npfd)++].revents = 0;
          }
        } else if (o->n_inflight == 0) {
          timeout = 0; /* not full: this call's batches ran out; more at once */
        } else if (relay_waiter_hand(&r->waiters[k], o) == 0) {
          o->wait_handed = 1;
        } else {
          timeout = FULL_RETRY_MS;
        }
      }
      if (o->ending && relay_out_empty(o)) {
        if (o->w) relay_let_go(r, o, RELAY_EV_DRAINED, 0);
        else relay_emit(r, RELAY_EV_DRAINED, k, o->session, 0, NULL, NULL, 0);
        relay_out_free(o);
        continue;
      }
      depth += o->count + o->n_inflight;
      bytes += o->bytes + o->inflight_bytes;
    }
    __atomic_store_n(&r->st.kinds[k].depth, depth, __ATOMIC_RELAXED);
    __atomic_store_n(&r->st.kinds[k].bytes, bytes, __ATOMIC_RELAXED);
  }
  return timeout;
}

static void read_socket(relay* r) {
  struct udp_dgram d[UDP_BATCH];
  for (int b = 0; b < BATCHES_PER_WAKE; b++) {
    int n = udp_recv_batch(r->o.fd, &r->rx, d, 1);
    if (n < 0) {
      relay_emit(r, RELAY_EV_SOCKET_ERROR, -1, 0, -n, NULL, NULL, 0);
      continue;
    }
    double now = now_ms();
    for (int i = 0; i < n; i++) on_datagram(r, udp_rx_slot(&r->rx, i), &d[i], now);
    // Hand what came in to the transports before reading more: the queues stay short, and a
    // stream arriving faster than one batch per wake does not outrun the writers.
    serve_outputs(r, NULL, NULL);
    if (n < UDP_BATCH) return;
  }
}

int relay_run(relay* r) {
  double next_tick = now_ms() + TICK_MS;
  int rc = 0;
  while (!r->stopping) {
    struct pollfd pfds[2 + RELAY_MAX_OUTS];
    int npfd = 2;
    pfds[0] = (struct pollfd){r->o.fd, POLLIN, 0};
    pfds[1] = (struct pollfd){r->efd, POLLIN, 0};
    int timeout = serve_outputs(r, pfds, &npfd);
    double now = now_ms();
    int until_tick = now >= next_tick ? 0 : (int)ceil(next_tick - now);
    if (timeout < 0 || until_tick < timeout) timeout = until_tick;
    int p = poll(pfds, (nfds_t)npfd, timeout);
    if (p < 0 && errno != EINTR) {
      rc = -errno;
      break;
    }
    if (p > 0 && (pfds[1].revents & POLLIN)) {
      uint64_t v;
      ssize_t rd = read(r->efd, &v, sizeof v);
      (void)rd;
    }
    relay_run_commands(r);
    if (p > 0 && (pfds[0].revents & (POLLIN | POLLERR))) read_socket(r);
    if (now_ms() >= next_tick) {
      void* out[SEQ_OUT_MAX];
      relay_release(r, out, seq_flush_stale(&r->seq, now_ms(), out));
      next_tick = now_ms() + TICK_MS;
    }
  }
  /* A waiter still blocked gets its writer closed (the receiver is stopping: its decoders are
     being closed anyway), which makes the engine's wait return; then the threads are joined. */
  for (int k = 0; k < RELAY_KINDS; k++)
    for (int i = 0; i < RELAY_MAX_OUTS; i++)
      if (r->outs[k][i].used && r->outs[k][i].wait_handed && __atomic_load_n(&r->outs[k][i].waiting, __ATOMIC_ACQUIRE))
        ipcast_writer_close(r->outs[k][i].w);
  for (int k = 0; k < RELAY_KINDS; k++) relay_waiter_stop(&r->waiters[k]);
  for (int k = 0; k < RELAY_KINDS; k++)
    for (int i = 0; i < RELAY_MAX_OUTS; i++) {
      relay_out* o = &r->outs[k][i];
      if (o->used && o->wait_handed) relay_collect_wait(r, o);
      if (o->used) relay_let_go(r, o, RELAY_EV_RETURNED, 0);
    }
  relay_emit(r, RELAY_EV_STOPPED, -1, 0, rc < 0 ? -rc : 0, NULL, NULL, 0);
  return rc;
}

relay* relay_create(const relay_options* o) {
  relay* r = calloc(1, sizeof *r);
  if (!r) return NULL;
  r->o = *o;
  r->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (r->efd < 0 || udp_rx_init(&r->rx) < 0) {
    int e = errno;
    if (r->efd >= 0) close(r->efd);
    free(r);
    errno = e;
    return NULL;
  }
  pthread_mutex_init(&r->mu, NULL);
  for (int k = 0; k < RELAY_KINDS; k++) relay_waiter_init(&r->waiters[k], r->efd);
  seq_init(&r->seq, o->window, o->max_hold_ms);
  r->selected = o->channel > 0 ? o->channel : 0;
  r->st.channel = r->selected;
  open_session(r, 1);
  return r;
}

void relay_get_stats(relay* r, relay_stats* out) {
  const uint64_t* src = (const uint64_t*)&r->st;
  uint64_t* dst = (uint64_t*)out;
  for (size_t i = 0; i < sizeof *out / sizeof(uint64_t); i++) dst[i] = __atomic_load_n(&src[i], __ATOMIC_RELAXED);
}

void relay_free(relay* r) {
  if (!r) return;
  void* out[SEQ_OUT_MAX];
  int n = seq_release_all(&r->seq, out);
  for (int i = 0; i < n; i++) relay_chunk_unref(out[i]);
  for (int k = 0; k < RELAY_KINDS; k++)
    for (int i = 0; i < RELAY_MAX_OUTS; i++)
      if (r->outs[k][i].used) relay_out_free(&r->outs[k][i]);
  relay_chunk_pool_drain(&r->pool);
  udp_rx_free(&r->rx);
  close(r->efd);
  pthread_mutex_destroy(&r->mu);
  free(r);
}
