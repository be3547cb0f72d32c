// ipcast-sink: the program on the child's side of an IPC transport.
//
//   ipcast-sink --pipe                    framed records on stdin (a real pipe)
//   ipcast-sink --shm SHMID --sem SEMID   the shared-memory ring (shm_ring.c)
//   ipcast-sink --msg QID                 the message queue (msg_queue.h)
// options:
//   --stdout            write the payload to stdout (default: verify and discard)
//   --slow-us N         sleep N µs after every record (tests: a slow reader)
//   --parent PID        the writer's pid (default: getppid() at start)
//   --registry PATH     the writer's registry file, unlinked if the writer dies
//   --report-ms N       progress report period (default 250)
//   -- CMD ARGS...      fork/exec CMD and write the payload into its stdin (a pipe)
//
//   ipcast-sink --wrap --parent PID -- CMD ARGS...
//     the raw pipe transport's decoder: sets PR_SET_PDEATHSIG (SIGTERM) and execs CMD in place
//     (same pid, same fds), so a decoder that ignores EOF on stdin (a player window) does not
//     outlive a receiver that was SIGKILLed. Exits 6 if PID is already gone, 127 if CMD cannot run.
//
// It parses the record stream of ipc_record.h, checks every record's sequence number and
// CRC-32C, measures hand-off latency (CLOCK_MONOTONIC now - the writer's stamp) and
// end-to-end latency (CLOCK_REALTIME now - the sender's timestamp, when given), and
// reports JSON lines on fd 3 when fd 3 is open: {"type":"ready"}, {"type":"progress"}
// every --report-ms, {"type":"final"} once at the end (see docs/transports.md).
//
// Exit codes:
//   0  end-of-stream record seen, every record verified, decoder (if any) exited 0
//   1  runtime error (cannot attach, a system call failed)
//   2  usage error (bad command line)
//   3  data verification failed: sequence gaps, checksum errors, or a malformed record
//      (bad magic/length/flags, a slot or message larger than allowed, data after EOS)
//   4  the decoder failed: exited non-zero, was killed, could not be run, or closed its
//      stdin early (EPIPE)
//   5  stopped before end of stream: EOF on the pipe without EOS, the writer removed the
//      semaphore array or queue, or SIGTERM/SIGINT while the writer is alive
//   6  the writer (parent) died: the sink removed the System V objects and the registry file
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/shm.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "crc32c.h"
#include "engine/record.h"
#include "engine/msg_queue.h"
#include "engine/sem.h"
#include "engine/shm_ring.h"

enum { EXIT_OK = 0, EXIT_RUNTIME = 1, EXIT_USAGE = 2, EXIT_VERIFY = 3, EXIT_DECODER = 4, EXIT_NO_EOS = 5, EXIT_PARENT_DIED = 6 };
enum { MODE_NONE, MODE_PIPE, MODE_SHM, MODE_MSG, MODE_WRAP };
static const char* mode_name[] = {"none", "pipe", "shm", "msg", "wrap"};

static volatile sig_atomic_t g_term = 0, g_tick = 0;
static void on_term(int sig) { (void)sig; g_term = 1; }
static void on_alarm(int sig) { (void)sig; g_tick = 1; }

// ---------------------------------------------------------------- options
static struct {
  int mode;
  int shm_id, sem_id, msg_id;
  int to_stdout;
  long slow_us;
  pid_t parent;
  const char* registry;
  long report_ms;
  char** decoder;
} opt = {MODE_NONE, -1, -1, -1, 0, 0, 0, NULL, 250, NULL};

// ---------------------------------------------------------------- histograms
static const double kBoundsUs[] = {10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000};
#define NBOUNDS (sizeof kBoundsUs / sizeof kBoundsUs[0])
#define FINE 512

typedef struct {
  uint64_t count;
  double sum_us, max_us;
  uint64_t buckets[NBOUNDS + 1]; /* non-cumulative here; reported cumulative */
  uint64_t fine[FINE];           /* log2 with 8 sub-buckets over ns, for percentiles */
} hist;

