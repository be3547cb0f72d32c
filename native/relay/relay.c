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
#include "relay_out.h"

#define GUIDE_CHANNEL 0
#define TICK_MS 50.0          /* the stale check, as the JS receiver's housekeeping timer */
#define FULL_RETRY_MS 1       /* a full ring or queue has no fd to poll: try again this soon */
#define BATCHES_PER_WAKE 16   /* recvmmsg calls before the outputs are served again */
#define OUT_BATCHES_PER_WAKE 64 /* writer batches per output per call: more than one read brings */
#define MAX_COMMANDS 64

typedef enum { CMD_ATTACH = 1, CMD_DETACH, CMD_END_IDLE, CMD_STOP } cmd_type;
typedef struct {
  cmd_type type;
  int kind, discard;
  uint32_t session;
  ipcast_writer* w;
  void* token;
} command;

struct relay {
  relay_options o;
  int efd;
  struct udp_rx rx;
  sequencer seq;
  seq_counts earlier; /* what earlier streams' sequencers counted */
  relay_stats st;
  relay_chunk_pool pool;
  uint32_t session;
  int selected;
  int stopping;
  relay_out outs[RELAY_KINDS][RELAY_MAX_OUTS];
  pthread_mutex_t mu;
  command cmds[MAX_COMMANDS];
  int n_cmds;
};

static double now_ms(void) { return (double)ipcast_mono_ns() / 1e6; }

static void emit(relay* r, relay_event_type type, int kind, int64_t a, int64_t b, void* token, const uint8_t* data, uint32_t len) {
  relay_event ev = {type, kind, a, b, token, data, len};
  r->o.on_event(r->o.ctx, &ev);
}

