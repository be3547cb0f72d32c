// ipcast-sink's measurements and reports: the latency histograms and the JSON lines on fd 3
// ({"type":"ready"}, {"type":"progress"}, {"type":"final"}). The format is documented in
// docs/transports.md and parsed by src/transport/report.ts: change all three together.
#ifndef IPCAST_SINK_REPORT_H
#define IPCAST_SINK_REPORT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "engine/reader.h"
#include "engine/record.h"

#define SINK_HIST_BOUNDS 16 /* the Prometheus-style buckets: 10 µs .. 1 s, plus +Inf */
#define SINK_HIST_FINE 512  /* log2 with 8 sub-buckets over ns, for percentiles */

typedef struct {
  uint64_t count;
  double sum_us, max_us;
  uint64_t buckets[SINK_HIST_BOUNDS + 1]; /* non-cumulative here; reported cumulative */
  uint64_t fine[SINK_HIST_FINE];
} sink_hist;

typedef struct {
  int fd;             /* fd 3, or -1: no reports (also after a failed write) */
  uint64_t start_ns;  /* CLOCK_MONOTONIC at start: elapsedMs */
  sink_hist handoff;  /* CLOCK_MONOTONIC now - the writer's stamp */
  sink_hist e2e;      /* CLOCK_REALTIME now - the sender's timestamp, when given */
  int has_decoder;
  pid_t decoder_pid;
  int decoder_status; /* waitpid status, -1 until reaped */
  uint64_t epipe;     /* writes to the decoder that failed with EPIPE */
  const char* error;  /* one line, in the final report when set */
} sink_report;

void sink_hist_add(sink_hist* h, uint64_t ns);
double sink_hist_pct(const sink_hist* h, double q);

/* A record is complete: adds its hand-off and end-to-end latency (data records only). */
void sink_report_record(sink_report* s, const ipcast_record* rec);

/* Writes one line to s->fd: type "ready", "progress" or "final" (exit_code only in final).
   The reader gives the transport, the counters and the transport's facts. */
void sink_report_line(sink_report* s, const ipcast_reader* rd, const char* type, int exit_code);

/* Writes all of p; retries EINTR and EAGAIN (polling). 0, or -errno (-EPIPE when the reader
   closed). When should_stop is given and says so after an interruption, -EINTR. */
int sink_write_all(int fd, const uint8_t* p, size_t n, int (*should_stop)(void));

uint64_t sink_now_ns(clockid_t clock);

#endif
