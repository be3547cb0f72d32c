// ipcast-sink: the program on the child's side of an IPC transport.
//
//   ipcast-sink (--pipe | --shm SHMID --sem SEMID | --msg QID) [options] [-- CMD ARGS...]
//     reads framed records from stdin (a real pipe), the shared-memory ring (engine/shm_ring.c)
//     or the message queue (engine/msg_queue.h), verifies them, and discards the payload
//     (default), writes it to stdout (--stdout) or into the stdin of CMD (fork/exec, a pipe).
//     --slow-us N      sleep N µs after every record (tests: a slow reader)
//     --parent PID     the writer's pid (default: getppid() at start)
//     --registry PATH  the writer's registry file, unlinked if the writer dies
//     --report-ms N    progress report period (default 250)
//   ipcast-sink --wrap --parent PID -- CMD ARGS...
//     the raw pipe transport's decoder: sets PR_SET_PDEATHSIG (SIGTERM) and execs CMD in place
//     (same pid, same fds), so a decoder that ignores EOF on stdin (a player window) does not
//     outlive a receiver that was SIGKILLed. Exits 6 if PID is already gone, 127 if CMD cannot run.
//
// The files: engine/reader.c takes the record stream (engine/record.h) out of the transport and
// verifies it; sink_report.c measures hand-off and end-to-end latency and writes JSON lines on
// fd 3 when it is open (ready, progress every --report-ms, final; docs/transports.md). This
// file: options, signals, the writer's death, the decoder, main.
//
// Exit codes: IPCAST_EXIT_* of engine/exit_codes.h, the one table of the engine's programs
// (src/transport/report.ts SINK_EXIT mirrors it). What they mean here:
//   0 OK           end of stream (the EOS record; on a pipe, then EOF), all verified, decoder exited 0
//   1 RUNTIME      cannot attach, a system call failed              2 USAGE  bad command line
//   3 VERIFY       gaps, reorders, checksum errors, or a malformed record (bad magic/length/flags,
//                  a slot or message larger than allowed, an unknown message type, data after EOS)
//   4 DECODER      the decoder exited non-zero, was killed, could not be run, or closed its stdin
//   5 STOPPED      before end of stream: EOF without EOS, the writer removed the semaphores or
//                  the queue, or SIGTERM/SIGINT while the writer lives
//   6 PARENT_DIED  the writer died: the sink removed the System V objects and the registry file
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "engine/exit_codes.h"
#include "engine/msg_queue.h"
#include "engine/reader.h"
#include "engine/sem.h"
#include "engine/shm_ring.h"
#include "engine/spawn.h"
#include "sink_report.h"

/* How long a decoder that is being stopped has after SIGTERM before it gets SIGKILL. */
#define DECODER_GRACE_MS 2000

enum { MODE_PIPE = IPCAST_PIPE, MODE_SHM = IPCAST_SHM, MODE_MSG = IPCAST_MSG, MODE_NONE, MODE_WRAP };

static volatile sig_atomic_t g_term = 0, g_tick = 0;
static void on_term(int sig) { (void)sig; g_term = 1; }
static void on_alarm(int sig) { (void)sig; g_tick = 1; }
static void on_child(int sig) { (void)sig; }

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

// ---------------------------------------------------------------- state
static ipcast_reader rd;  // the transport, the parser and its counters
static sink_report rep;   // latencies, decoder facts, the error; the report fd
static int out_fd = -1;   // the decoder's stdin, stdout (--stdout), or -1: discard
static char error_buf[256];

__attribute__((format(printf, 1, 2))) static void set_error(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(error_buf, sizeof error_buf, fmt, ap);
  va_end(ap);
  rep.error = error_buf;
}

static void report(const char* type, int exit_code) { sink_report_line(&rep, &rd, type, exit_code); }
static void report_progress_if_due(void) {
  if (g_tick) g_tick = 0, report("progress", 0);
}

// ---------------------------------------------------------------- lifecycle
static int parent_gone(void) { return getppid() != opt.parent; }
static int stop_requested(void) { return g_term || parent_gone(); }

