// See sequencer.h. Each function mirrors the method of the same name in
// src/receiver/sequence-tracker.ts; the comments there explain the rules.
#include "sequencer.h"

#include <math.h>
#include <string.h>

#define BEHIND_MASK (SEQ_RESTART_DISTANCE - 1)

void seq_init(sequencer* s, int window, double max_hold_ms) {
  memset(s, 0, sizeof *s);
  s->window = window < 0 ? 0 : window > SEQ_MAX_WINDOW ? SEQ_MAX_WINDOW : window;
  s->max_hold_ms = max_hold_ms;
  s->oldest_held_at = INFINITY;
  s->newest_timestamp = -INFINITY;
}

int seq_held_count(const sequencer* s) { return s->n_held; }

static int has_arrived_behind(const sequencer* s, uint32_t seq) {
  uint32_t i = seq & BEHIND_MASK;
  return (s->arrived_behind[i >> 5] >> (i & 31)) & 1u;
}

static void set_arrived_behind(sequencer* s, uint32_t seq, int arrived) {
  uint32_t i = seq & BEHIND_MASK;
  if (arrived) s->arrived_behind[i >> 5] |= 1u << (i & 31);
  else s->arrived_behind[i >> 5] &= ~(1u << (i & 31));
}

static void advance(sequencer* s, int arrived) {
  set_arrived_behind(s, s->expected, arrived);
  s->expected++;
}

static void skip(sequencer* s, uint32_t n) {
  s->counts.lost += n;
  for (uint32_t i = 0; i < n; i++) advance(s, 0);
}

static void note_arrival(sequencer* s, uint32_t seq) {
  if ((int32_t)(seq - s->highest) < 0) s->counts.reordered++;
  else s->highest = seq;
}

static int find_held(const sequencer* s, uint32_t seq) {
  for (int i = 0; i < s->n_held; i++)
    if (s->held[i].seq == seq) return i;
  return -1;
}

static int drain_consecutive(sequencer* s, void** out, int n) {
  for (int i = find_held(s, s->expected); i >= 0; i = find_held(s, s->expected)) {
    out[n++] = s->held[i].item;
    s->held[i] = s->held[--s->n_held];
    advance(s, 1);
  }
  double oldest = INFINITY;
  for (int i = 0; i < s->n_held; i++)
    if (s->held[i].at < oldest) oldest = s->held[i].at;
  s->oldest_held_at = oldest;
  return n;
}

static int give_up_gap(sequencer* s, void** out, int n) {
  if (s->n_held == 0) return n;
  uint32_t best = UINT32_MAX;
  for (int i = 0; i < s->n_held; i++) {
    uint32_t d = s->held[i].seq - s->expected;
    if (d < best) best = d;
  }
  skip(s, best);
  return drain_consecutive(s, out, n);
}

static int start_stream(sequencer* s, uint32_t seq, void* item, void** out, int n) {
  memset(s->arrived_behind, 0, sizeof s->arrived_behind);
  s->started = 1;
  s->expected = seq;
  s->highest = seq;
  advance(s, 1);
  out[n++] = item;
  return n;
}

int seq_release_all(sequencer* s, void** out) {
  int n = 0;
  while (s->n_held > 0) n = give_up_gap(s, out, n);
  return n;
}

int seq_flush_stale(sequencer* s, double now_ms, void** out) {
  int n = 0;
  while (s->n_held > 0 && now_ms - s->oldest_held_at >= s->max_hold_ms) n = give_up_gap(s, out, n);
  return n;
}

int seq_push(sequencer* s, uint32_t seq, void* item, double timestamp, double now_ms, void** out, int* taken) {
  int newer = timestamp > s->newest_timestamp;
  if (newer) s->newest_timestamp = timestamp;
  *taken = 1;
  if (!s->started) return start_stream(s, seq, item, out, 0);
  int32_t diff = (int32_t)(seq - s->expected);
  if ((diff < 0 && newer) || diff <= -SEQ_RESTART_DISTANCE || diff >= SEQ_RESTART_DISTANCE) {
    s->counts.restarts++;
    int n = seq_release_all(s, out);
    return start_stream(s, seq, item, out, n);
  }
  if (diff < 0) {
    *taken = 0;
    if (has_arrived_behind(s, seq)) {
      s->counts.duplicates++;
      return 0;
    }
    note_arrival(s, seq);
    set_arrived_behind(s, seq, 1);
    return 0;
  }
  if (diff > 0 && find_held(s, seq) >= 0) {
    *taken = 0;
    s->counts.duplicates++;
    return 0;
  }
  note_arrival(s, seq);
  if (diff == 0) {
    out[0] = item;
    advance(s, 1);
    return drain_consecutive(s, out, 1);
  }
  if (s->window == 0) {
    skip(s, (uint32_t)diff);
    advance(s, 1);
    out[0] = item;
    return 1;
  }
  seq_held* h = &s->held[s->n_held++];
  h->seq = seq;
  h->item = item;
  h->at = now_ms;
  if (s->n_held == 1) s->oldest_held_at = now_ms;
  return s->n_held > s->window ? give_up_gap(s, out, 0) : 0;
}
