// Internal to the relay (relay.c: datagrams, sessions, the loop; relay_control.c: the
// commands from other threads). See relay.h.
#ifndef IPCAST_RELAY_INTERNAL_H
#define IPCAST_RELAY_INTERNAL_H

#include <pthread.h>

#include "../udp_io.h"
#include "relay.h"
#include "relay_out.h"
#include "relay_wait.h"

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
  relay_waiter waiters[RELAY_KINDS]; /* shm and msg: see relay_wait.h */
  pthread_mutex_t mu;
  command cmds[MAX_COMMANDS];
  int n_cmds;
};

void relay_emit(relay* r, relay_event_type type, int kind, int64_t a, int64_t b, void* token, const uint8_t* data, uint32_t len);
relay_out* relay_find_out(relay* r, int kind, uint32_t session);
/* What the sequencer released: data to the outputs, end of stream ends the session. */
void relay_release(relay* r, void** items, int n);
/* why: 1 end of stream, 2 idle. */
void relay_end_session(relay* r, int why);
/* Gives the writer back to the binding (which may then end or close it). */
void relay_let_go(relay* r, relay_out* o, relay_event_type why, int64_t err);
/* A wait handed to the waiter thread has ended: its result, and a detach asked meanwhile. */
void relay_collect_wait(relay* r, relay_out* o);
/* Runs what other threads asked (relay_attach, relay_detach, ...). */
void relay_run_commands(relay* r);

#endif
