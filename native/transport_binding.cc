// The writer side of the three IPC transports, exposed to TypeScript as one class:
//
//   new IpcWriter(kind: 'pipe'|'shm'|'msg', { framed, pipeBytes, slots, slotBytes, msgBytes, spinUs })
//   .info                               ids, fds, sizes and kernel limits
//   .write(buffers, senderUs|null, eos) true when everything went in without waiting,
//                                       else a Promise that settles when it has
//   .writable()                         room right now?
//   .stats()                            records, bytes, waits, waitNs, nextSeq
//   .close()                            marks closed; removes the System V objects; closes
//                                       the pipe's write end (now or when the worker ends)
//
// Never blocking the event loop: write() first puts as much as it can with non-blocking
// calls (write(2) on an O_NONBLOCK fd, semop IPC_NOWAIT, msgsnd IPC_NOWAIT) on the main
// thread; no thread hop while the transport has room. When it is full, write() keeps going
// on the main thread as long as the reader makes room at least every spinUs µs (default 0
// here; the TypeScript layer passes 30), waiting for room in the kernel with that timeout
// (ppoll, semtimedop; a pause loop for the queue). Only when it stays full does the rest
// of the batch continue on a libuv worker (AsyncWorker + Promise::Deferred) that waits
// with bounded slices (poll 100 ms, semtimedop 100 ms) and checks the closed flag
// between them; msgsnd has no timeout, so close() removes the queue (EIDRM wakes it).
// The JS buffers of a batch stay referenced until the promise settles; one write at a time.
#include "transport_binding.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <string>
#include <vector>

extern "C" {
#include "crc32c.h"
#include "ipc_record.h"
#include "msg_queue.h"
#include "pipe.h"
#include "sem.h"
#include "shm_ring.h"
}

// A hint to the CPU inside a spin loop (x86 pause, arm yield; nothing elsewhere).
static inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
#endif
}

namespace ipcast {
namespace {

constexpr int kSliceMs = 100;
// iovecs per writev (two per record: 127 records, ~170 KB at 1316 B). 64 was 20 % slower at 1316 B (docs/benchmarks.md).
constexpr int kMaxIov = 256;

uint64_t MonoNs() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

std::string ErrnoName(int e) {
  const char* n = strerrorname_np(e);
  return n ? n : ("E" + std::to_string(e));
}

Napi::Error ErrnoError(Napi::Env env, const std::string& what, int e) {
  Napi::Error err = Napi::Error::New(env, what + " failed, " + ErrnoName(e) + ": " + strerror(e));
  err.Set("code", Napi::String::New(env, ErrnoName(e)));
  err.Set("errno", Napi::Number::New(env, e));
  return err;
}

size_t ElementBytes(napi_typedarray_type t) {
  switch (t) {
    case napi_int16_array:
    case napi_uint16_array: return 2;
    case napi_int32_array:
    case napi_uint32_array:
    case napi_float32_array: return 4;
    case napi_float64_array:
    case napi_bigint64_array:
    case napi_biguint64_array: return 8;
    default: return 1;
  }
}

// One transport's writer state. Shared (shared_ptr) between the JS object and a worker.
struct Core {
  enum Kind { kPipe, kShm, kMsg } kind;
  bool framed = true;
  std::atomic<bool> closed{false};
  bool busy = false;      // a worker owns the cursor (main thread reads/writes this)
  bool released = false;  // fd closed / segment detached
  bool removed = false;   // System V objects removed (main thread)
  uint64_t next_seq = 0;
  uint64_t records = 0, bytes = 0, waits = 0, wait_ns = 0;
  uint64_t spin_ns = 0;                  // how long write() retries a full transport before a worker takes over
  uint64_t spins = 0, spin_wins = 0, spun_ns = 0;
  const char* last_op = "write";