static relay_out* find_out(relay* r, int kind, uint32_t session) {
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
static void end_session(relay* r, int why) {
  uint32_t ended = r->session;
  for (int k = 0; k < RELAY_KINDS; k++)
    for (int i = 0; i < RELAY_MAX_OUTS; i++)
      if (r->outs[k][i].used && r->outs[k][i].session == ended) r->outs[k][i].ending = 1;
  reset_sequencer(r);
  open_session(r, ended + 1);
  emit(r, RELAY_EV_SESSION_END, -1, ended, why, NULL, NULL, 0);
}

static void deliver(relay* r, relay_chunk* c) {
  if (c->len == 0) return;
  relay_bump(&r->st.delivered, 1);
  relay_bump(&r->st.activity, 1);
  for (int k = 0; k < RELAY_KINDS; k++) {
    relay_out* o = find_out(r, k, r->session);
    if (o) relay_out_push(o, c, r->o.max_buffer_bytes, &r->st.kinds[k]);
  }
}

static void release(relay* r, void** items, int n) {
  publish_counts(r);
  for (int i = 0; i < n; i++) {
    relay_chunk* c = items[i];
    if (c->kind == IPCAST_KIND_EOS) end_session(r, 1);
    else if (c->kind == IPCAST_KIND_DATA) deliver(r, c);
    relay_chunk_unref(c);
  }
}

static void select_channel(relay* r, int channel, int from_guide) {
  r->selected = channel;
  __atomic_store_n(&r->st.channel, channel, __ATOMIC_RELAXED);
  emit(r, RELAY_EV_SELECTED, -1, channel, from_guide, NULL, NULL, 0);
}

static void on_datagram(relay* r, const uint8_t* buf, const struct udp_dgram* d) {
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
      emit(r, RELAY_EV_GUIDE, -1, 0, 0, NULL, payload, plen);
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
  int n = seq_push(&r->seq, d->sequence, c, (double)d->timestamp_us, now_ms(), out, &taken);
  if (!taken) relay_chunk_unref(c);
  release(r, out, n);
}

/* ---- control ---- */

static void post(relay* r, const command* c) {
  pthread_mutex_lock(&r->mu);
  if (r->n_cmds < MAX_COMMANDS) r->cmds[r->n_cmds++] = *c;
  pthread_mutex_unlock(&r->mu);
  uint64_t one = 1;
  ssize_t w = write(r->efd, &one, sizeof one);
  (void)w;
}

void relay_attach(relay* r, int kind, uint32_t session, ipcast_writer* w, void* token) {
  command c = {CMD_ATTACH, kind, 0, session, w, token};
  post(r, &c);
}

void relay_detach(relay* r, int kind, uint32_t session, int discard) {
  command c = {CMD_DETACH, kind, discard, session, NULL, NULL};
  post(r, &c);
}

void relay_end_idle(relay* r) {
  command c = {CMD_END_IDLE, 0, 0, 0, NULL, NULL};
  post(r, &c);
}

void relay_stop(relay* r) {
  command c = {CMD_STOP, 0, 0, 0, NULL, NULL};
  post(r, &c);
}

/* Gives the writer back to the binding (which may then end or close it). */
static void let_go(relay* r, relay_out* o, relay_event_type why, int64_t err) {
  if (!o->w) return;
  void* token = o->token;
  o->w = NULL;
  o->token = NULL;
  emit(r, why, o->kind, o->session, err, token, NULL, 0);
}

static void run_command(relay* r, const command* c) {
  relay_out* o = c->type == CMD_ATTACH || c->type == CMD_DETACH ? find_out(r, c->kind, c->session) : NULL;
  switch (c->type) {
    case CMD_ATTACH:
      if (!o || o->w) {
        /* No such output (discarded, or never asked for): hand the writer straight back. */
        emit(r, RELAY_EV_RETURNED, c->kind, c->session, 0, c->token, NULL, 0);
        return;
      }
      o->w = c->w;
      o->token = c->token;
      return;
    case CMD_DETACH:
      if (!o) return;
      /* A batch half in a transport whose decoder is gone is lost with it: one failed
         hand-off, as in the JS path. */
      if (o->n_inflight > 0) relay_bump(&r->st.kinds[c->kind].handoff_errors, 1);
      let_go(r, o, RELAY_EV_RETURNED, 0);
      if (c->discard) relay_out_free(o);
      else {
        for (uint32_t i = 0; i < o->n_inflight; i++) relay_chunk_unref(o->inflight[i]);
        o->n_inflight = 0;
        o->inflight_bytes = 0;
        o->full_since_ns = 0;
      }
      return;
    case CMD_END_IDLE: {
      void* out[SEQ_OUT_MAX];
      release(r, out, seq_release_all(&r->seq, out));
      end_session(r, 2);
      return;
    }
    case CMD_STOP:
      r->stopping = 1;
      return;
  }
}

static void run_commands(relay* r) {
  command cmds[MAX_COMMANDS];
  pthread_mutex_lock(&r->mu);
  int n = r->n_cmds;
  memcpy(cmds, r->cmds, (size_t)n * sizeof *cmds);
  r->n_cmds = 0;
  pthread_mutex_unlock(&r->mu);
  for (int i = 0; i < n; i++) run_command(r, &cmds[i]);
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
      int err = 0;
      relay_out_state s = relay_out_service(o, &r->st.kinds[k], OUT_BATCHES_PER_WAKE, &err);
      if (s == OUT_ERROR) let_go(r, o, RELAY_EV_HANDOFF_ERROR, err);
      else if (s == OUT_FULL) {
        if (k == IPCAST_PIPE) {
          if (pfds) {
            pfds[*npfd].fd = o->w->fds[1];
            pfds[*npfd].events = POLLOUT;
            pfds[(*npfd)++].revents = 0;
          }
        } else {
          timeout = FULL_RETRY_MS;
        }
      }
      if (o->ending && relay_out_empty(o)) {
        if (o->w) let_go(r, o, RELAY_EV_DRAINED, 0);
        else emit(r, RELAY_EV_DRAINED, k, o->session, 0, NULL, NULL, 0);
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
      emit(r, RELAY_EV_SOCKET_ERROR, -1, 0, -n, NULL, NULL, 0);
      continue;
    }
    for (int i = 0; i < n; i++) on_datagram(r, udp_rx_slot(&r->rx, i), &d[i]);
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
    run_commands(r);
    if (p > 0 && (pfds[0].revents & (POLLIN | POLLERR))) read_socket(r);
    if (now_ms() >= next_tick) {
      void* out[SEQ_OUT_MAX];
      release(r, out, seq_flush_stale(&r->seq, now_ms(), out));
      next_tick = now_ms() + TICK_MS;
    }
  }
  for (int k = 0; k < RELAY_KINDS; k++)
    for (int i = 0; i < RELAY_MAX_OUTS; i++)
      if (r->outs[k][i].used) let_go(r, &r->outs[k][i], RELAY_EV_RETURNED, 0);
  emit(r, RELAY_EV_STOPPED, -1, 0, rc < 0 ? -rc : 0, NULL, NULL, 0);
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
