// ipcast-baseline: the plain-C reference that `ipcast bench` compares the Node writer with.
//
//   ipcast-baseline memcpy [--seconds S] [--chunk N]
//       memcpy bandwidth: copies N-byte chunks (default 64 KiB) from a 64 MiB pseudo-random
//       source into a 4 MiB ring (the geometry of the default shm ring) for S seconds.
//   ipcast-baseline --transport pipe|shm|msg --chunk N --seconds S [--rate BITS_PER_S]
//                   [--sink PATH] [--seed N] [--pipe-bytes N] [--slots N] [--slot-bytes N] [--msg-bytes N]
//       The same mechanism as the addon's IpcWriter, driven by plain C: creates the pipe /
//       shm ring + semaphore array / message queue (native/pipe.c, shm_ring.c, sem.c,
//       msg_queue.c), forks the reader child (the very ipcast-sink the Node path uses, so
//       the two runs differ only in the writer), and writes the same records
//       (native/ipc_record.h: 40-byte header with CRC-32C, sequence, hand-off stamp) whose
//       payloads are the same pseudo-random stream as src/bench/stream.ts (mulberry32).
//       Full speed (no --rate): records are packed as C would do it: up to 32 records per
//       writev, slots filled before they are posted, messages filled to the body size.
//       Paced (--rate): one chunk every chunk*8/rate seconds (clock_nanosleep, absolute),
//       each made visible at once (slot posted, message sent).
//
// One JSON line on stdout at the end: {"transport","chunkBytes","mode","bytes","chunks",
// "seconds","bytesPerSecond","verified","sinkExit","info":{...},"sink":<the sink's final report>}
// (memcpy: {"memcpyBytesPerSecond","bytes","seconds"}). Exit 0 when the sink verified
// everything, 3 when it did not, 1 on a runtime error, 2 on bad usage, 5 when stopped by a
// signal. SIGINT/SIGTERM: the writer stops, removes its System V objects, ends the sink.
// If this program is killed outright, the sink (PR_SET_PDEATHSIG, --parent) removes them.
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
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/prctl.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "crc32c.h"
#include "ipc_record.h"
#include "msg_queue.h"
#include "pipe.h"
#include "sem.h"
#include "shm_ring.h"

enum { EXIT_OK = 0, EXIT_RUNTIME = 1, EXIT_USAGE = 2, EXIT_VERIFY = 3, EXIT_STOPPED = 5 };
/* The payload stream (src/bench/stream.ts): chunk i is bytes [(i mod P) * chunk, +chunk) of a
   pseudo-random pool, P = max(1, floor(4 MiB / chunk)). */
#define POOL_BYTES (4u * 1024u * 1024u)
#define MAX_CHUNK (16u * 1024u * 1024u)
#define RECS_PER_WRITEV 32

static volatile sig_atomic_t g_stop = 0, g_child = 0;
static void on_stop(int sig) { (void)sig; g_stop = 1; }
static void on_child(int sig) { (void)sig; g_child = 1; }
static void on_alarm(int sig) { (void)sig; }

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void die_usage(const char* msg) {
  fprintf(stderr,
          "ipcast-baseline: %s\n"
          "usage: ipcast-baseline memcpy [--seconds S] [--chunk N]\n"
          "       ipcast-baseline --transport pipe|shm|msg --chunk N --seconds S [--rate BPS] [--sink PATH]\n"
          "                       [--seed N] [--pipe-bytes N] [--slots N] [--slot-bytes N] [--msg-bytes N]\n",
          msg);
  exit(EXIT_USAGE);
}

static double num_arg(const char* name, const char* v, double lo, double hi) {
  char* end;
  if (!v) die_usage("missing value");
  double d = strtod(v, &end);
  if (*v == '\0' || *end != '\0' || !(d >= lo && d <= hi)) {
    fprintf(stderr, "ipcast-baseline: %s expects a number in [%g, %g], got '%s'\n", name, lo, hi, v);
    exit(EXIT_USAGE);
  }
  return d;
}