  // pipe
  int fds[2] = {-1, -1};
  int capacity = 0;
  // shm
  ipcast_ring ring{};
  bool have_slot = false;
  uint32_t fill = 0;
  uint64_t write_pos = 0;
  // msg
  int qid = -1;
  ipcast_msg_limits limits{};
  long qbytes = 0;
  size_t body_max = 0;
  std::vector<uint8_t> stage;  // mtype (long) + body
  size_t stage_len = 0;        // body bytes staged
  bool stage_eos = false;

  // the batch being written
  std::vector<const uint8_t*> data;
  std::vector<size_t> len;
  std::vector<uint64_t> sender_us;
  std::vector<uint8_t> hdrs;
  size_t total = 0;  // records in the batch, EOS included
  size_t rec = 0, off = 0, built = 0;
  uint64_t seq_base = 0;  // next_seq when the batch began: record i has sequence seq_base + i
  bool eos = false;

  // A writer collected without close(): its objects must not outlive it either.
  ~Core() {
    RemoveObjects();
    Release();
  }

  void Release() {
    if (released) return;
    released = true;
    if (kind == kPipe) {
      if (fds[1] >= 0) close(fds[1]);
      fds[1] = -1;
    } else if (kind == kShm) {
      ipcast_ring_detach(&ring);
    }
  }

  // Removes the System V objects (idempotent; only ids we created and still own).
  void RemoveObjects() {
    if (removed) return;
    removed = true;  // ids stay untouched: a worker may still be using them (and gets EIDRM)
    if (kind == kShm) {
      ipcast_sem_remove(ring.sem_id);
      if (ring.base) shmctl(ring.shm_id, IPC_RMID, nullptr);  // still attached: the id is still ours
    } else if (kind == kMsg) {
      ipcast_msg_remove(qid);
    }
  }

  size_t RecordBytes(size_t i) const {
    size_t payload = i < data.size() ? len[i] : 0;
    return (framed ? IPCAST_RECORD_HEADER : 0) + payload;
  }

  void BuildHeader(size_t i, uint64_t now_ns) {
    ipcast_record r{};
    bool is_eos = i >= data.size();
    r.flags = is_eos ? IPCAST_RECORD_FLAG_EOS : 0;
    r.length = is_eos ? 0 : (uint32_t)len[i];
    r.crc = is_eos ? 0 : ipcast_crc32c(0, data[i], len[i]);
    r.sequence = next_seq++;
    r.handoff_ns = now_ns;
    r.sender_us = is_eos ? 0 : sender_us[i];
    ipcast_record_encode(&hdrs[i * IPCAST_RECORD_HEADER], &r);
  }

  // Gathers the next bytes of the batch (from rec/off) into iov.
  // The records gathered in one call go into the transport within microseconds of each
  // other (one writev, or consecutive copies into slots/messages): one clock read stamps them.
  int Gather(struct iovec* iov) {
    int n = 0;
    uint64_t now_ns = 0;
    // Records built by an earlier Gather but not yet started (a partial writev, a full ring)
    // are stamped again now: the hand-off time is when a record goes in, not when it first
    // tried. Their sequence numbers stay the same (seq_base + index).
    if (framed) {
      size_t started = rec + (off > 0 ? 1 : 0);
      if (built > started) {
        built = started;
        next_seq = seq_base + built;
      }
    }
    size_t r = rec, o = off;
    while (r < total && n < kMaxIov - 1) {
      if (framed && r >= built) {
        if (now_ns == 0) now_ns = MonoNs();
        BuildHeader(r, now_ns);
        built = r + 1;
      }
      size_t hb = framed ? IPCAST_RECORD_HEADER : 0;
      if (o < hb) {
        iov[n].iov_base = &hdrs[r * IPCAST_RECORD_HEADER + o];
        iov[n].iov_len = hb - o;
        n++;
        o = hb;
      }
      size_t pl = r < data.size() ? len[r] : 0;
      if (o < hb + pl) {
        iov[n].iov_base = const_cast<uint8_t*>(data[r] + (o - hb));
        iov[n].iov_len = hb + pl - o;
        n++;
      }
      r++;
      o = 0;
    }
    return n;
  }

