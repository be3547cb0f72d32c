// ipcast-baseline: the plain-C driver of the writer engine, the reference `ipcast bench`
// compares the addon (the same engine driven from Node) with.
//
//   ipcast-baseline memcpy [--seconds S] [--chunk N]
//       memcpy bandwidth: N-byte chunks (default 64 KiB) from a 64 MiB pseudo-random source
//       into a 4 MiB ring (the geometry of the default shm ring) for S seconds.
//   ipcast-baseline stream --chunk N --chunks K [--seed S]
//       writes chunks 0..K-1 of the bench stream (engine/prng.h) to stdout: the golden test
//       compares them with src/bench/stream.ts.
//   ipcast-baseline --transport pipe|shm|msg --chunk N --seconds S [--rate BITS_PER_S]
//                   [--batch N] [--spin-us N] [--sink PATH] [--seed N] [--pipe-bytes N]
//                   [--slots N] [--slot-bytes N] [--msg-bytes N]
//       Opens the transport with engine/writer.c, starts ipcast-sink on the other side (the
//       same program the Node path starts) and writes the same stream the way
//       src/bench/node-run.ts does: full speed, --batch chunks per ipcast_writer_write
//       (finished with ipcast_writer_finish when the transport stays full after the spin);
//       paced (--rate), every chunk due by now in one write, sleeping until the next is due.
//       The only difference from the Node run is the language that drives the engine.
//
// One JSON line on stdout at the end: {"transport","chunkBytes","mode","batch","spinUs","bytes",
// "chunks","seconds","bytesPerSecond","writerCpuSeconds","readerCpuSeconds","verified",
// "sinkExit","writer":{...stats},"info":{...},"sink":<the sink's final report>}
// Exit codes: engine/exit_codes.h (0 verified, 3 not verified, 1 runtime, 2 usage, 5 stopped).
// SIGINT/SIGTERM: the writer stops, removes its System V objects, ends the sink. Killed
// outright, the sink (PR_SET_PDEATHSIG, --parent) removes them.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "engine/exit_codes.h"
#include "engine/prng.h"
#include "engine/spawn.h"
#include "engine/writer.h"

#define MAX_CHUNK (16u * 1024u * 1024u)

static ipcast_writer w;
static volatile sig_atomic_t g_stop = 0;
// A stop or the sink's death ends a blocked write: the engine checks `closed` between waits.
static void on_stop(int sig) {
  (void)sig;
  g_stop = 1;
  __atomic_store_n(&w.closed, 1, __ATOMIC_RELEASE);
}
static void on_child(int sig) {
  (void)sig;
  __atomic_store_n(&w.closed, 1, __ATOMIC_RELEASE);
}

static void die_usage(const char* msg) {
  fprintf(stderr,
          "ipcast-baseline: %s\n"
          "usage: ipcast-baseline memcpy [--seconds S] [--chunk N]\n"
          "       ipcast-baseline stream --chunk N --chunks K [--seed S]\n"
          "       ipcast-baseline --transport pipe|shm|msg --chunk N --seconds S [--rate BPS] [--batch N]\n"
          "                       [--spin-us N] [--sink PATH] [--seed N] [--pipe-bytes N] [--slots N]\n"
          "                       [--slot-bytes N] [--msg-bytes N]\n",
          msg);
  exit(IPCAST_EXIT_USAGE);
}

static double num_arg(const char* name, const char* v, double lo, double hi) {
  char* end;
  if (!v) die_usage("missing value");
  double d = strtod(v, &end);
  if (*v == '\0' || *end != '\0' || !(d >= lo && d <= hi)) {
    fprintf(stderr, "ipcast-baseline: %s expects a number in [%g, %g], got '%s'\n", name, lo, hi, v);
    exit(IPCAST_EXIT_USAGE);
  }
  return d;
}

static double cpu_seconds(int who) {
  struct rusage ru;
  getrusage(who, &ru);
  return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
         (double)ru.ru_stime.tv_usec / 1e6;
}