static int fine_index(uint64_t ns) {
  if (ns < 8) return (int)ns;
  int e = 63 - __builtin_clzll(ns);
  int idx = (e - 2) * 8 + (int)((ns >> (e - 3)) & 7);
  return idx < FINE ? idx : FINE - 1;
}
static double fine_mid_ns(int idx) {
  if (idx < 8) return idx;
  int e = idx / 8 + 2, sub = idx % 8;
  double lo = (double)(1ull << e) + (double)sub * (double)(1ull << (e - 3));
  return lo + (double)(1ull << (e - 3)) / 2.0;
}
static void hist_add(hist* h, uint64_t ns) {
  double us = (double)ns / 1000.0;
  h->count++;
  h->sum_us += us;
  if (us > h->max_us) h->max_us = us;
  size_t b = 0;
  while (b < NBOUNDS && us > kBoundsUs[b]) b++;
  h->buckets[b]++;
  h->fine[fine_index(ns)]++;
}
static double hist_pct(const hist* h, double q) {
  if (h->count == 0) return 0;
  uint64_t want = (uint64_t)(q * (double)h->count + 0.5), acc = 0;
  if (want < 1) want = 1;
  for (int i = 0; i < FINE; i++) {
    acc += h->fine[i];
    if (acc >= want) return fine_mid_ns(i) / 1000.0;
  }
  return h->max_us;
}

// ---------------------------------------------------------------- state
static struct {
  uint64_t bytes, chunks, records, gaps, reorders, checksum_errors, corrupt;
  int eos;
  uint64_t next_seq;
  hist handoff, e2e;
  const char* error;
  char error_buf[256];
  uint64_t start_ns;
  long msgmax, msgmnb, qbytes;
  uint32_t slots, slot_bytes;
  int pipe_capacity;
  pid_t decoder_pid;
  int decoder_status; /* -1 until reaped */
  uint64_t epipe;
  int out_fd;
  int report_fd;
} st;