  void Advance(size_t n) {
    bytes += n;
    while (n > 0 && rec < total) {
      size_t left = RecordBytes(rec) - off;
      if (n >= left) {
        n -= left;
        rec++;
        off = 0;
        records++;
      } else {
        off += n;
        n = 0;
      }
    }
    // zero-length raw records (never framed ones) complete without bytes
    while (rec < total && RecordBytes(rec) == 0) {
      rec++;
      records++;
    }
  }

  // ---- per-transport primitives: >= 0 bytes accepted, -EAGAIN when full, -errno ----
  ssize_t Put(const struct iovec* iov, int cnt) {
    if (closed.load()) return -ECANCELED;
    switch (kind) {
      case kPipe: {
        last_op = "write(2) to the pipe";
        ssize_t r = writev(fds[1], iov, cnt);
        if (r < 0) return errno == EWOULDBLOCK ? -EAGAIN : -errno;
        return r;
      }
      case kShm: return PutShm(iov, cnt);
      case kMsg: return PutMsg(iov, cnt);
    }
    return -EINVAL;
  }

  int PostSlot() {
    ipcast_ring_slot* s = ipcast_ring_slot_at(&ring, write_pos);
    s->used = fill;
    s->seq = (uint32_t)write_pos;
    write_pos++;
    __atomic_store_n(&ipcast_ring_hdr(&ring)->write_pos, write_pos, __ATOMIC_RELAXED);
    have_slot = false;
    fill = 0;
    last_op = "semop(2) post filled";
    return ipcast_sem_op(ring.sem_id, IPCAST_SEM_FILLED, 1, -1);
  }

  ssize_t PutShm(const struct iovec* iov, int cnt) {
    size_t accepted = 0;
    for (int i = 0; i < cnt; i++) {
      const uint8_t* p = (const uint8_t*)iov[i].iov_base;
      size_t left = iov[i].iov_len;
      while (left > 0) {
        if (!have_slot) {
          last_op = "semop(2) take free";
          int r = ipcast_sem_op(ring.sem_id, IPCAST_SEM_FREE, -1, -1);
          if (r == -EAGAIN) return accepted > 0 ? (ssize_t)accepted : -EAGAIN;
          if (r < 0) return r;
          have_slot = true;
          fill = 0;
        }
        size_t n = std::min(left, (size_t)(ring.slot_bytes - fill));
        memcpy(ipcast_ring_slot_data(ipcast_ring_slot_at(&ring, write_pos)) + fill, p, n);
        fill += (uint32_t)n;
        p += n;
        left -= n;
        accepted += n;
        if (fill == ring.slot_bytes) {
          int r = PostSlot();
          if (r < 0) return r;
        }
      }
    }
    return (ssize_t)accepted;
  }

  int SendStage(bool nowait) {
    long* mtype = reinterpret_cast<long*>(stage.data());
    *mtype = stage_eos ? IPCAST_MTYPE_EOS : IPCAST_MTYPE_DATA;
    last_op = "msgsnd(2)";
    for (;;) {
      if (msgsnd(qid, stage.data(), stage_len, nowait ? IPC_NOWAIT : 0) == 0) break;
      if (errno == EINTR && !closed.load()) continue;
      return errno == EAGAIN ? -EAGAIN : -errno;
    }
    stage_len = 0;
    stage_eos = false;
    return 0;
  }

  ssize_t PutMsg(const struct iovec* iov, int cnt) {
    size_t accepted = 0;
    for (int i = 0; i < cnt; i++) {
      const uint8_t* p = (const uint8_t*)iov[i].iov_base;
      size_t left = iov[i].iov_len;
      while (left > 0) {
        if (stage_len == body_max) {
          int r = SendStage(true);
          if (r == -EAGAIN) return accepted > 0 ? (ssize_t)accepted : -EAGAIN;
          if (r < 0) return r;
        }
        size_t n = std::min(left, body_max - stage_len);
        memcpy(stage.data() + sizeof(long) + stage_len, p, n);
        stage_len += n;
        p += n;
        left -= n;
        accepted += n;
      }
    }
    return (ssize_t)accepted;
  }