static int run_memcpy(double seconds, size_t chunk) {
  size_t src_bytes = 64u * 1024u * 1024u, ring_bytes = 4u * 1024u * 1024u;
  if (chunk > ring_bytes) chunk = ring_bytes;
  uint8_t* src = malloc(src_bytes);
  uint8_t* dst = malloc(ring_bytes);
  if (!src || !dst) return IPCAST_EXIT_RUNTIME;
  ipcast_prng_fill(src, src_bytes, 1);
  memset(dst, 0, ring_bytes);
  uint64_t bytes = 0, t0 = ipcast_mono_ns(), end = t0 + (uint64_t)(seconds * 1e9), t;
  size_t s = 0, d = 0;
  do {
    for (int i = 0; i < 64; i++) {
      if (s + chunk > src_bytes) s = 0;
      if (d + chunk > ring_bytes) d = 0;
      memcpy(dst + d, src + s, chunk);
      __asm__ __volatile__("" : : "r"(dst) : "memory");
      s += chunk;
      d += chunk;
      bytes += chunk;
    }
    t = ipcast_mono_ns();
  } while (t < end);
  double secs = (double)(t - t0) / 1e9;
  printf("{\"memcpyBytesPerSecond\":%.0f,\"bytes\":%" PRIu64 ",\"seconds\":%.6f,\"chunkBytes\":%zu}\n", (double)bytes / secs,
         bytes, secs, chunk);
  free(src);
  free(dst);
  return IPCAST_EXIT_OK;
}

static uint8_t* make_pool(size_t chunk, uint32_t seed) {
  size_t bytes = chunk > IPCAST_STREAM_POOL_BYTES ? chunk : IPCAST_STREAM_POOL_BYTES;
  uint8_t* pool = malloc(bytes);
  if (pool) ipcast_prng_fill(pool, bytes, seed);
  return pool;
}

static int run_stream(size_t chunk, uint64_t count, uint32_t seed) {
  uint8_t* pool = make_pool(chunk, seed);
  if (!pool) return IPCAST_EXIT_RUNTIME;
  uint64_t per = ipcast_stream_pool_chunks(chunk);
  for (uint64_t i = 0; i < count; i++) {
    if (fwrite(pool + (i % per) * chunk, 1, chunk, stdout) != chunk) return IPCAST_EXIT_RUNTIME;
  }
  free(pool);
  return fflush(stdout) == 0 ? IPCAST_EXIT_OK : IPCAST_EXIT_RUNTIME;
}

// Reads one line from the sink's report pipe (bounded by the timeout). Length, or -errno.
static int read_line(int fd, char* buf, size_t cap, int timeout_ms) {
  size_t len = 0;
  uint64_t end = ipcast_mono_ns() + (uint64_t)timeout_ms * 1000000ull;
  while (len + 1 < cap) {
    struct pollfd pfd = {fd, POLLIN, 0};
    int left = (int)((int64_t)(end - ipcast_mono_ns()) / 1000000);
    if (left <= 0) return -ETIMEDOUT;
    int r = poll(&pfd, 1, left);
    if (r < 0 && errno == EINTR && g_stop) return -EINTR;
    if (r <= 0) continue;
    ssize_t k = read(fd, buf + len, 1);
    if (k == 0) break;
    if (k < 0) {
      if (errno == EINTR) continue;
      return -errno;
    }
    if (buf[len] == '\n') break;
    len++;
  }
  buf[len] = '\0';
  return (int)len;
}

static double json_num(const char* line, const char* key) {  // the number after "key":
  char pat[64];
  snprintf(pat, sizeof pat, "\"%s\":", key);
  const char* p = strstr(line, pat);
  return p ? strtod(p + strlen(pat), NULL) : -1;
}

// Writes chunks [first, first + n) of the stream (n = 0 with eos: the end-of-stream record).
static int write_chunks(const uint8_t* pool, size_t chunk, uint64_t per, uint64_t first, size_t n, int eos) {
  if (ipcast_writer_reserve(&w, n) < 0) return -ENOMEM;
  for (size_t k = 0; k < n; k++) {
    w.data[k] = pool + ((first + k) % per) * chunk;
    w.len[k] = chunk;
    w.sender_us[k] = 0;
  }
  int r = ipcast_writer_write(&w, n, eos);
  return r == -EAGAIN ? ipcast_writer_finish(&w) : r;
}

