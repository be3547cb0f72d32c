// The relay's commands: what other threads ask (attach a writer, detach it, end the stream on
// idle, stop), queued under a mutex and run on the relay's thread. See relay.h.
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "relay_internal.h"

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

void relay_let_go(relay* r, relay_out* o, relay_event_type why, int64_t err) {
  if (!o->w) return;
  void* token = o->token;
  o->w = NULL;
  o->token = NULL;
  relay_emit(r, why, o->kind, o->session, err, token, NULL, 0);
}

static void detach(relay* r, relay_out* o, int discard) {
  /* A batch half in a transport whose decoder is gone is lost with it, as in the JS path. */
  relay_out_fail_batch(o, &r->st.kinds[o->kind]);
  relay_let_go(r, o, RELAY_EV_RETURNED, 0);
  if (discard) relay_out_free(o);
}

void relay_collect_wait(relay* r, relay_out* o) {
  o->wait_handed = 0;
  int err = 0;
  if (relay_out_after_wait(o, &r->st.kinds[o->kind], &err) == OUT_ERROR) relay_let_go(r, o, RELAY_EV_HANDOFF_ERROR, err);
  if (o->detach_after) {
    int discard = o->detach_after == 2;
    o->detach_after = 0;
    detach(r, o, discard);
  }
}

static void run_command(relay* r, const command* c) {
  relay_out* o = c->type == CMD_ATTACH || c->type == CMD_DETACH ? relay_find_out(r, c->kind, c->session) : NULL;
  switch (c->type) {
    case CMD_ATTACH:
      if (!o || o->w) {
        /* No such output (discarded, or never asked for): hand the writer straight back. */
        relay_emit(r, RELAY_EV_RETURNED, c->kind, c->session, 0, c->token, NULL, 0);
        return;
      }
      o->w = c->w;
      o->token = c->token;
      return;
    case CMD_DETACH:
      if (!o) return;
      if (o->wait_handed) o->detach_after = c->discard ? 2 : 1; /* once the waiter lets go of it */
      else detach(r, o, c->discard);
      return;
    case CMD_END_IDLE: {
      void* out[SEQ_OUT_MAX];
      relay_release(r, out, seq_release_all(&r->seq, out));
      relay_end_session(r, 2);
      return;
    }
    case CMD_STOP:
      r->stopping = 1;
      return;
  }
}

void relay_run_commands(relay* r) {
  command cmds[MAX_COMMANDS];
  pthread_mutex_lock(&r->mu);
  int n = r->n_cmds;
  memcpy(cmds, r->cmds, (size_t)n * sizeof *cmds);
  r->n_cmds = 0;
  pthread_mutex_unlock(&r->mu);
  for (int i = 0; i < n; i++) run_command(r, &cmds[i]);
}