  // Makes the bytes put so far visible to the reader. 0, -EAGAIN, -errno.
  int Flush() {
    if (kind == kShm && have_slot && fill > 0) return PostSlot();
    if (kind == kMsg && stage_len > 0) {
      stage_eos = eos && rec >= total;
      return SendStage(true);
    }
    return 0;
  }

  // On the main thread, while the reader is making room: waits at most `ns` for room in the
  // kernel (ppoll on the pipe, semtimedop on FREE), so the retry neither burns the CPU nor
  // hammers the lock the reader needs. The queue has no timed msgsnd: a short pause instead.
  // 0 = try again (for shm a slot is now ours), -errno on a hard error.
  int ShortWait(uint64_t ns) {
    struct timespec ts = {(time_t)(ns / 1000000000ull), (long)(ns % 1000000000ull)};
    switch (kind) {
      case kPipe: {
        struct pollfd pfd = {fds[1], POLLOUT, 0};
        int r = ppoll(&pfd, 1, &ts, nullptr);
        return r < 0 && errno != EINTR ? -errno : 0;
      }
      case kShm: {
        if (have_slot) return 0;
        struct sembuf op = {IPCAST_SEM_FREE, -1, 0};
        if (semtimedop(ring.sem_id, &op, 1, &ts) == 0) {
          have_slot = true;
          fill = 0;
          return 0;
        }
        return errno == EAGAIN || errno == EINTR ? 0 : -errno;
      }
      case kMsg:
        for (int i = 0; i < 64; i++) cpu_relax();
        return 0;
    }
    return 0;
  }

  // Blocks (on a worker thread) until there is room. 0, -ECANCELED when closed, -errno.
  int Wait() {
    uint64_t t0 = MonoNs();
    waits++;
    int r = WaitInner();
    wait_ns += MonoNs() - t0;
    return r;
  }

  int WaitInner() {
    for (;;) {
      if (closed.load()) return -ECANCELED;
      switch (kind) {
        case kPipe: {
          struct pollfd pfd = {fds[1], POLLOUT, 0};
          last_op = "poll(2) on the pipe";
          int r = poll(&pfd, 1, kSliceMs);
          if (r < 0 && errno != EINTR) return -errno;
          if (r > 0) return 0;  // writable, or POLLERR: the next write says EPIPE
          break;
        }
        case kShm: {
          last_op = "semtimedop(2) take free";
          int r = ipcast_sem_op(ring.sem_id, IPCAST_SEM_FREE, -1, kSliceMs);
          if (r == 0) {
            have_slot = true;
            fill = 0;
            return 0;
          }
          if (r != -EAGAIN && r != -EINTR) return r;
          int32_t reader = __atomic_load_n(&ipcast_ring_hdr(&ring)->reader_pid, __ATOMIC_RELAXED);
          if (reader > 0 && kill(reader, 0) < 0 && errno == ESRCH) return -EPIPE;
          break;
        }
        case kMsg: {
          if (stage_len == 0) return 0;
          stage_eos = eos && rec >= total;
          return SendStage(false);  // blocking; close() removes the queue, EIDRM wakes it
        }
      }
    }
  }