static void remove_objects(void) {
  static int removed = 0;  // once: an id freed here may be reused by someone else's object
  if (removed) return;
  removed = 1;
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

static int writer_died(void) {
  remove_objects();
  set_error("the writer (pid %d) died; removed the transport's objects", (int)opt.parent);
  return IPCAST_EXIT_PARENT_DIED;
}

// Called when a wait is interrupted or times out. Returns 0 to go on, or an exit code.
static int check_flags(void) {
  report_progress_if_due();
  if (parent_gone()) return writer_died();
  if (g_term) {
    // SIGTERM with the writer apparently alive: either its close() (which removes the
    // objects first) or PR_SET_PDEATHSIG fired because the writer's forking *thread* exited
    // while the rest of its thread group is still dying (getppid() unchanged for a moment).
    // Tell them apart: objects gone = closed; else wait up to 1 s for the writer to vanish.
    for (int i = 0; i < 100 && objects_exist(); i++) {
      if (parent_gone()) return writer_died();
      struct timespec ts = {0, 10 * 1000000L};
      nanosleep(&ts, NULL);
    }
    set_error("terminated by a signal before end of stream");
    return IPCAST_EXIT_STOPPED;
  }
  return 0;
}

// ---------------------------------------------------------------- the reader's hooks
// A decoder that stopped reading must not keep the sink (and the System V objects) alive:
// a SIGTERM or the writer's death ends a blocked write.
static int on_payload(void* ctx, const uint8_t* p, size_t n) {
  (void)ctx;
  if (out_fd < 0 || n == 0) return 0;
  int r = sink_write_all(out_fd, p, n, stop_requested);
  if (r == -EINTR) {
    int code = check_flags();
    return code ? code : IPCAST_EXIT_STOPPED;
  }
  if (r == -EPIPE) {
    rep.epipe++;
    set_error("the decoder closed its stdin early (EPIPE)");
    return IPCAST_EXIT_DECODER;
  }
  if (r < 0) {
    set_error("write to the %s failed: %s", opt.decoder ? "decoder" : "output", strerror(-r));
    return opt.decoder ? IPCAST_EXIT_DECODER : IPCAST_EXIT_RUNTIME;
  }
  return 0;
}

static void on_record(void* ctx, const ipcast_record* rec) {
  (void)ctx;
  sink_report_record(&rep, rec);
  if (opt.slow_us > 0) {
    struct timespec ts = {opt.slow_us / 1000000, (opt.slow_us % 1000000) * 1000};
    nanosleep(&ts, NULL);
  }
}

// ---------------------------------------------------------------- the decoder
static int start_decoder(void) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) < 0) {
    set_error("pipe2 for the decoder failed: %s", strerror(errno));
    return IPCAST_EXIT_RUNTIME;
  }
  // fd 0 = the pipe's read end; fd 3 (our reports, FD_CLOEXEC) is not passed on.
  ipcast_spawn_options so = {fds[0], -1, 1};
  pid_t pid = ipcast_spawn(opt.decoder, &so);
  close(fds[0]);
  if (pid < 0) {
    close(fds[1]);
    set_error("fork failed: %s", strerror((int)-pid));
    return IPCAST_EXIT_RUNTIME;
  }
  rep.decoder_pid = pid;
  out_fd = fds[1];
  return 0;
}