int main(int argc, char** argv) {
  if (argc >= 2 && (!strcmp(argv[1], "memcpy") || !strcmp(argv[1], "stream"))) {
    double seconds = 0.5, chunk = !strcmp(argv[1], "memcpy") ? 65536 : 0, chunks = 0, seed = 1;
    for (int i = 2; i < argc; i += 2) {
      const char* a = argv[i];
      const char* v = i + 1 < argc ? argv[i + 1] : NULL;
      if (!strcmp(a, "--seconds")) seconds = num_arg(a, v, 0.01, 3600);
      else if (!strcmp(a, "--chunk")) chunk = num_arg(a, v, 1, MAX_CHUNK);
      else if (!strcmp(a, "--chunks")) chunks = num_arg(a, v, 0, 1e9);
      else if (!strcmp(a, "--seed")) seed = num_arg(a, v, 0, 4294967295.0);
      else die_usage("unknown option");
    }
    if (!strcmp(argv[1], "memcpy")) return run_memcpy(seconds, (size_t)chunk);
    if (chunk < 1) die_usage("--chunk is required");
    return run_stream((size_t)chunk, (uint64_t)chunks, (uint32_t)seed);
  }

  const char* transport = NULL;
  const char* sink = NULL;
  ipcast_writer_options opt;
  ipcast_writer_default_options(&opt);
  double chunk_d = 0, seconds = 1, rate = 0, seed = 1, batch_d = 0;
  for (int i = 1; i < argc; i += 2) {
    const char* a = argv[i];
    const char* v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!v) die_usage("an option is missing its value");
    if (!strcmp(a, "--transport")) transport = v;
    else if (!strcmp(a, "--sink")) sink = v;
    else if (!strcmp(a, "--chunk")) chunk_d = num_arg(a, v, 1, MAX_CHUNK);
    else if (!strcmp(a, "--seconds")) seconds = num_arg(a, v, 0.01, 3600);
    else if (!strcmp(a, "--rate")) rate = num_arg(a, v, 1, 1e12);
    else if (!strcmp(a, "--batch")) batch_d = num_arg(a, v, 1, 65536);
    else if (!strcmp(a, "--spin-us")) opt.spin_us = (uint32_t)num_arg(a, v, 0, IPCAST_MAX_SPIN_US);
    else if (!strcmp(a, "--seed")) seed = num_arg(a, v, 0, 4294967295.0);
    else if (!strcmp(a, "--pipe-bytes")) opt.pipe_bytes = (int)num_arg(a, v, 4096, 1 << 30);
    else if (!strcmp(a, "--slots")) opt.slots = (uint32_t)num_arg(a, v, 1, IPCAST_RING_MAX_SLOTS);
    else if (!strcmp(a, "--slot-bytes")) opt.slot_bytes = (uint32_t)num_arg(a, v, IPCAST_RING_MIN_SLOT_BYTES, IPCAST_RING_MAX_SLOT_BYTES);
    else if (!strcmp(a, "--msg-bytes")) opt.msg_bytes = (size_t)num_arg(a, v, 64, IPCAST_MSG_MAX_BODY);
    else {
      fprintf(stderr, "ipcast-baseline: unknown option '%s'\n", a);
      die_usage("bad option");
    }
  }
  ipcast_kind kind;
  if (!transport) die_usage("--transport is required");
  if (!strcmp(transport, "pipe")) kind = IPCAST_PIPE;
  else if (!strcmp(transport, "shm")) kind = IPCAST_SHM;
  else if (!strcmp(transport, "msg")) kind = IPCAST_MSG;
  else die_usage("--transport must be pipe, shm or msg");
  if (chunk_d < 1) die_usage("--chunk is required");
  size_t chunk = (size_t)chunk_d, batch = rate > 0 ? 1 : (batch_d >= 1 ? (size_t)batch_d : 1);

  char sink_path[PATH_MAX];
  if (!sink) {  // beside this program
    ssize_t n = readlink("/proc/self/exe", sink_path, sizeof sink_path - 32);
    if (n < 0) die_usage("--sink is required (cannot read /proc/self/exe)");
    sink_path[n] = '\0';
    char* slash = strrchr(sink_path, '/');
    strcpy(slash ? slash + 1 : sink_path, "ipcast-sink");
    sink = sink_path;
  }
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_stop;  // no SA_RESTART: blocking calls return EINTR
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);

  uint64_t per = ipcast_stream_pool_chunks(chunk);
  uint8_t* pool = make_pool(chunk, (uint32_t)seed);
  if (!pool) return IPCAST_EXIT_RUNTIME;
  double cpu0 = cpu_seconds(RUSAGE_SELF);
  int r = ipcast_writer_open(&w, kind, &opt);
  if (r < 0) {
    fprintf(stderr, "ipcast-baseline: cannot create the %s transport: %s failed: %s\n", transport, w.last_op, strerror(-r));
    ipcast_writer_free(&w);
    return IPCAST_EXIT_RUNTIME;
  }
  char info[256];
  if (kind == IPCAST_PIPE) snprintf(info, sizeof info, "{\"capacity\":%d}", w.capacity);
  else if (kind == IPCAST_SHM) snprintf(info, sizeof info, "{\"slots\":%u,\"slotBytes\":%u}", w.ring.slot_count, w.ring.slot_bytes);
  else
    snprintf(info, sizeof info, "{\"msgmax\":%ld,\"msgmnb\":%ld,\"qbytes\":%ld,\"msgBody\":%zu}", w.limits.msgmax, w.limits.msgmnb,
             w.qbytes, w.body_max);

  // The reader: ipcast-sink, reports on fd 3 (a pipe back to us).
  int rep[2];
  char ids[2][32], parent[32];
  char* args[16];
  int na = 0;
  snprintf(parent, sizeof parent, "%d", (int)getpid());
  args[na++] = (char*)sink;
  if (kind == IPCAST_PIPE) {
    args[na++] = "--pipe";
  } else if (kind == IPCAST_SHM) {
    snprintf(ids[0], sizeof ids[0], "%d", w.ring.shm_id);
    snprintf(ids[1], sizeof ids[1], "%d", w.ring.sem_id);
    args[na++] = "--shm", args[na++] = ids[0], args[na++] = "--sem", args[na++] = ids[1];
  } else {
    snprintf(ids[0], sizeof ids[0], "%d", w.qid);
    args[na++] = "--msg", args[na++] = ids[0];
  }
  args[na++] = "--parent", args[na++] = parent, args[na++] = "--report-ms", args[na++] = "3600000";
  args[na] = NULL;
  if (pipe2(rep, O_CLOEXEC) < 0) {
    ipcast_writer_free(&w);
    return IPCAST_EXIT_RUNTIME;
  }
  sa.sa_handler = on_child;
  sigaction(SIGCHLD, &sa, NULL);
  ipcast_spawn_options so = {kind == IPCAST_PIPE ? w.fds[0] : -1, rep[1], 0};
  pid_t child = ipcast_spawn(args, &so);
  close(rep[1]);
  if (kind == IPCAST_PIPE) close(w.fds[0]);
  if (child < 0) {
    fprintf(stderr, "ipcast-baseline: fork failed: %s\n", strerror((int)-child));
    ipcast_writer_free(&w);
    return IPCAST_EXIT_RUNTIME;
  }

  char line[8192], final_line[8192] = "";
  int code = IPCAST_EXIT_OK, werr = 0;
  if (read_line(rep[0], line, sizeof line, 10000) <= 0 || !strstr(line, "\"ready\"")) {
    fprintf(stderr, "ipcast-baseline: %s did not report ready\n", sink);
    code = g_stop ? IPCAST_EXIT_STOPPED : IPCAST_EXIT_RUNTIME;
  }
  uint64_t chunks = 0, t0 = ipcast_mono_ns(), end = t0 + (uint64_t)(seconds * 1e9);
  double interval_ns = rate > 0 ? (double)chunk * 8.0 * 1e9 / rate : 0;
  uint64_t total = rate > 0 ? (uint64_t)((seconds * 1e9 + interval_ns - 1) / interval_ns) : 0;
  while (code == IPCAST_EXIT_OK && !werr) {
    uint64_t now = ipcast_mono_ns();
    size_t n = batch;
    if (rate > 0) {
      if (chunks >= total) break;
      uint64_t due = t0 + (uint64_t)((double)chunks * interval_ns);
      if (due > now) {
        struct timespec ts = {(time_t)(due / 1000000000ull), (long)(due % 1000000000ull)};
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
        continue;
      }
      uint64_t due_by_now = (uint64_t)((double)(now - t0) / interval_ns) + 1;  // everything due by now
      n = (size_t)((due_by_now < total ? due_by_now : total) - chunks);
    } else if (now >= end) {
      break;
    }
    werr = write_chunks(pool, chunk, per, chunks, n, 0);
    if (!werr) chunks += n;
  }
  if (code == IPCAST_EXIT_OK && !werr) werr = write_chunks(pool, chunk, per, chunks, 0, 1);
  if (werr) code = g_stop ? IPCAST_EXIT_STOPPED : IPCAST_EXIT_RUNTIME;
  if (werr && code == IPCAST_EXIT_RUNTIME)
    fprintf(stderr, "ipcast-baseline: %s failed: %s\n", w.last_op, strerror(-werr));
  ipcast_writer_release(&w);  // pipe: EOF after the EOS record
  if (code != IPCAST_EXIT_OK) {
    ipcast_writer_close(&w);
    kill(child, SIGTERM);
  }
  int status = 0;
  while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
    if (g_stop && code == IPCAST_EXIT_OK) {
      code = IPCAST_EXIT_STOPPED;
      ipcast_writer_close(&w);
      kill(child, SIGTERM);
    }
  }
  uint64_t t1 = ipcast_mono_ns();
  double writer_cpu = cpu_seconds(RUSAGE_SELF) - cpu0;
  ipcast_writer_stats ws;
  ipcast_writer_get_stats(&w, &ws);
  ipcast_writer_free(&w);
  while (read_line(rep[0], line, sizeof line, 2000) > 0) {  // the final report is the last line
    if (strstr(line, "\"final\"")) snprintf(final_line, sizeof final_line, "%s", line);
  }
  int sink_exit = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  double reader_cpu = final_line[0] ? json_num(final_line, "cpuSeconds") : -1;
  double sink_bytes = final_line[0] ? json_num(final_line, "bytes") : -1;
  double sink_chunks = final_line[0] ? json_num(final_line, "chunks") : -1;
  int verified = code == IPCAST_EXIT_OK && sink_exit == 0 && sink_bytes == (double)(chunks * chunk) && sink_chunks == (double)chunks;
  double secs = (double)(t1 - t0) / 1e9;
  printf("{\"transport\":\"%s\",\"chunkBytes\":%zu,\"mode\":\"%s\",\"batch\":%zu,\"spinUs\":%" PRIu64 ",\"bytes\":%" PRIu64
         ",\"chunks\":%" PRIu64 ",\"seconds\":%.6f,\"bytesPerSecond\":%.0f,\"writerCpuSeconds\":%.6f,\"readerCpuSeconds\":%.6f"
         ",\"verified\":%s,\"sinkExit\":%d,\"writer\":{\"waits\":%" PRIu64 ",\"waitNs\":%" PRIu64 ",\"spins\":%" PRIu64
         ",\"spinWins\":%" PRIu64 ",\"spinNs\":%" PRIu64 "},\"info\":%s,\"sink\":%s}\n",
         transport, chunk, rate > 0 ? "paced" : "max", batch, w.spin_ns / 1000, chunks * chunk, chunks, secs,
         (double)(chunks * chunk) / secs, writer_cpu, reader_cpu, verified ? "true" : "false", sink_exit, ws.waits, ws.wait_ns,
         ws.spins, ws.spin_wins, ws.spin_ns, info, final_line[0] ? final_line : "null");
  fflush(stdout);
  free(pool);
  if (code != IPCAST_EXIT_OK) return code;
  return verified ? IPCAST_EXIT_OK : IPCAST_EXIT_VERIFY;
}