// mulberry32, 4 little-endian bytes per step: the same stream as src/bench/stream.ts.
static void fill_stream(uint8_t* p, size_t n, uint32_t seed) {
  uint32_t a = seed;
  for (size_t i = 0; i < n; i += 4) {
    a += 0x6d2b79f5u;
    uint32_t t = a;
    t = (t ^ (t >> 15)) * (t | 1u);
    t ^= t + (t ^ (t >> 7)) * (t | 61u);
    t ^= t >> 14;
    for (size_t k = 0; k < 4 && i + k < n; k++) p[i + k] = (uint8_t)(t >> (8 * k));
  }
}

// ---------------------------------------------------------------- memcpy
static int run_memcpy(double seconds, size_t chunk) {
  size_t src_bytes = 64u * 1024u * 1024u, ring_bytes = 4u * 1024u * 1024u;
  if (chunk > ring_bytes) chunk = ring_bytes;
  uint8_t* src = malloc(src_bytes);
  uint8_t* dst = malloc(ring_bytes);
  if (!src || !dst) return EXIT_RUNTIME;
  fill_stream(src, src_bytes, 1);
  memset(dst, 0, ring_bytes);
  uint64_t bytes = 0, t0 = now_ns(), end = t0 + (uint64_t)(seconds * 1e9);
  size_t s = 0, d = 0;
  uint64_t t;
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
    t = now_ns();
  } while (t < end);
  double secs = (double)(t - t0) / 1e9;
  printf("{\"memcpyBytesPerSecond\":%.0f,\"bytes\":%" PRIu64 ",\"seconds\":%.6f,\"chunkBytes\":%zu}\n", (double)bytes / secs,
         bytes, secs, chunk);
  free(src);
  free(dst);
  return EXIT_OK;
}

// ---------------------------------------------------------------- the writer
enum { T_PIPE, T_SHM, T_MSG };
static const char* kind_name[] = {"pipe", "shm", "msg"};

static struct {
  int kind;
  int fds[2], capacity;  // pipe
  ipcast_ring ring;      // shm
  int have_slot;
  uint32_t fill;
  uint64_t write_pos;
  int qid;               // msg
  ipcast_msg_limits limits;
  long qbytes;
  size_t body_max;
  uint8_t* stage;        // long mtype + body
  size_t stage_len;
  pid_t child;
  uint64_t seq;
  uint64_t pool_chunks;
  const char* failed_op;
  int failed_errno;
} w = {.fds = {-1, -1}, .qid = -1, .child = -1};

// Whether to give up waiting: stopped by a signal, or the sink exited.
static int should_abort(void) {
  if (g_stop) return 1;
  if (g_child) {
    int status;
    if (waitpid(w.child, &status, WNOHANG) == w.child) {
      w.child = -status - 1;  // reaped: remember the status
      return 1;
    }
    g_child = 0;
  }
  return 0;
}

static int fail(const char* op, int e) {
  w.failed_op = op;
  w.failed_errno = e;
  return -1;
}

// Blocking P/V with EINTR (SIGALRM every 100 ms) used to check for a stop or a dead sink.
static int sem_wait_op(unsigned short num, short delta) {
  struct sembuf op = {num, delta, 0};
  for (;;) {
    if (semop(w.ring.sem_id, &op, 1) == 0) return 0;
    if (errno != EINTR) return fail("semop", errno);
    if (should_abort()) return fail("semop", EINTR);
  }
}

static int shm_post(void) {
  ipcast_ring_slot* s = ipcast_ring_slot_at(&w.ring, w.write_pos);
  s->used = w.fill;
  s->seq = (uint32_t)w.write_pos;
  w.write_pos++;
  __atomic_store_n(&ipcast_ring_hdr(&w.ring)->write_pos, w.write_pos, __ATOMIC_RELAXED);
  w.have_slot = 0;
  w.fill = 0;
  return sem_wait_op(IPCAST_SEM_FILLED, 1);
}

static int shm_put(const uint8_t* p, size_t n) {
  while (n > 0) {
    if (!w.have_slot) {
      if (sem_wait_op(IPCAST_SEM_FREE, -1) < 0) return -1;
      w.have_slot = 1;
      w.fill = 0;
    }
    size_t k = w.ring.slot_bytes - w.fill;
    if (k > n) k = n;
    memcpy(ipcast_ring_slot_data(ipcast_ring_slot_at(&w.ring, w.write_pos)) + w.fill, p, k);
    w.fill += (uint32_t)k;
    p += k;
    n -= k;
    if (w.fill == w.ring.slot_bytes && shm_post() < 0) return -1;
  }
  return 0;
}

