// The sink's histograms and report lines. See sink_report.h; the format is in
// docs/transports.md ("Reports").
#define _GNU_SOURCE
#include "sink_report.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static const double kBoundsUs[SINK_HIST_BOUNDS] = {10,    25,    50,     100,    250,    500,    1000,   2500,
                                                   5000,  10000, 25000,  50000,  100000, 250000, 500000, 1000000};

uint64_t sink_now_ns(clockid_t c) {
  struct timespec ts;
  clock_gettime(c, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

// ---------------------------------------------------------------- histograms
static int fine_index(uint64_t ns) {
  if (ns < 8) return (int)ns;
  int e = 63 - __builtin_clzll(ns);
  int idx = (e - 2) * 8 + (int)((ns >> (e - 3)) & 7);
  return idx < SINK_HIST_FINE ? idx : SINK_HIST_FINE - 1;
}

static double fine_mid_ns(int idx) {
  if (idx < 8) return idx;
  int e = idx / 8 + 2, sub = idx % 8;
  double lo = (double)(1ull << e) + (double)sub * (double)(1ull << (e - 3));
  return lo + (double)(1ull << (e - 3)) / 2.0;
}

void sink_hist_add(sink_hist* h, uint64_t ns) {
  double us = (double)ns / 1000.0;
  h->count++;
  h->sum_us += us;
  if (us > h->max_us) h->max_us = us;
  size_t b = 0;
  while (b < SINK_HIST_BOUNDS && us > kBoundsUs[b]) b++;
  h->buckets[b]++;
  h->fine[fine_index(ns)]++;
}

double sink_hist_pct(const sink_hist* h, double q) {
  if (h->count == 0) return 0;
  uint64_t want = (uint64_t)(q * (double)h->count + 0.5), acc = 0;
  if (want < 1) want = 1;
  for (int i = 0; i < SINK_HIST_FINE; i++) {
    acc += h->fine[i];
    if (acc >= want) return fine_mid_ns(i) / 1000.0;
  }
  return h->max_us;
}

void sink_report_record(sink_report* s, const ipcast_record* r) {
  if (r->flags & IPCAST_RECORD_FLAG_EOS) return;
  uint64_t mono = sink_now_ns(CLOCK_MONOTONIC);
  if (r->handoff_ns > 0 && mono >= r->handoff_ns) sink_hist_add(&s->handoff, mono - r->handoff_ns);
  if (r->sender_us > 0) {
    uint64_t real_us = sink_now_ns(CLOCK_REALTIME) / 1000u;
    if (real_us >= r->sender_us) sink_hist_add(&s->e2e, (real_us - r->sender_us) * 1000u);
  }
}

// ---------------------------------------------------------------- output
int sink_write_all(int fd, const uint8_t* p, size_t n, int (*should_stop)(void)) {
  while (n > 0) {
    ssize_t r = write(fd, p, n);
    if (r > 0) {
      p += r;
      n -= (size_t)r;
      continue;
    }
    if (r < 0 && (errno == EINTR || errno == EAGAIN)) {
      int e = errno;
      if (should_stop && should_stop()) return -EINTR;
      if (e == EAGAIN) {
        struct pollfd pfd = {fd, POLLOUT, 0};
        poll(&pfd, 1, 100);
      }
      continue;
    }
    return r < 0 ? -errno : -EIO;
  }
  return 0;
}

// ---------------------------------------------------------------- report lines
// Appends to a fixed buffer and never runs past it: a truncated snprintf returns the length
// it wanted, so adding that to *len unchecked would point the next write beyond `out`.
__attribute__((format(printf, 4, 5))) static void appendf(char* out, size_t cap, size_t* len, const char* fmt, ...) {
  if (*len + 1 >= cap) return;
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(out + *len, cap - *len, fmt, ap);
  va_end(ap);
  if (n > 0) *len = (*len + (size_t)n < cap) ? *len + (size_t)n : cap - 1;
}

static void json_hist(char* out, size_t cap, size_t* len, const char* name, const sink_hist* h) {
  appendf(out, cap, len, ",\"%s\":{\"count\":%" PRIu64 ",\"sumUs\":%.3f,\"p50Us\":%.3f,\"p99Us\":%.3f,\"maxUs\":%.3f,\"buckets\":[",
          name, h->count, h->sum_us, sink_hist_pct(h, 0.5), sink_hist_pct(h, 0.99), h->max_us);
  uint64_t acc = 0;
  for (size_t i = 0; i <= SINK_HIST_BOUNDS; i++) {
    acc += h->buckets[i];
    appendf(out, cap, len, "%s%" PRIu64, i ? "," : "", acc);
  }
  appendf(out, cap, len, "]}");
}

static const char* transport_name(ipcast_kind k) {
  switch (k) {
    case IPCAST_PIPE: return "pipe";
    case IPCAST_SHM: return "shm";
    case IPCAST_MSG: return "msg";
  }
  return "none";
}

static void json_decoder(char* out, size_t cap, size_t* len, const sink_report* s) {
  int st = s->decoder_status;
  appendf(out, cap, len, ",\"decoder\":{\"pid\":%d,\"exitCode\":", (int)s->decoder_pid);
  if (st >= 0 && WIFEXITED(st)) appendf(out, cap, len, "%d", WEXITSTATUS(st));
  else appendf(out, cap, len, "null");
  if (st >= 0 && WIFSIGNALED(st)) appendf(out, cap, len, ",\"signal\":%d", WTERMSIG(st));
  else appendf(out, cap, len, ",\"signal\":null");
  appendf(out, cap, len, ",\"epipe\":%" PRIu64 "}", s->epipe);
}

static void json_final(char* out, size_t cap, size_t* len, const sink_report* s, int exit_code) {
  struct rusage ru;  // the reader's own CPU time (user + system), for the bench's CPU per byte
  getrusage(RUSAGE_SELF, &ru);
  appendf(out, cap, len, ",\"cpuSeconds\":%.6f", (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
                                                      (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6);
  appendf(out, cap, len, ",\"exitCode\":%d", exit_code);
  if (!s->error) return;
  appendf(out, cap, len, ",\"error\":\"");
  for (const char* c = s->error; *c && *len + 8 < cap; c++) {
    if (*c == '"' || *c == '\\') out[(*len)++] = '\\';
    out[(*len)++] = (*c >= 0x20) ? *c : ' ';
  }
  appendf(out, cap, len, "\"");
}

void sink_report_line(sink_report* s, const ipcast_reader* rd, const char* type, int exit_code) {
  if (s->fd < 0) return;
  char out[4096];
  size_t len = 0, cap = sizeof out;
  const ipcast_reader_stats* c = &rd->st;
  double elapsed_ms = (double)(sink_now_ns(CLOCK_MONOTONIC) - s->start_ns) / 1e6;
  appendf(out, cap, &len,
          "{\"type\":\"%s\",\"transport\":\"%s\",\"pid\":%d,\"elapsedMs\":%.1f,\"bytes\":%" PRIu64 ",\"chunks\":%" PRIu64
          ",\"gaps\":%" PRIu64 ",\"reorders\":%" PRIu64 ",\"checksumErrors\":%" PRIu64 ",\"corrupt\":%" PRIu64 ",\"eos\":%s",
          type, transport_name(rd->kind), (int)getpid(), elapsed_ms, c->bytes, c->chunks, c->gaps, c->reorders,
          c->checksum_errors, c->corrupt, c->eos ? "true" : "false");
  if (strcmp(type, "ready") != 0) {
    json_hist(out, cap, &len, "handoff", &s->handoff);
    json_hist(out, cap, &len, "endToEnd", &s->e2e);
  }
  if (strcmp(type, "progress") != 0) {
    appendf(out, cap, &len, ",\"bucketBoundsUs\":[");
    for (size_t i = 0; i < SINK_HIST_BOUNDS; i++) appendf(out, cap, &len, "%s%g", i ? "," : "", kBoundsUs[i]);
    appendf(out, cap, &len, "]");
    if (rd->kind == IPCAST_MSG)
      appendf(out, cap, &len, ",\"kernel\":{\"msgmax\":%ld,\"msgmnb\":%ld,\"msgQbytes\":%ld}", rd->limits.msgmax,
              rd->limits.msgmnb, rd->qbytes);
    if (rd->kind == IPCAST_SHM)
      appendf(out, cap, &len, ",\"ring\":{\"slots\":%u,\"slotBytes\":%u}", rd->ring.slot_count, rd->ring.slot_bytes);
    if (rd->kind == IPCAST_PIPE) appendf(out, cap, &len, ",\"pipe\":{\"capacity\":%d}", rd->capacity);
  }
  if (s->has_decoder) json_decoder(out, cap, &len, s);
  if (strcmp(type, "final") == 0) json_final(out, cap, &len, s, exit_code);
  if (len + 2 >= cap) len = cap - 2;
  out[len++] = '}';
  out[len++] = '\n';
  if (sink_write_all(s->fd, (const uint8_t*)out, len, NULL) < 0) s->fd = -1;
}