  // Runs the batch from the cursor. may_block=false: returns -EAGAIN when full.
  int Run(bool may_block) {
    struct iovec iov[kMaxIov];
    while (rec < total) {
      int cnt = Gather(iov);
      ssize_t r = cnt > 0 ? Put(iov, cnt) : 0;
      if (r > 0) {
        Advance((size_t)r);
        continue;
      }
      if (r == 0 && cnt == 0) {
        Advance(0);
        continue;
      }
      if (r == -EAGAIN || r == 0) {
        if (!may_block) return -EAGAIN;
        // flush what is staged before sleeping so the reader can make progress
        int f = kind == kMsg ? 0 : Flush();
        if (f < 0 && f != -EAGAIN) return f;
        int w = Wait();
        if (w < 0) return w;
        continue;
      }
      return (int)r;
    }
    for (;;) {
      int f = Flush();
      if (f == 0) return 0;
      if (f != -EAGAIN) return f;
      if (!may_block) return -EAGAIN;
      int w = Wait();
      if (w < 0) return w;
    }
  }
};

class WriteWorker : public Napi::AsyncWorker {
 public:
  WriteWorker(Napi::Env env, std::shared_ptr<Core> core, Napi::Object self, Napi::Value keep)
      : Napi::AsyncWorker(env, "ipcast:ipc-write"), core_(std::move(core)), deferred_(Napi::Promise::Deferred::New(env)) {
    self_ = Napi::Persistent(self);
    if (keep.IsObject()) keep_ = Napi::Persistent(keep.As<Napi::Object>());
  }
  Napi::Promise Promise() { return deferred_.Promise(); }
  void Execute() override { result_ = core_->Run(true); }
  void OnOK() override {
    Napi::Env env = Env();
    core_->busy = false;
    if (core_->closed.load()) core_->Release();
    if (result_ == 0) {
      deferred_.Resolve(env.Undefined());
    } else {
      deferred_.Reject(ErrnoError(env, core_->last_op, -result_).Value());
    }
  }

 private:
  std::shared_ptr<Core> core_;
  Napi::Promise::Deferred deferred_;
  Napi::ObjectReference self_, keep_;
  int result_ = 0;
};

class IpcWriter : public Napi::ObjectWrap<IpcWriter> {
 public:
  static Napi::Function GetClass(Napi::Env env) {
    return DefineClass(env, "IpcWriter",
                       {
                           InstanceMethod("write", &IpcWriter::Write),
                           InstanceMethod("writable", &IpcWriter::Writable),
                           InstanceMethod("stats", &IpcWriter::Stats),
                           InstanceMethod("close", &IpcWriter::Close),
                           InstanceAccessor("info", &IpcWriter::Info, nullptr),
                       });
  }

  explicit IpcWriter(const Napi::CallbackInfo& info) : Napi::ObjectWrap<IpcWriter>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 2 || !info[0].IsString() || !info[1].IsObject()) {
      throw Napi::TypeError::New(env, "IpcWriter: expected (kind: 'pipe'|'shm'|'msg', options object)");
    }
    std::string kind = info[0].As<Napi::String>();
    Napi::Object o = info[1].As<Napi::Object>();
    auto num = [&](const char* k, double def) {
      Napi::Value v = o.Get(k);
      return v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : def;
    };
    core_ = std::make_shared<Core>();
    Core& c = *core_;
    c.framed = !o.Get("framed").IsBoolean() || o.Get("framed").As<Napi::Boolean>().Value();
    double spin_us = num("spinUs", 0);
    c.spin_ns = spin_us > 0 && spin_us <= 10000 ? (uint64_t)(spin_us * 1000) : 0;
    cpu_set_t cpus;  // on a single CPU a spin only keeps the reader from running
    if (sched_getaffinity(0, sizeof cpus, &cpus) == 0 && CPU_COUNT(&cpus) < 2) c.spin_ns = 0;
    info_ = Napi::Object::New(env);
    info_.Set("kind", kind);
    info_.Set("framed", c.framed);
    if (kind == "pipe") {
      c.kind = Core::kPipe;
      int r = ipcast_pipe_create(c.fds, (int)num("pipeBytes", 1 << 20), &c.capacity);
      if (r < 0) throw ErrnoError(env, "pipe2(2)", -r);
      info_.Set("readFd", c.fds[0]);
      info_.Set("writeFd", c.fds[1]);
      info_.Set("capacity", c.capacity);
    } else if (kind == "shm") {
      c.kind = Core::kShm;
      double slots = num("slots", IPCAST_RING_DEFAULT_SLOTS), sb = num("slotBytes", IPCAST_RING_DEFAULT_SLOT_BYTES);
      if (!(slots >= 1 && slots <= IPCAST_RING_MAX_SLOTS) || !(sb >= IPCAST_RING_MIN_SLOT_BYTES && sb <= IPCAST_RING_MAX_SLOT_BYTES)) {
        throw Napi::RangeError::New(env, "IpcWriter: slots must be 1.." + std::to_string(IPCAST_RING_MAX_SLOTS) +
                                             " and slotBytes " + std::to_string(IPCAST_RING_MIN_SLOT_BYTES) + ".." +
                                             std::to_string(IPCAST_RING_MAX_SLOT_BYTES));
      }
      int r = ipcast_ring_create(&c.ring, (uint32_t)slots, (uint32_t)sb);
      if (r < 0) throw ErrnoError(env, "shmget/semget(2)", -r);
      info_.Set("shmId", c.ring.shm_id);
      info_.Set("semId", c.ring.sem_id);
      info_.Set("slots", c.ring.slot_count);
      info_.Set("slotBytes", c.ring.slot_bytes);
      info_.Set("segmentBytes", (double)c.ring.size);
    } else if (kind == "msg") {
      c.kind = Core::kMsg;
      ipcast_msg_read_limits(&c.limits);
      int q = ipcast_msg_create();
      if (q < 0) throw ErrnoError(env, "msgget(2)", -q);
      c.qid = q;
      c.qbytes = ipcast_msg_qbytes(q);
      double want = num("msgBytes", 0);
      c.body_max = ipcast_msg_body_bytes(&c.limits, c.qbytes, want > 0 ? (size_t)want : 0);
      c.stage.resize(sizeof(long) + c.body_max);
      info_.Set("msgId", q);
      info_.Set("msgBody", (double)c.body_max);
      info_.Set("msgmax", (double)c.limits.msgmax);
      info_.Set("msgmnb", (double)c.limits.msgmnb);
      info_.Set("qbytes", (double)c.qbytes);
    } else {
      throw Napi::TypeError::New(env, "IpcWriter: kind must be 'pipe', 'shm' or 'msg', got '" + kind + "'");
    }
    infoRef_ = Napi::Persistent(info_);
  }