static int msg_send(int eos) {
  long mtype = eos ? IPCAST_MTYPE_EOS : IPCAST_MTYPE_DATA;
  memcpy(w.stage, &mtype, sizeof mtype);
  for (;;) {
    if (msgsnd(w.qid, w.stage, w.stage_len, 0) == 0) break;
    if (errno != EINTR) return fail("msgsnd", errno);
    if (should_abort()) return fail("msgsnd", EINTR);
  }
  w.stage_len = 0;
  return 0;
}

static int msg_put(const uint8_t* p, size_t n) {
  while (n > 0) {
    if (w.stage_len == w.body_max && msg_send(0) < 0) return -1;
    size_t k = w.body_max - w.stage_len;
    if (k > n) k = n;
    memcpy(w.stage + sizeof(long) + w.stage_len, p, k);
    w.stage_len += k;
    p += k;
    n -= k;
  }
  return 0;
}

static int pipe_writev(struct iovec* iov, int cnt) {
  while (cnt > 0) {
    ssize_t r = writev(w.fds[1], iov, cnt);
    if (r < 0) {
      if (errno != EINTR) return fail("writev", errno);
      if (should_abort()) return fail("writev", EINTR);
      continue;
    }
    size_t left = (size_t)r;
    while (cnt > 0 && left >= iov->iov_len) {
      left -= iov->iov_len;
      iov++;
      cnt--;
    }
    if (cnt > 0) {
      iov->iov_base = (uint8_t*)iov->iov_base + left;
      iov->iov_len -= left;
    }
  }
  return 0;
}

// Makes everything put so far visible to the reader (end of a paced chunk, end of stream).
static int flush(int eos) {
  if (w.kind == T_SHM && w.have_slot && w.fill > 0) return shm_post();
  if (w.kind == T_MSG && (w.stage_len > 0 || eos)) return msg_send(eos);
  return 0;
}

// Writes records for chunks [first, first+count) (count 0 with eos: the EOS record).
static int put_records(const uint8_t* pool, size_t chunk, uint64_t first, int count, int eos) {
  uint8_t hdrs[RECS_PER_WRITEV + 1][IPCAST_RECORD_HEADER];
  struct iovec iov[2 * (RECS_PER_WRITEV + 1)];
  int n = 0, nrec = count + (eos ? 1 : 0);
  for (int i = 0; i < nrec; i++) {
    int is_eos = i == count;
    const uint8_t* payload = is_eos ? NULL : pool + (size_t)((first + (uint64_t)i) % w.pool_chunks) * chunk;
    ipcast_record r = {0};
    r.flags = is_eos ? IPCAST_RECORD_FLAG_EOS : 0;
    r.length = is_eos ? 0 : (uint32_t)chunk;
    r.crc = is_eos ? 0 : ipcast_crc32c(0, payload, chunk);
    r.sequence = w.seq++;
    r.handoff_ns = now_ns();
    ipcast_record_encode(hdrs[i], &r);
    if (w.kind == T_PIPE) {
      iov[n].iov_base = hdrs[i];
      iov[n++].iov_len = IPCAST_RECORD_HEADER;
      if (!is_eos) {
        iov[n].iov_base = (void*)payload;
        iov[n++].iov_len = chunk;
      }
    } else {
      int (*put)(const uint8_t*, size_t) = w.kind == T_SHM ? shm_put : msg_put;
      if (put(hdrs[i], IPCAST_RECORD_HEADER) < 0) return -1;
      if (!is_eos && put(payload, chunk) < 0) return -1;
    }
  }
  if (w.kind == T_PIPE) return pipe_writev(iov, n);
  return 0;
}

static void remove_objects(void) {
  if (w.kind == T_SHM) {
    if (w.ring.sem_id >= 0) ipcast_sem_remove(w.ring.sem_id);
    if (w.ring.base) shmctl(w.ring.shm_id, IPC_RMID, NULL);
    ipcast_ring_detach(&w.ring);
    w.ring.sem_id = -1;
  } else if (w.kind == T_MSG && w.qid >= 0) {
    ipcast_msg_remove(w.qid);
    w.qid = -1;
  } else if (w.kind == T_PIPE && w.fds[1] >= 0) {
    close(w.fds[1]);
    w.fds[1] = -1;
  }
}

