// The sequence accounting of docs/receiver.md ("Sequence accounting") in C, for the native
// relay path: the same rules, line by line, as src/receiver/sequence-tracker.ts (which the
// JS path uses, and which test/native/sequencer.test.ts compares this with on random streams).
// Items are opaque pointers; the caller owns them. Not thread-safe: one relay thread.
#ifndef IPCAST_SEQUENCER_H
#define IPCAST_SEQUENCER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SEQ_MAX_WINDOW 64
#define SEQ_RESTART_DISTANCE (1 << 16)
/* What one call may deliver at most: everything held plus the chunk pushed. */
#define SEQ_OUT_MAX (SEQ_MAX_WINDOW + 2)

typedef struct {
  uint64_t lost, reordered, duplicates, restarts;
} seq_counts;

typedef struct {
  uint32_t seq;
  void* item;
  double at;
} seq_held;

typedef struct {
  seq_counts counts;
  int window;
  double max_hold_ms;
  int started;
  uint32_t expected, highest;
  seq_held held[SEQ_MAX_WINDOW + 1];
  int n_held;
  double oldest_held_at, newest_timestamp;
  uint32_t arrived_behind[SEQ_RESTART_DISTANCE / 32];
} sequencer;

/* window 0..SEQ_MAX_WINDOW (0: nothing held, a gap is given up at once). */
void seq_init(sequencer* s, int window, double max_hold_ms);
/* Pushes one chunk. Items that can be delivered now go to out[] in order; returns how many.
   *taken is 1 when the item was kept (delivered in out, or held), 0 when it was a duplicate or
   late (the caller frees it). timestamp: the sender's clock (a newer one behind E = restart). */
int seq_push(sequencer* s, uint32_t seq, void* item, double timestamp, double now_ms, void** out, int* taken);
/* Gives up gaps while the chunk held longest has waited max_hold_ms or more. */
int seq_flush_stale(sequencer* s, double now_ms, void** out);
/* Everything held, gaps counted lost (end of stream, shutdown). */
int seq_release_all(sequencer* s, void** out);
int seq_held_count(const sequencer* s);

#ifdef __cplusplus
}
#endif

#endif