 private:
  std::shared_ptr<Core> core_;
  Napi::Object info_;
  Napi::ObjectReference infoRef_;

  Napi::Value Info(const Napi::CallbackInfo&) { return infoRef_.Value(); }

  // write(buffers: Uint8Array[], senderUs: Float64Array | null, eos: boolean) -> true | Promise<void>
  Napi::Value Write(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Core& c = *core_;
    if (info.Length() < 3 || !info[0].IsArray() || !info[2].IsBoolean()) {
      throw Napi::TypeError::New(env, "write: expected (Uint8Array[], Float64Array | null, eos: boolean)");
    }
    if (c.busy) {
      Napi::Error e = Napi::Error::New(env, "write: a write is already in progress");
      e.Set("code", "ERR_BUSY");
      throw e;
    }
    if (c.closed.load()) throw ErrnoError(env, "write", ECANCELED);
    Napi::Array arr = info[0].As<Napi::Array>();
    uint32_t n = arr.Length();
    const double* sus = nullptr;
    if (info[1].IsTypedArray()) {
      auto ta = info[1].As<Napi::TypedArray>();
      if (ta.TypedArrayType() != napi_float64_array || ta.ElementLength() < n) {
        throw Napi::TypeError::New(env, "write: senderUs must be a Float64Array with one entry per buffer");
      }
      sus = info[1].As<Napi::Float64Array>().Data();
    }
    c.data.resize(n);
    c.len.resize(n);
    c.sender_us.assign(n, 0);
    // Raw N-API here: two calls per chunk (get_element, get_typedarray_info) instead of the
    // wrapper's three; at 1316-byte chunks this loop is a visible part of a write.
    napi_value jsarr = arr;
    for (uint32_t i = 0; i < n; i++) {
      napi_value v;
      napi_typedarray_type type;
      size_t count = 0;
      void* ptr = nullptr;
      if (napi_get_element(env, jsarr, i, &v) != napi_ok ||
          napi_get_typedarray_info(env, v, &type, &count, &ptr, nullptr, nullptr) != napi_ok) {
        if (env.IsExceptionPending()) throw env.GetAndClearPendingException();
        throw Napi::TypeError::New(env, "write: buffers[" + std::to_string(i) + "] is not a Uint8Array");
      }
      size_t bytes = count * ElementBytes(type);
      if (c.framed && bytes > IPCAST_RECORD_MAX_PAYLOAD) {
        throw Napi::RangeError::New(env, "write: buffers[" + std::to_string(i) + "] is " + std::to_string(bytes) +
                                             " bytes, more than a record carries (" + std::to_string(IPCAST_RECORD_MAX_PAYLOAD) + ")");
      }
      c.data[i] = static_cast<const uint8_t*>(ptr);
      c.len[i] = bytes;
      // The sender's timestamp crossed the network: only an in-range value is converted.
      if (sus && sus[i] > 0 && sus[i] < 18446744073709551616.0) c.sender_us[i] = (uint64_t)sus[i];
    }
    c.eos = info[2].As<Napi::Boolean>().Value() && c.framed;
    c.total = n + (c.eos ? 1 : 0);
    c.hdrs.resize(c.total * IPCAST_RECORD_HEADER);
    c.rec = c.off = c.built = 0;
    c.seq_base = c.next_seq;
    int r = c.Run(false);
    if (r == -EAGAIN && c.spin_ns > 0) {
      // A full transport usually drains within microseconds at full speed (the reader takes
      // a slot or a message as soon as it is posted): retrying on the main thread while the
      // reader keeps making room is cheaper than the two thread hops of a worker, and for
      // the 16 KiB message queue it keeps the reader from starving while a hop is in
      // flight. The worker takes over once spin_ns pass without any progress.
      uint64_t t0 = MonoNs(), last = t0, t = t0, progress = c.bytes + c.records;
      c.spins++;
      while (r == -EAGAIN && t - last < c.spin_ns) {
        int w = c.ShortWait(c.spin_ns - (t - last));
        r = w < 0 ? w : c.Run(false);
        t = MonoNs();
        if (c.bytes + c.records != progress) {
          progress = c.bytes + c.records;
          last = t;
        }
      }
      c.spun_ns += t - t0;
      if (r == 0) c.spin_wins++;
    }
    if (r == 0) return Napi::Boolean::New(env, true);
    if (r != -EAGAIN) throw ErrnoError(env, c.last_op, -r);
    c.busy = true;
    auto* w = new WriteWorker(env, core_, info.This().As<Napi::Object>(), arr);
    Napi::Promise p = w->Promise();
    w->Queue();
    return p;
  }