static uint64_t now_ns(clockid_t c) {
  struct timespec ts;
  clock_gettime(c, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void set_error(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(st.error_buf, sizeof st.error_buf, fmt, ap);
  va_end(ap);
  st.error = st.error_buf;
}

// ---------------------------------------------------------------- output
static int parent_gone(void);
static int check_flags(void);

// Writes all of p; retries EINTR/EAGAIN. 0, or -errno (EPIPE when the reader closed). With
// `interruptible`, a SIGTERM or the writer's death ends the wait with -EINTR: a decoder that
// stopped reading must not keep the sink (and the System V objects) alive.
static int write_all(int fd, const uint8_t* p, size_t n, int interruptible) {
  while (n > 0) {
    ssize_t r = write(fd, p, n);
    if (r > 0) {
      p += r;
      n -= (size_t)r;
      continue;
    }
    if (r < 0 && (errno == EINTR || errno == EAGAIN)) {
      if (interruptible && (g_term || parent_gone())) return -EINTR;
      if (errno == EAGAIN) {
        struct pollfd pfd = {fd, POLLOUT, 0};
        poll(&pfd, 1, 100);
      }
      continue;
    }
    return r < 0 ? -errno : -EIO;
  }
  return 0;
}

// ---------------------------------------------------------------- report
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

static void json_hist(char* out, size_t cap, size_t* len, const char* name, const hist* h) {
  *len += (size_t)snprintf(out + *len, cap - *len,
                           ",\"%s\":{\"count\":%" PRIu64 ",\"sumUs\":%.3f,\"p50Us\":%.3f,\"p99Us\":%.3f,\"maxUs\":%.3f,\"buckets\":[",
                           name, h->count, h->sum_us, hist_pct(h, 0.5), hist_pct(h, 0.99), h->max_us);
  uint64_t acc = 0;
  for (size_t i = 0; i <= NBOUNDS && *len < cap; i++) {
    acc += h->buckets[i];
    appendf(out, cap, len, "%s%" PRIu64, i ? "," : "", acc);
  }
  appendf(out, cap, len, "]}");
}

static void report(const char* type, int exit_code) {
  if (st.report_fd < 0) return;
  char out[4096];
  size_t len = 0, cap = sizeof out;
  double elapsed_ms = (double)(now_ns(CLOCK_MONOTONIC) - st.start_ns) / 1e6;
  len += (size_t)snprintf(out + len, cap - len,
                          "{\"type\":\"%s\",\"transport\":\"%s\",\"pid\":%d,\"elapsedMs\":%.1f,\"bytes\":%" PRIu64
                          ",\"chunks\":%" PRIu64 ",\"gaps\":%" PRIu64 ",\"reorders\":%" PRIu64 ",\"checksumErrors\":%" PRIu64
                          ",\"corrupt\":%" PRIu64 ",\"eos\":%s",
                          type, mode_name[opt.mode], (int)getpid(), elapsed_ms, st.bytes, st.chunks, st.gaps, st.reorders,
                          st.checksum_errors, st.corrupt, st.eos ? "true" : "false");
  if (strcmp(type, "ready") != 0) {
    json_hist(out, cap, &len, "handoff", &st.handoff);
    json_hist(out, cap, &len, "endToEnd", &st.e2e);
  }
  if (strcmp(type, "progress") != 0) {
    appendf(out, cap, &len, ",\"bucketBoundsUs\":[");
    for (size_t i = 0; i < NBOUNDS; i++) appendf(out, cap, &len, "%s%g", i ? "," : "", kBoundsUs[i]);
    appendf(out, cap, &len, "]");
    if (opt.mode == MODE_MSG)
      appendf(out, cap, &len, ",\"kernel\":{\"msgmax\":%ld,\"msgmnb\":%ld,\"msgQbytes\":%ld}", st.msgmax,
                              st.msgmnb, st.qbytes);
    if (opt.mode == MODE_SHM)
      appendf(out, cap, &len, ",\"ring\":{\"slots\":%u,\"slotBytes\":%u}", st.slots, st.slot_bytes);
    if (opt.mode == MODE_PIPE) appendf(out, cap, &len, ",\"pipe\":{\"capacity\":%d}", st.pipe_capacity);
  }
  if (opt.decoder) {
    int s = st.decoder_status;
    appendf(out, cap, &len, ",\"decoder\":{\"pid\":%d,\"exitCode\":", (int)st.decoder_pid);
    if (s >= 0 && WIFEXITED(s)) appendf(out, cap, &len, "%d", WEXITSTATUS(s));
    else appendf(out, cap, &len, "null");
    if (s >= 0 && WIFSIGNALED(s)) appendf(out, cap, &len, ",\"signal\":%d", WTERMSIG(s));
    else appendf(out, cap, &len, ",\"signal\":null");
    appendf(out, cap, &len, ",\"epipe\":%" PRIu64 "}", st.epipe);
  }
  if (strcmp(type, "final") == 0) {
    struct rusage ru;  // the reader's own CPU time (user + system), for the bench's CPU per byte
    getrusage(RUSAGE_SELF, &ru);
    appendf(out, cap, &len, ",\"cpuSeconds\":%.6f", (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
                                                          (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6);
    appendf(out, cap, &len, ",\"exitCode\":%d", exit_code);
    if (st.error) {
      appendf(out, cap, &len, ",\"error\":\"");
      for (const char* c = st.error; *c && len + 8 < cap; c++) {
        if (*c == '"' || *c == '\\') out[len++] = '\\';
        out[len++] = (*c >= 0x20) ? *c : ' ';
      }
      appendf(out, cap, &len, "\"");
    }
  }
  if (len + 2 >= cap) len = cap - 2;
  out[len++] = '}';
  out[len++] = '\n';
  if (write_all(st.report_fd, (const uint8_t*)out, len, 0) < 0) st.report_fd = -1;
}

// ---------------------------------------------------------------- parser
static struct {
  uint8_t hdr[IPCAST_RECORD_HEADER];
  size_t hdr_fill;
  int in_payload;
  ipcast_record rec;
  uint32_t remaining;
  uint32_t crc;
} ps;

static int output(const uint8_t* p, size_t n) {
  if (st.out_fd < 0 || n == 0) return 0;
  int r = write_all(st.out_fd, p, n, 1);
  if (r == -EINTR) {
    int code = check_flags();
    return code ? code : EXIT_NO_EOS;
  }
  if (r == -EPIPE) {
    st.epipe++;
    set_error("the decoder closed its stdin early (EPIPE)");
    return EXIT_DECODER;
  }
  if (r < 0) {
    set_error("write to the %s failed: %s", opt.decoder ? "decoder" : "output", strerror(-r));
    return opt.decoder ? EXIT_DECODER : EXIT_RUNTIME;
  }
  return 0;
}

static void finish_record(void) {
  ipcast_record* r = &ps.rec;
  if (ps.crc != r->crc) st.checksum_errors++;
  if (r->sequence > st.next_seq) st.gaps += r->sequence - st.next_seq;
  if (r->sequence < st.next_seq) st.reorders++;
  else st.next_seq = r->sequence + 1;
  st.records++;
  if (r->flags & IPCAST_RECORD_FLAG_EOS) {
    st.eos = 1;
  } else {
    st.chunks++;
    uint64_t mono = now_ns(CLOCK_MONOTONIC);
    if (r->handoff_ns > 0 && mono >= r->handoff_ns) hist_add(&st.handoff, mono - r->handoff_ns);
    if (r->sender_us > 0) {
      uint64_t real_us = now_ns(CLOCK_REALTIME) / 1000u;
      if (real_us >= r->sender_us) hist_add(&st.e2e, (real_us - r->sender_us) * 1000u);
    }
  }
  if (opt.slow_us > 0) {
    struct timespec ts = {opt.slow_us / 1000000, (opt.slow_us % 1000000) * 1000};
    nanosleep(&ts, NULL);
  }
}

// Feeds stream bytes. Returns 0, or an exit code (EXIT_VERIFY for a malformed record,
// EXIT_DECODER/EXIT_RUNTIME when the output failed).
static int feed(const uint8_t* p, size_t n) {
  while (n > 0) {
    if (st.eos) {
      st.corrupt++;
      set_error("%zu bytes after the end-of-stream record", n);
      return EXIT_VERIFY;
    }
    if (!ps.in_payload) {
      size_t take = IPCAST_RECORD_HEADER - ps.hdr_fill;
      if (take > n) take = n;
      memcpy(ps.hdr + ps.hdr_fill, p, take);
      ps.hdr_fill += take;
      p += take;
      n -= take;
      if (ps.hdr_fill < IPCAST_RECORD_HEADER) break;
      ps.hdr_fill = 0;
      int r = ipcast_record_decode(ps.hdr, &ps.rec);
      if (r != IPCAST_RECORD_OK) {
        st.corrupt++;
        set_error("malformed record after %" PRIu64 " records: %s", st.records, ipcast_record_reason(r));
        return EXIT_VERIFY;
      }
      ps.in_payload = 1;
      ps.remaining = ps.rec.length;
      ps.crc = 0;
    }
    size_t take = ps.remaining < n ? ps.remaining : n;
    if (take > 0) {
      ps.crc = ipcast_crc32c(ps.crc, p, take);
      st.bytes += take;
      int r = output(p, take);
      if (r) return r;
      p += take;
      n -= take;
      ps.remaining -= (uint32_t)take;
    }
    if (ps.remaining == 0) {
      ps.in_payload = 0;
      finish_record();
    }
  }
  return 0;
}

// ---------------------------------------------------------------- lifecycle
static int parent_gone(void) { return getppid() != opt.parent; }

static void remove_objects(void) {
  if (opt.mode == MODE_SHM) {
    if (opt.sem_id >= 0) ipcast_sem_remove(opt.sem_id);
    if (opt.shm_id >= 0) shmctl(opt.shm_id, IPC_RMID, NULL);
  } else if (opt.mode == MODE_MSG) {
    if (opt.msg_id >= 0) ipcast_msg_remove(opt.msg_id);
  }
  if (opt.registry) unlink(opt.registry);
}

// Whether the System V objects we read from still exist (pipe mode: none to clean up).
static int objects_exist(void) {
  if (opt.mode == MODE_SHM) return ipcast_sem_get(opt.sem_id, IPCAST_SEM_FREE) >= 0;
  if (opt.mode == MODE_MSG) return ipcast_msg_qbytes(opt.msg_id) >= 0;
  return 0;
}

// Called when a wait is interrupted or times out. Returns 0 to go on, or an exit code.
static int check_flags(void) {
  if (g_tick) {
    g_tick = 0;
    report("progress", 0);
  }
  if (parent_gone()) {
    remove_objects();
    set_error("the writer (pid %d) died; removed the transport's objects", (int)opt.parent);
    return EXIT_PARENT_DIED;
  }
  if (g_term) {
    // SIGTERM with the writer apparently alive: either its close() (which removes the
    // objects first) or PR_SET_PDEATHSIG fired because the writer's forking *thread* exited
    // while the rest of its thread group is still dying (getppid() unchanged for a moment).
    // Tell them apart: objects gone = closed; else wait up to 1 s for the writer to vanish.
    for (int i = 0; i < 100 && objects_exist(); i++) {
      if (parent_gone()) {
        remove_objects();
        set_error("the writer (pid %d) died; removed the transport's objects", (int)opt.parent);
        return EXIT_PARENT_DIED;
      }
      struct timespec ts = {0, 10 * 1000000L};
      nanosleep(&ts, NULL);
    }
    set_error("terminated by a signal before end of stream");
    return EXIT_NO_EOS;
  }
  return 0;
}

static int start_decoder(void) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) < 0) {
    set_error("pipe2 for the decoder failed: %s", strerror(errno));
    return EXIT_RUNTIME;
  }
  pid_t pid = fork();
  if (pid < 0) {
    set_error("fork failed: %s", strerror(errno));
    return EXIT_RUNTIME;
  }
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    signal(SIGPIPE, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    if (dup2(fds[0], 0) < 0) _exit(127);
    execvp(opt.decoder[0], opt.decoder);
    fprintf(stderr, "ipcast-sink: cannot run %s: %s\n", opt.decoder[0], strerror(errno));
    _exit(127);
  }
  close(fds[0]);
  st.decoder_pid = pid;
  st.out_fd = fds[1];
  return 0;
}

// Closes the decoder's stdin and reaps it. Returns 0 or EXIT_DECODER.
static int stop_decoder(int abort_it) {
  if (st.decoder_pid <= 0) return 0;
  if (st.out_fd >= 0) close(st.out_fd);
  st.out_fd = -1;
  if (abort_it) kill(st.decoder_pid, SIGTERM);
  int status;
  for (;;) {
    pid_t r = waitpid(st.decoder_pid, &status, 0);
    if (r == st.decoder_pid) break;
    if (r < 0 && errno != EINTR) return EXIT_DECODER;
    if (g_tick) {
      g_tick = 0;
      report("progress", 0);
    }
    if ((g_term || parent_gone()) && !abort_it) {
      abort_it = 1;
      kill(st.decoder_pid, SIGTERM);
    }
  }
  st.decoder_status = status;
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return 0;
  if (!st.error) {
    if (WIFEXITED(status)) set_error("the decoder %s exited with code %d", opt.decoder[0], WEXITSTATUS(status));
    else set_error("the decoder %s was killed by signal %d", opt.decoder[0], WTERMSIG(status));
  }
  return EXIT_DECODER;
}

// ---------------------------------------------------------------- readers
static int run_pipe(void) {
  st.pipe_capacity = fcntl(0, F_GETPIPE_SZ);
  report("ready", 0);
  size_t cap = 1u << 20;
  uint8_t* buf = malloc(cap);
  if (!buf) return EXIT_RUNTIME;
  int code = 0;
  for (;;) {
    ssize_t n = read(0, buf, cap);
    if (n > 0) {
      if ((code = feed(buf, (size_t)n)) != 0) break;
      if (st.eos) break;
      if (g_tick || g_term) {
        if ((code = check_flags()) != 0) break;
      }
      continue;
    }
    if (n == 0) {
      if (parent_gone()) {
        set_error("the writer (pid %d) died", (int)opt.parent);
        code = EXIT_PARENT_DIED;
      } else if (!st.eos) {
        set_error("end of input without an end-of-stream record");
        code = EXIT_NO_EOS;
      }
      break;
    }
    if (errno == EINTR) {
      if ((code = check_flags()) != 0) break;
      continue;
    }
    set_error("read from stdin failed: %s", strerror(errno));
    code = EXIT_RUNTIME;
    break;
  }
  free(buf);
  return code;
}

static int run_shm(void) {
  ipcast_ring ring;
  int r = ipcast_ring_attach(&ring, opt.shm_id, opt.sem_id);
  if (r < 0) {
    if (parent_gone()) {
      remove_objects();
      set_error("the writer (pid %d) died before the sink attached", (int)opt.parent);
      return EXIT_PARENT_DIED;
    }
    set_error("cannot attach shm %d / sem %d: %s", opt.shm_id, opt.sem_id,
              r == -EPROTO ? "not an ipcast ring (bad header)" : strerror(-r));
    return EXIT_RUNTIME;
  }
  ipcast_ring_header* h = ipcast_ring_hdr(&ring);
  __atomic_store_n(&h->reader_pid, (int32_t)getpid(), __ATOMIC_RELAXED);
  shmctl(opt.shm_id, IPC_RMID, NULL);  // both sides attached: the kernel frees it after the last detach
  ipcast_sem_op(opt.sem_id, IPCAST_SEM_ATTACHED, 1, -1);
  st.slots = ring.slot_count;
  st.slot_bytes = ring.slot_bytes;
  report("ready", 0);
  uint64_t pos = 0;
  int code = 0;
  for (;;) {
    r = ipcast_sem_op(opt.sem_id, IPCAST_SEM_FILLED, -1, 100);
    if (r == 0) {
      ipcast_ring_slot* s = ipcast_ring_slot_at(&ring, pos);
      uint32_t used = __atomic_load_n(&s->used, __ATOMIC_ACQUIRE);
      if (used > ring.slot_bytes) {
        st.corrupt++;
        set_error("slot %" PRIu64 " claims %u bytes, more than the slot size %u", pos, used, ring.slot_bytes);
        code = EXIT_VERIFY;
        break;
      }
      code = feed(ipcast_ring_slot_data(s), used);
      pos++;
      __atomic_store_n(&h->read_pos, pos, __ATOMIC_RELAXED);
      ipcast_sem_op(opt.sem_id, IPCAST_SEM_FREE, 1, -1);
      if (code || st.eos) break;
      if (g_tick || g_term) {
        if ((code = check_flags()) != 0) break;
      }
      continue;
    }
    if (r == -EAGAIN || r == -EINTR) {
      if ((code = check_flags()) != 0) break;
      continue;
    }
    if (r == -EIDRM || r == -EINVAL) {
      if (parent_gone()) {
        code = check_flags();
      } else {
        set_error("the writer closed the transport before end of stream");
        code = EXIT_NO_EOS;
      }
      break;
    }
    set_error("semtimedop failed: %s", strerror(-r));
    code = EXIT_RUNTIME;
    break;
  }
  ipcast_ring_detach(&ring);
  return code;
}

static int run_msg(void) {
  ipcast_msg_limits lim;
  ipcast_msg_read_limits(&lim);
  st.msgmax = lim.msgmax;
  st.msgmnb = lim.msgmnb;
  st.qbytes = ipcast_msg_qbytes(opt.msg_id);
  if (st.qbytes < 0) {
    if (parent_gone()) {
      remove_objects();
      set_error("the writer (pid %d) died before the sink started", (int)opt.parent);
      return EXIT_PARENT_DIED;
    }
    set_error("cannot stat message queue %d: %s", opt.msg_id, strerror((int)-st.qbytes));
    return EXIT_RUNTIME;
  }
  size_t body = ipcast_msg_body_bytes(&lim, 0, 0);
  uint8_t* buf = malloc(sizeof(long) + body);
  if (!buf) return EXIT_RUNTIME;
  report("ready", 0);
  int code = 0;
  for (;;) {
    ssize_t n = msgrcv(opt.msg_id, buf, body, 0, 0);  // SIGALRM interrupts it every --report-ms
    if (n >= 0) {
      long mtype;
      memcpy(&mtype, buf, sizeof mtype);
      if (mtype != IPCAST_MTYPE_DATA && mtype != IPCAST_MTYPE_EOS) {
        st.corrupt++;
        set_error("message of unknown type %ld", mtype);
        code = EXIT_VERIFY;
        break;
      }
      if ((code = feed(buf + sizeof(long), (size_t)n)) != 0) break;
      if (mtype == IPCAST_MTYPE_EOS && !st.eos) {
        st.corrupt++;
        set_error("end-of-stream message without an end-of-stream record");
        code = EXIT_VERIFY;
        break;
      }
      if (st.eos) break;
      if (g_tick || g_term) {
        if ((code = check_flags()) != 0) break;
      }
      continue;
    }
    if (errno == EINTR) {
      if ((code = check_flags()) != 0) break;
      continue;
    }
    if (errno == E2BIG) {
      st.corrupt++;
      set_error("a message larger than msgmax (%zu bytes)", body);
      code = EXIT_VERIFY;
      break;
    }
    if (errno == EIDRM || errno == EINVAL) {
      if (parent_gone()) {
        code = check_flags();
      } else {
        set_error("the writer closed the transport before end of stream");
        code = EXIT_NO_EOS;
      }
      break;
    }
    set_error("msgrcv failed: %s", strerror(errno));
    code = EXIT_RUNTIME;
    break;
  }
  free(buf);
  return code;
}

// ---------------------------------------------------------------- main
static int usage(const char* msg) {
  fprintf(stderr,
          "ipcast-sink: %s\n"
          "usage: ipcast-sink (--pipe | --shm SHMID --sem SEMID | --msg QID) [--stdout] [--slow-us N]\n"
          "                   [--parent PID] [--registry PATH] [--report-ms N] [-- CMD ARGS...]\n",
          msg);
  return EXIT_USAGE;
}

static int parse_int(const char* s, long lo, long hi, long* out) {
  char* end;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (errno || *s == '\0' || *end != '\0' || v < lo || v > hi) return -1;
  *out = v;
  return 0;
}

int main(int argc, char** argv) {
  st.start_ns = now_ns(CLOCK_MONOTONIC);
  st.out_fd = -1;
  st.decoder_status = -1;
  opt.parent = getppid();
  for (int i = 1; i < argc; i++) {
    const char* a = argv[i];
    long v;
    const char* val = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--")) {
      if (i + 1 >= argc) return usage("-- needs a command");
      opt.decoder = argv + i + 1;
      break;
    } else if (!strcmp(a, "--pipe")) {
      opt.mode = MODE_PIPE;
    } else if (!strcmp(a, "--wrap")) {
      opt.mode = MODE_WRAP;
    } else if (!strcmp(a, "--stdout")) {
      opt.to_stdout = 1;
    } else if (!strcmp(a, "--shm") || !strcmp(a, "--sem") || !strcmp(a, "--msg") || !strcmp(a, "--slow-us") ||
               !strcmp(a, "--parent") || !strcmp(a, "--report-ms")) {
      if (!val || parse_int(val, 0, 0x7fffffff, &v) < 0) {
        fprintf(stderr, "ipcast-sink: %s expects a non-negative integer, got '%s'\n", a, val ? val : "");
        return usage("bad value");
      }
      i++;
      if (!strcmp(a, "--shm")) opt.shm_id = (int)v, opt.mode = MODE_SHM;
      else if (!strcmp(a, "--sem")) opt.sem_id = (int)v;
      else if (!strcmp(a, "--msg")) opt.msg_id = (int)v, opt.mode = MODE_MSG;
      else if (!strcmp(a, "--slow-us")) opt.slow_us = v;
      else if (!strcmp(a, "--parent")) opt.parent = (pid_t)v;
      else opt.report_ms = v < 10 ? 10 : v;
    } else if (!strcmp(a, "--registry")) {
      if (!val) return usage("--registry needs a path");
      opt.registry = val;
      i++;
    } else {
      fprintf(stderr, "ipcast-sink: unknown option '%s'\n", a);
      return usage("bad option");
    }
  }
  if (opt.mode == MODE_NONE) return usage("one of --pipe, --shm, --msg is required");
  if (opt.mode == MODE_WRAP) {
    // Before any signal disposition is changed here: the decoder inherits ignored signals.
    if (!opt.decoder) return usage("--wrap needs -- CMD");
    prctl(PR_SET_PDEATHSIG, SIGTERM);  // kept across execve (not for set-uid programs)
    if (getppid() != opt.parent) return EXIT_PARENT_DIED;  // the writer died before prctl took effect
    execvp(opt.decoder[0], opt.decoder);
    fprintf(stderr, "ipcast-sink: cannot run %s: %s\n", opt.decoder[0], strerror(errno));
    return 127;
  }
  if (opt.mode == MODE_SHM && opt.sem_id < 0) return usage("--shm needs --sem");
  if (opt.to_stdout && opt.decoder) return usage("--stdout and -- CMD exclude each other");

  // Reports go to fd 3 when the parent gave us one; the decoder must not inherit it.
  st.report_fd = fcntl(3, F_GETFD) >= 0 ? 3 : -1;
  if (st.report_fd >= 0) fcntl(3, F_SETFD, FD_CLOEXEC);

  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_term;  // no SA_RESTART: blocking calls return EINTR
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  sa.sa_handler = on_alarm;
  sigaction(SIGALRM, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);
  prctl(PR_SET_PDEATHSIG, SIGTERM);

  int code = 0;
  if (parent_gone()) {  // the writer died before prctl took effect
    remove_objects();
    set_error("the writer (pid %d) died before the sink started", (int)opt.parent);
    code = EXIT_PARENT_DIED;
  }
  if (!code && opt.decoder) code = start_decoder();
  if (!code && opt.to_stdout) st.out_fd = 1;
  if (!code) {
    struct itimerval it = {{opt.report_ms / 1000, (opt.report_ms % 1000) * 1000}, {opt.report_ms / 1000, (opt.report_ms % 1000) * 1000}};
    setitimer(ITIMER_REAL, &it, NULL);
    if (opt.mode == MODE_PIPE) code = run_pipe();
    else if (opt.mode == MODE_SHM) code = run_shm();
    else code = run_msg();
    if (!code && (st.gaps || st.checksum_errors || st.reorders)) {
      set_error("verification failed: %" PRIu64 " gaps, %" PRIu64 " reorders, %" PRIu64 " checksum errors", st.gaps, st.reorders,
                st.checksum_errors);
      code = EXIT_VERIFY;
    }
  }
  int dcode = stop_decoder(code != 0);
  if (!code && dcode) code = dcode;
  struct itimerval off = {{0, 0}, {0, 0}};
  setitimer(ITIMER_REAL, &off, NULL);
  report("final", code);
  if (code && st.error) fprintf(stderr, "ipcast-sink: %s\n", st.error);
  return code;
}