// Closes the decoder's stdin and reaps it. With abort_it, or once the sink is told to stop or
// the writer dies meanwhile, the decoder gets SIGTERM and, still there DECODER_GRACE_MS later,
// SIGKILL: a decoder that ignores SIGTERM must not keep the sink (and the System V objects)
// alive. Returns 0 or IPCAST_EXIT_DECODER.
static int stop_decoder(int abort_it) {
  if (rep.decoder_pid <= 0) return 0;
  if (out_fd >= 0) close(out_fd);
  out_fd = -1;
  // SIGCHLD is blocked except inside ppoll, so the child's exit wakes the wait without a race.
  struct sigaction sa = {.sa_handler = on_child};
  sigaction(SIGCHLD, &sa, NULL);
  sigset_t chld, old;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigprocmask(SIG_BLOCK, &chld, &old);
  const uint64_t slice_ns = 100 * 1000000ull;  // the writer's death is checked between waits
  uint64_t kill_at = 0;                         // when SIGKILL is due; 0: no SIGTERM sent yet
  int killed = 0, status = 0;
  pid_t r;
  while ((r = waitpid(rep.decoder_pid, &status, WNOHANG)) != rep.decoder_pid) {
    if (r < 0 && errno != EINTR) break;
    report_progress_if_due();
    uint64_t now = sink_now_ns(CLOCK_MONOTONIC);
    if (!kill_at && (abort_it || g_term || parent_gone())) {
      if (parent_gone()) remove_objects();
      kill(rep.decoder_pid, SIGTERM);
      kill_at = now + DECODER_GRACE_MS * 1000000ull;
    }
    if (kill_at && !killed && now >= kill_at) killed = (kill(rep.decoder_pid, SIGKILL), 1);
    uint64_t wait_ns = kill_at && !killed && kill_at - now < slice_ns ? kill_at - now : slice_ns;
    struct timespec ts = {(time_t)(wait_ns / 1000000000ull), (long)(wait_ns % 1000000000ull)};
    ppoll(NULL, 0, &ts, &old);  // SIGCHLD, SIGALRM (progress) and SIGTERM end it early
  }
  sigprocmask(SIG_SETMASK, &old, NULL);
  if (r != rep.decoder_pid) return IPCAST_EXIT_DECODER;
  rep.decoder_status = status;
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return 0;
  if (!rep.error) {
    if (WIFEXITED(status)) set_error("the decoder %s exited with code %d", opt.decoder[0], WEXITSTATUS(status));
    else set_error("the decoder %s was killed by signal %d", opt.decoder[0], WTERMSIG(status));
  }
  return IPCAST_EXIT_DECODER;
}

// ---------------------------------------------------------------- reading
static int open_transport(void) {
  int r;
  if (opt.mode == MODE_PIPE) return ipcast_reader_open_pipe(&rd, 0) < 0 ? IPCAST_EXIT_RUNTIME : 0;
  if (opt.mode == MODE_SHM) r = ipcast_reader_attach_shm(&rd, opt.shm_id, opt.sem_id);
  else r = ipcast_reader_open_msg(&rd, opt.msg_id);
  if (r == -ENOMEM) return IPCAST_EXIT_RUNTIME;
  if (r == 0) return 0;
  if (parent_gone()) {
    remove_objects();
    set_error("the writer (pid %d) died before the sink %s", (int)opt.parent, opt.mode == MODE_SHM ? "attached" : "started");
    return IPCAST_EXIT_PARENT_DIED;
  }
  if (opt.mode == MODE_SHM)
    set_error("cannot attach shm %d / sem %d: %s", opt.shm_id, opt.sem_id, r == -EPROTO ? "not an ipcast ring (bad header)" : strerror(-r));
  else
    set_error("cannot stat message queue %d: %s", opt.msg_id, strerror(-r));
  return IPCAST_EXIT_RUNTIME;
}

// The writer closed its end (EOF, or it removed the objects): done if the EOS record came.
static int on_closed(void) {
  if (rd.st.eos) return 0;
  if (parent_gone()) {
    if (opt.mode != MODE_PIPE) return check_flags();
    set_error("the writer (pid %d) died", (int)opt.parent);
    return IPCAST_EXIT_PARENT_DIED;
  }
  set_error("%s", opt.mode == MODE_PIPE ? "end of input without an end-of-stream record"
                                        : "the writer closed the transport before end of stream");
  return IPCAST_EXIT_STOPPED;
}