  Napi::Value Writable(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Core& c = *core_;
    if (c.closed.load() || c.busy) return Napi::Boolean::New(env, false);
    switch (c.kind) {
      case Core::kPipe: {
        struct pollfd pfd = {c.fds[1], POLLOUT, 0};
        return Napi::Boolean::New(env, poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLOUT));
      }
      case Core::kShm:
        return Napi::Boolean::New(env, (c.have_slot && c.fill < c.ring.slot_bytes) ||
                                           ipcast_sem_get(c.ring.sem_id, IPCAST_SEM_FREE) > 0);
      case Core::kMsg: {
        struct msqid_ds ds;
        if (msgctl(c.qid, IPC_STAT, &ds) < 0) return Napi::Boolean::New(env, false);
        return Napi::Boolean::New(env, ds.msg_cbytes + c.body_max <= ds.msg_qbytes);
      }
    }
    return Napi::Boolean::New(env, false);
  }

  Napi::Value Stats(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Core& c = *core_;
    Napi::Object o = Napi::Object::New(env);
    o.Set("records", (double)c.records);
    o.Set("bytes", (double)c.bytes);
    o.Set("waits", (double)c.waits);
    o.Set("waitNs", (double)c.wait_ns);
    o.Set("nextSeq", (double)c.next_seq);
    o.Set("busy", c.busy);
    o.Set("closed", c.closed.load());
    if (c.kind == Core::kShm) o.Set("slotsPosted", (double)c.write_pos);
    o.Set("spins", (double)c.spins);
    o.Set("spinWins", (double)c.spin_wins);
    o.Set("spinNs", (double)c.spun_ns);
    return o;
  }

  // close(): idempotent. Removes the semaphore array / queue (waking a waiting worker with
  // EIDRM) and marks the segment for removal; closes the pipe's write end when no worker runs.
  Napi::Value Close(const Napi::CallbackInfo& info) {
    Core& c = *core_;
    c.closed.store(true);
    c.RemoveObjects();
    if (!c.busy) c.Release();
    return info.Env().Undefined();
  }
};