// Reads one line from the sink's report pipe into buf (blocking, bounded by the timeout).
static int read_line(int fd, char* buf, size_t cap, int timeout_ms) {
  size_t len = 0;
  uint64_t end = now_ns() + (uint64_t)timeout_ms * 1000000ull;
  while (len + 1 < cap) {
    struct pollfd pfd = {fd, POLLIN, 0};
    int left = (int)((int64_t)(end - now_ns()) / 1000000);
    if (left <= 0) return -ETIMEDOUT;
    int r = poll(&pfd, 1, left);
    if (r < 0 && errno == EINTR) {
      if (g_stop) return -EINTR;
      continue;
    }
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

// Crude field lookup in the sink's JSON line: the number after "key":
static double json_num(const char* line, const char* key) {
  char pat[64];
  snprintf(pat, sizeof pat, "\"%s\":", key);
  const char* p = strstr(line, pat);
  return p ? strtod(p + strlen(pat), NULL) : -1;
}

int main(int argc, char** argv) {
  if (argc >= 2 && !strcmp(argv[1], "memcpy")) {
    double seconds = 0.5, chunk = 65536;
    for (int i = 2; i < argc; i++) {
      if (!strcmp(argv[i], "--seconds") && i + 1 < argc) seconds = num_arg("--seconds", argv[++i], 0.01, 3600);
      else if (!strcmp(argv[i], "--chunk") && i + 1 < argc) chunk = num_arg("--chunk", argv[++i], 64, 4 * 1024 * 1024);
      else die_usage("unknown option");
    }
    return run_memcpy(seconds, (size_t)chunk);
  }

  const char* transport = NULL;
  const char* sink = NULL;
  double chunk_d = 0, seconds = 1, rate = 0, seed = 1, pipe_bytes = 1 << 20, slots = IPCAST_RING_DEFAULT_SLOTS,
         slot_bytes = IPCAST_RING_DEFAULT_SLOT_BYTES, msg_bytes = 0;
  for (int i = 1; i < argc; i++) {
    const char* a = argv[i];
    const char* v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!v) die_usage("an option is missing its value");
    i++;
    if (!strcmp(a, "--transport")) transport = v;
    else if (!strcmp(a, "--sink")) sink = v;
    else if (!strcmp(a, "--chunk")) chunk_d = num_arg(a, v, 1, MAX_CHUNK);
    else if (!strcmp(a, "--seconds")) seconds = num_arg(a, v, 0.01, 3600);
    else if (!strcmp(a, "--rate")) rate = num_arg(a, v, 1, 1e12);
    else if (!strcmp(a, "--seed")) seed = num_arg(a, v, 0, 4294967295.0);
    else if (!strcmp(a, "--pipe-bytes")) pipe_bytes = num_arg(a, v, 4096, 1 << 30);
    else if (!strcmp(a, "--slots")) slots = num_arg(a, v, 1, IPCAST_RING_MAX_SLOTS);
    else if (!strcmp(a, "--slot-bytes")) slot_bytes = num_arg(a, v, IPCAST_RING_MIN_SLOT_BYTES, IPCAST_RING_MAX_SLOT_BYTES);
    else if (!strcmp(a, "--msg-bytes")) msg_bytes = num_arg(a, v, 64, IPCAST_MSG_MAX_BODY);
    else {
      fprintf(stderr, "ipcast-baseline: unknown option '%s'\n", a);
      die_usage("bad option");
    }
  }
  if (!transport) die_usage("--transport is required");
  if (!strcmp(transport, "pipe")) w.kind = T_PIPE;
  else if (!strcmp(transport, "shm")) w.kind = T_SHM;
  else if (!strcmp(transport, "msg")) w.kind = T_MSG;
  else die_usage("--transport must be pipe, shm or msg");
  if (chunk_d < 1) die_usage("--chunk is required");
  size_t chunk = (size_t)chunk_d;

  char sink_path[PATH_MAX];
  if (!sink) {
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
  sa.sa_handler = on_child;
  sigaction(SIGCHLD, &sa, NULL);
  sa.sa_handler = on_alarm;
  sigaction(SIGALRM, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);

  // The payload stream.
  w.pool_chunks = chunk >= POOL_BYTES ? 1 : POOL_BYTES / chunk;
  size_t pool_bytes = chunk > POOL_BYTES ? chunk : POOL_BYTES;
  uint8_t* pool = malloc(pool_bytes);
  if (!pool) return EXIT_RUNTIME;
  fill_stream(pool, pool_bytes, (uint32_t)seed);

  // Create the transport.
  int r = 0;
  char info[256] = "";
  if (w.kind == T_PIPE) {
    r = ipcast_pipe_create(w.fds, (int)pipe_bytes, &w.capacity);
    if (r == 0) fcntl(w.fds[1], F_SETFL, fcntl(w.fds[1], F_GETFL) & ~O_NONBLOCK);  // C blocks in write(2)
    snprintf(info, sizeof info, "{\"capacity\":%d}", w.capacity);
  } else if (w.kind == T_SHM) {
    r = ipcast_ring_create(&w.ring, (uint32_t)slots, (uint32_t)slot_bytes);
    snprintf(info, sizeof info, "{\"slots\":%u,\"slotBytes\":%u}", w.ring.slot_count, w.ring.slot_bytes);
  } else {
    ipcast_msg_read_limits(&w.limits);
    r = ipcast_msg_create();
    if (r >= 0) {
      w.qid = r;
      r = 0;
      w.qbytes = ipcast_msg_qbytes(w.qid);
      w.body_max = ipcast_msg_body_bytes(&w.limits, w.qbytes, msg_bytes > 0 ? (size_t)msg_bytes : 0);
      w.stage = malloc(sizeof(long) + w.body_max);
      if (!w.stage) r = -ENOMEM;
    }
    snprintf(info, sizeof info, "{\"msgmax\":%ld,\"msgmnb\":%ld,\"qbytes\":%ld,\"msgBody\":%zu}", w.limits.msgmax, w.limits.msgmnb,
             w.qbytes, w.body_max);
  }
  if (r < 0) {
    fprintf(stderr, "ipcast-baseline: cannot create the %s transport: %s\n", transport, strerror(-r));
    remove_objects();
    return EXIT_RUNTIME;
  }

  // Fork the reader: ipcast-sink, reports on fd 3 (a pipe back to us).
  int rep[2];
  if (pipe2(rep, O_CLOEXEC) < 0) {
    remove_objects();
    return EXIT_RUNTIME;
  }
  char ids[2][32], parent[32];
  snprintf(parent, sizeof parent, "%d", (int)getpid());
  char* args[16];
  int na = 0;
  args[na++] = (char*)sink;
  if (w.kind == T_PIPE) {
    args[na++] = "--pipe";
  } else if (w.kind == T_SHM) {
    snprintf(ids[0], sizeof ids[0], "%d", w.ring.shm_id);
    snprintf(ids[1], sizeof ids[1], "%d", w.ring.sem_id);
    args[na++] = "--shm";
    args[na++] = ids[0];
    args[na++] = "--sem";
    args[na++] = ids[1];
  } else {
    snprintf(ids[0], sizeof ids[0], "%d", w.qid);
    args[na++] = "--msg";
    args[na++] = ids[0];
  }
  args[na++] = "--parent";
  args[na++] = parent;
  args[na++] = "--report-ms";
  args[na++] = "3600000";
  args[na] = NULL;
  pid_t pid = fork();
  if (pid < 0) {
    remove_objects();
    return EXIT_RUNTIME;
  }
  if (pid == 0) {
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGPIPE, SIG_DFL);
    if (w.kind == T_PIPE) {
      if (dup2(w.fds[0], 0) < 0) _exit(127);
    } else {
      int devnull = open("/dev/null", O_RDONLY);
      if (devnull >= 0) dup2(devnull, 0);
    }
    if (dup2(rep[1], 3) < 0) _exit(127);  // dup2 clears close-on-exec on fd 3
    execv(sink, args);
    fprintf(stderr, "ipcast-baseline: cannot run %s: %s\n", sink, strerror(errno));
    _exit(127);
  }
  w.child = pid;
  close(rep[1]);
  if (w.kind == T_PIPE) close(w.fds[0]);

  char line[8192];
  int code = EXIT_OK;
  if (read_line(rep[0], line, sizeof line, 10000) <= 0 || !strstr(line, "\"ready\"")) {
    fprintf(stderr, "ipcast-baseline: %s did not report ready\n", sink);
    code = g_stop ? EXIT_STOPPED : EXIT_RUNTIME;
  }

  // Wake blocking calls every 100 ms so a stop or a dead sink is noticed.
  struct itimerval it = {{0, 100000}, {0, 100000}};
  setitimer(ITIMER_REAL, &it, NULL);

  uint64_t chunks = 0, t0 = now_ns(), end = t0 + (uint64_t)(seconds * 1e9);
  int batch = rate > 0 ? 1 : RECS_PER_WRITEV;
  double interval_ns = rate > 0 ? (double)chunk * 8.0 * 1e9 / rate : 0;
  while (code == EXIT_OK) {
    if (rate > 0) {
      uint64_t due = t0 + (uint64_t)((double)chunks * interval_ns);
      if (due >= end) break;
      struct timespec ts = {(time_t)(due / 1000000000ull), (long)(due % 1000000000ull)};
      int e = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
      if (e == EINTR && should_abort()) code = EXIT_STOPPED;
      if (e == EINTR) continue;
    } else if (now_ns() >= end) {
      break;
    }
    if (put_records(pool, chunk, chunks, batch, 0) < 0 || (rate > 0 && flush(0) < 0)) {
      code = g_stop ? EXIT_STOPPED : EXIT_RUNTIME;
      break;
    }
    chunks += (uint64_t)batch;
  }
  if (code == EXIT_OK && (put_records(pool, chunk, chunks, 0, 1) < 0 || flush(1) < 0)) code = g_stop ? EXIT_STOPPED : EXIT_RUNTIME;
  if (code == EXIT_OK && w.kind == T_PIPE) remove_objects();  // EOF after the EOS record

  // Wait for the sink (it exits after the EOS record); on a stop, end it first.
  if (code != EXIT_OK) {
    remove_objects();
    if (w.child > 0) kill(w.child, SIGTERM);
  }
  int status = 0;
  if (w.child > 0) {
    for (;;) {
      pid_t p = waitpid(w.child, &status, 0);
      if (p == w.child) break;
      if (p < 0 && errno != EINTR) break;
      if (g_stop && code == EXIT_OK) {
        code = EXIT_STOPPED;
        remove_objects();
        kill(w.child, SIGTERM);
      }
    }
  } else if (w.child < -1) {
    status = -(w.child + 1);
  }
  uint64_t t1 = now_ns();
  struct itimerval off = {{0, 0}, {0, 0}};
  setitimer(ITIMER_REAL, &off, NULL);
  remove_objects();

  // The sink's final report is the last line on the report pipe.
  char final_line[8192] = "";
  for (;;) {
    int n = read_line(rep[0], line, sizeof line, 2000);
    if (n <= 0) break;
    if (strstr(line, "\"final\"")) snprintf(final_line, sizeof final_line, "%s", line);
  }
  int sink_exit = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  double sink_bytes = final_line[0] ? json_num(final_line, "bytes") : -1;
  double sink_chunks = final_line[0] ? json_num(final_line, "chunks") : -1;
  int verified = code == EXIT_OK && sink_exit == 0 && sink_bytes == (double)(chunks * chunk) && sink_chunks == (double)chunks;
  double secs = (double)(t1 - t0) / 1e9;
  if (w.failed_op && code == EXIT_RUNTIME)
    fprintf(stderr, "ipcast-baseline: %s failed: %s\n", w.failed_op, strerror(w.failed_errno));
  printf("{\"transport\":\"%s\",\"chunkBytes\":%zu,\"mode\":\"%s\",\"bytes\":%" PRIu64 ",\"chunks\":%" PRIu64
         ",\"seconds\":%.6f,\"bytesPerSecond\":%.0f,\"verified\":%s,\"sinkExit\":%d,\"info\":%s,\"sink\":%s}\n",
         kind_name[w.kind], chunk, rate > 0 ? "paced" : "max", chunks * chunk, chunks, secs, (double)(chunks * chunk) / secs,
         verified ? "true" : "false", sink_exit, info, final_line[0] ? final_line : "null");
  fflush(stdout);
  free(pool);
  free(w.stage);
  if (code != EXIT_OK) return code;
  return verified ? EXIT_OK : EXIT_VERIFY;
}