static int run(void) {
  int code = open_transport();
  if (code) return code;
  report("ready", 0);
  for (;;) {
    int r = ipcast_reader_step(&rd);
    if (r > 0 || r == IPCAST_READ_FAILED) {  // the reader stopped (its error says why), or the payload hook
      if (!rep.error && rd.error[0]) set_error("%s", rd.error);
      return r > 0 ? r : IPCAST_EXIT_RUNTIME;
    }
    if (r == IPCAST_READ_CLOSED) return on_closed();
    if (ipcast_reader_done(&rd)) return 0;
    if (r == IPCAST_READ_OK && !g_tick && !g_term) continue;
    if (rd.st.eos) {  // a pipe after EOS waits for EOF only: a stop ends that wait, the stream is complete
      report_progress_if_due();
      if (stop_requested()) return 0;
      continue;
    }
    if ((code = check_flags()) != 0) return code;
  }
}

// ---------------------------------------------------------------- main
static int usage(const char* msg) {
  fprintf(stderr,
          "ipcast-sink: %s\n"
          "usage: ipcast-sink (--pipe | --shm SHMID --sem SEMID | --msg QID) [--stdout] [--slow-us N]\n"
          "                   [--parent PID] [--registry PATH] [--report-ms N] [-- CMD ARGS...]\n",
          msg);
  return IPCAST_EXIT_USAGE;
}

static int parse_args(int argc, char** argv) {
  for (int i = 1; i < argc; i++) {
    const char* a = argv[i];
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
      char* end = NULL;
      errno = 0;
      long v = val ? strtol(val, &end, 10) : -1;
      if (!val || errno || !*val || *end || v < 0 || v > 0x7fffffff) {
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
  if (opt.mode == MODE_WRAP) return opt.decoder ? 0 : usage("--wrap needs -- CMD");
  if (opt.mode == MODE_SHM && opt.sem_id < 0) return usage("--shm needs --sem");
  if (opt.to_stdout && opt.decoder) return usage("--stdout and -- CMD exclude each other");
  return 0;
}

int main(int argc, char** argv) {
  rep.start_ns = sink_now_ns(CLOCK_MONOTONIC);
  rep.decoder_status = -1;
  opt.parent = getppid();
  int code = parse_args(argc, argv);
  if (code) return code;
  // Before any signal disposition is changed here: the decoder inherits ignored signals.
  if (opt.mode == MODE_WRAP) return ipcast_exec_with_parent(opt.parent, opt.decoder, "ipcast-sink");

  ipcast_reader_hooks hooks = {on_payload, on_record, NULL};
  ipcast_reader_init(&rd, (ipcast_kind)opt.mode, &hooks);
  rep.has_decoder = opt.decoder != NULL;

  // Reports go to fd 3 when the parent gave us one; the decoder must not inherit it.
  rep.fd = fcntl(3, F_GETFD) >= 0 ? 3 : -1;
  if (rep.fd >= 0) fcntl(3, F_SETFD, FD_CLOEXEC);

  struct sigaction sa = {.sa_handler = on_term};  // no SA_RESTART: blocking calls return EINTR
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  sa.sa_handler = on_alarm;
  sigaction(SIGALRM, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);

  if (ipcast_die_with_parent(opt.parent) < 0) {  // the writer died before prctl took effect
    remove_objects();
    set_error("the writer (pid %d) died before the sink started", (int)opt.parent);
    code = IPCAST_EXIT_PARENT_DIED;
  }
  if (!code && opt.decoder) code = start_decoder();
  if (!code && opt.to_stdout) out_fd = 1;
  if (!code) {
    struct itimerval it = {{opt.report_ms / 1000, (opt.report_ms % 1000) * 1000}, {opt.report_ms / 1000, (opt.report_ms % 1000) * 1000}};
    setitimer(ITIMER_REAL, &it, NULL);
    code = run();
    ipcast_reader_close(&rd);  // detach the ring before a decoder may take its time
    if (!code && (code = ipcast_reader_verdict(&rd)) != 0) set_error("%s", rd.error);
  }
  int dcode = stop_decoder(code != 0);
  if (!code && dcode) code = dcode;
  setitimer(ITIMER_REAL, &(struct itimerval){{0, 0}, {0, 0}}, NULL);
  report("final", code);
  if (code && rep.error) fprintf(stderr, "ipcast-sink: %s\n", rep.error);
  return code;
}