// ipcShmPeek(shmId) -> { ok, reason?, magic, version, slots, slotBytes, semId, creatorPid, readerPid, writePos, readPos, createdUnixMs, segmentBytes }
Napi::Value ShmPeek(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) throw Napi::TypeError::New(env, "ipcShmPeek: expected a shm id");
  ipcast_ring_header h{};
  size_t size = 0;
  int r = ipcast_ring_peek(info[0].As<Napi::Number>().Int32Value(), &h, &size);
  Napi::Object o = Napi::Object::New(env);
  o.Set("ok", r == 0);
  if (r < 0) o.Set("reason", ErrnoName(-r));
  if (r == 0) {
    o.Set("version", h.version);
    o.Set("slots", h.slot_count);
    o.Set("slotBytes", h.slot_bytes);
    o.Set("semId", h.sem_id);
    o.Set("creatorPid", h.creator_pid);
    o.Set("readerPid", h.reader_pid);
    o.Set("writePos", (double)h.write_pos);
    o.Set("readPos", (double)h.read_pos);
    o.Set("createdUnixMs", (double)h.created_unix_ms);
    o.Set("segmentBytes", (double)size);
  }
  return o;
}

// ipcRemove(kind: 'shm'|'sem'|'msg', id) -> 0 | -errno  (IPC_RMID)
Napi::Value IpcRemove(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsString() || !info[1].IsNumber()) {
    throw Napi::TypeError::New(env, "ipcRemove: expected ('shm'|'sem'|'msg', id)");
  }
  std::string kind = info[0].As<Napi::String>();
  int id = info[1].As<Napi::Number>().Int32Value();
  int r;
  if (kind == "shm") r = shmctl(id, IPC_RMID, nullptr) < 0 ? -errno : 0;
  else if (kind == "sem") r = ipcast_sem_remove(id);
  else if (kind == "msg") r = ipcast_msg_remove(id);
  else throw Napi::TypeError::New(env, "ipcRemove: kind must be shm, sem or msg, got '" + kind + "'");
  return Napi::Number::New(env, r);
}

Napi::Value MsgLimits(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ipcast_msg_limits l;
  ipcast_msg_read_limits(&l);
  Napi::Object o = Napi::Object::New(env);
  o.Set("msgmax", (double)l.msgmax);
  o.Set("msgmnb", (double)l.msgmnb);
  o.Set("msgmni", (double)l.msgmni);
  return o;
}

// ipcNowNs() -> bigint CLOCK_MONOTONIC ns (the clock of the records' hand-off stamp)
Napi::Value NowNs(const Napi::CallbackInfo& info) { return Napi::BigInt::New(info.Env(), MonoNs()); }

}  // namespace

void InitTransport(Napi::Env env, Napi::Object exports) {
  ipcast_crc32c(0, "", 0);  // build the CRC table on the main thread, before any worker uses it
  exports.Set("IpcWriter", IpcWriter::GetClass(env));
  exports.Set("ipcShmPeek", Napi::Function::New(env, ShmPeek));
  exports.Set("ipcRemove", Napi::Function::New(env, IpcRemove));
  exports.Set("ipcMsgLimits", Napi::Function::New(env, MsgLimits));
  exports.Set("ipcNowNs", Napi::Function::New(env, NowNs));
}

}  // namespace ipcast
