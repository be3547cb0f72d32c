// The N-API skin over the writer engine (engine/writer.c), exposed to TypeScript as:
//
//   new IpcWriter(kind: 'pipe'|'shm'|'msg', { framed, pipeBytes, slots, slotBytes, msgBytes, spinUs })
//   .info                               ids, fds, sizes and kernel limits
//   .write(buffers, senderUs|null, eos) true when everything went in on this thread (the
//                                       engine's non-blocking put and spin), else a Promise
//                                       that settles when the rest is in
//   .writable()                         room right now?
//   .stats()                            records, bytes, waits, waitNs, spins, nextSeq, ...
//   .close()                            marks closed; removes the System V objects; closes
//                                       the pipe's write end (now, or when the wait ends)
//
// Nothing here blocks the event loop: when the engine says the transport stayed full
// (-EAGAIN after its spin), the rest of the batch is finished by ipcast_writer_finish on a
// thread of this writer's own (node-pty's pattern: a blocking wait does not take one of
// libuv's four pool threads), which reports back through a ThreadSafeFunction. The thread is
// joined when the writer is collected and by an environment cleanup hook at teardown.
// The JS buffers of a batch stay referenced until its promise settles; one write at a time.
#include "transport_binding.h"

#include <errno.h>

#include <condition_variable>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "napi_errors.h"

extern "C" {
#include "crc32c.h"
#include "engine/record.h"
#include "engine/writer.h"
}

namespace ipcast {
namespace {

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

class IpcWriter;
// Every live IpcWriter: a value is unwrapped as one only if it is in here.
std::mutex live_mu;
std::set<IpcWriter*> live;

class IpcWriter : public Napi::ObjectWrap<IpcWriter> {
 public:
  friend void* ::ipcast::LendIpcWriter(Napi::Env, Napi::Value, IpcWriterLoan**);
  friend void ::ipcast::ReturnIpcWriter(IpcWriterLoan*);
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
    ipcast_writer_options opt;
    ipcast_writer_default_options(&opt);
    opt.framed = !o.Get("framed").IsBoolean() || o.Get("framed").As<Napi::Boolean>().Value();
    opt.pipe_bytes = (int)num("pipeBytes", opt.pipe_bytes);
    double slots = num("slots", opt.slots), sb = num("slotBytes", opt.slot_bytes), msg = num("msgBytes", 0);
    double spin = num("spinUs", opt.spin_us);
    ipcast_kind k;
    if (kind == "pipe") k = IPCAST_PIPE;
    else if (kind == "shm") k = IPCAST_SHM;
    else if (kind == "msg") k = IPCAST_MSG;
    else throw Napi::TypeError::New(env, "IpcWriter: kind must be 'pipe', 'shm' or 'msg', got '" + kind + "'");
    if (k == IPCAST_SHM && (!(slots >= 1 && slots <= IPCAST_RING_MAX_SLOTS) ||
                            !(sb >= IPCAST_RING_MIN_SLOT_BYTES && sb <= IPCAST_RING_MAX_SLOT_BYTES))) {
      throw Napi::RangeError::New(env, "IpcWriter: slots must be 1.." + std::to_string(IPCAST_RING_MAX_SLOTS) + " and slotBytes " +
                                           std::to_string(IPCAST_RING_MIN_SLOT_BYTES) + ".." + std::to_string(IPCAST_RING_MAX_SLOT_BYTES));
    }
    if (!(spin >= 0 && spin <= IPCAST_MAX_SPIN_US)) {
      throw Napi::RangeError::New(env, "IpcWriter: spinUs must be 0.." + std::to_string(IPCAST_MAX_SPIN_US));
    }
    opt.slots = (uint32_t)slots;
    opt.slot_bytes = (uint32_t)sb;
    opt.msg_bytes = msg > 0 ? (size_t)msg : 0;
    opt.spin_us = (uint32_t)spin;
    int r = ipcast_writer_open(&w_, k, &opt);
    if (r < 0) {
      std::string op = w_.last_op;
      ipcast_writer_free(&w_);
      throw ErrnoError(env, op, -r);
    }
    opened_ = true;
    Napi::Object inf = Napi::Object::New(env);
    inf.Set("kind", kind);
    inf.Set("framed", w_.framed != 0);
    inf.Set("spinUs", (double)(w_.spin_ns / 1000));
    if (k == IPCAST_PIPE) {
      inf.Set("readFd", w_.fds[0]);
      inf.Set("writeFd", w_.fds[1]);
      inf.Set("capacity", w_.capacity);
    } else if (k == IPCAST_SHM) {
      inf.Set("shmId", w_.ring.shm_id);
      inf.Set("semId", w_.ring.sem_id);
      inf.Set("slots", w_.ring.slot_count);
      inf.Set("slotBytes", w_.ring.slot_bytes);
      inf.Set("segmentBytes", (double)w_.ring.size);
    } else {
      inf.Set("msgId", w_.qid);
      inf.Set("msgBody", (double)w_.body_max);
      inf.Set("msgmax", (double)w_.limits.msgmax);
      inf.Set("msgmnb", (double)w_.limits.msgmnb);
      inf.Set("qbytes", (double)w_.qbytes);
    }
    info_ = Napi::Persistent(inf);
    env_ = env;
    {
      std::lock_guard<std::mutex> lock(live_mu);
      live.insert(this);
    }
    napi_add_env_cleanup_hook(env, CleanupHook, this);
    hooked_ = true;
  }

  ~IpcWriter() override {
    {
      std::lock_guard<std::mutex> lock(live_mu);
      live.erase(this);
    }
    if (hooked_) napi_remove_env_cleanup_hook(env_, CleanupHook, this);
    Stop();
    if (opened_) ipcast_writer_free(&w_);  // a writer collected without close(): its objects go too
  }

 private:
  ipcast_writer w_{};
  bool opened_ = false, busy_ = false, hooked_ = false, lent_ = false;
  napi_env env_ = nullptr;
  Napi::ObjectReference info_, keep_;
  std::unique_ptr<Napi::Promise::Deferred> deferred_;
  // the wait thread
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool job_ = false, quit_ = false;
  Napi::ThreadSafeFunction tsfn_;

  static void CleanupHook(void* arg) {
    auto* self = static_cast<IpcWriter*>(arg);
    self->hooked_ = false;
    self->Stop();
  }

  // Closes the writer (a blocked wait returns: closed flag, EIDRM), joins the thread.
  void Stop() {
    if (opened_) ipcast_writer_close(&w_);
    if (thread_.joinable()) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        quit_ = true;
      }
      cv_.notify_one();
      thread_.join();
      tsfn_.Abort();
    }
  }

  void ThreadMain() {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      cv_.wait(lock, [this] { return job_ || quit_; });
      if (!job_) return;
      job_ = false;
      lock.unlock();
      int r = ipcast_writer_finish(&w_);
      tsfn_.NonBlockingCall([this, r](Napi::Env env, Napi::Function) { Done(env, r); });
      lock.lock();
    }
  }

  // Main thread: the waited part of a write ended.
  void Done(Napi::Env env, int r) {
    Napi::HandleScope scope(env);
    busy_ = false;
    keep_.Reset();
    tsfn_.Unref(env);
    if (__atomic_load_n(&w_.closed, __ATOMIC_ACQUIRE)) ipcast_writer_release(&w_);
    std::unique_ptr<Napi::Promise::Deferred> d = std::move(deferred_);
    if (r == 0) d->Resolve(env.Undefined());
    else d->Reject(ErrnoError(env, w_.last_op, -r).Value());
    Unref();  // the JS object may be collected again
  }

  Napi::Value Info(const Napi::CallbackInfo&) { return info_.Value(); }

  // write(buffers: Uint8Array[], senderUs: Float64Array | null, eos: boolean) -> true | Promise<void>
  Napi::Value Write(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 3 || !info[0].IsArray() || !info[2].IsBoolean()) {
      throw Napi::TypeError::New(env, "write: expected (Uint8Array[], Float64Array | null, eos: boolean)");
    }
    if (busy_ || lent_) {
      Napi::Error e = Napi::Error::New(env, busy_ ? "write: a write is already in progress" : "write: the writer is lent to the native relay");
      e.Set("code", busy_ ? "ERR_BUSY" : "ERR_LENT");
      throw e;
    }
    if (__atomic_load_n(&w_.closed, __ATOMIC_ACQUIRE)) throw ErrnoError(env, "write", ECANCELED);
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
    if (ipcast_writer_reserve(&w_, n) < 0) throw ErrnoError(env, "write", ENOMEM);
    // Raw N-API: two calls per chunk (get_element, get_typedarray_info) instead of the
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
      if (w_.framed && bytes > IPCAST_RECORD_MAX_PAYLOAD) {
        throw Napi::RangeError::New(env, "write: buffers[" + std::to_string(i) + "] is " + std::to_string(bytes) +
                                             " bytes, more than a record carries (" + std::to_string(IPCAST_RECORD_MAX_PAYLOAD) + ")");
      }
      w_.data[i] = static_cast<const uint8_t*>(ptr);
      w_.len[i] = bytes;
      // The sender's timestamp crossed the network: only an in-range value is converted.
      w_.sender_us[i] = sus && sus[i] > 0 && sus[i] < 18446744073709551616.0 ? (uint64_t)sus[i] : 0;
    }
    int r = ipcast_writer_write(&w_, n, info[2].As<Napi::Boolean>().Value());
    if (r == 0) return Napi::Boolean::New(env, true);
    if (r != -EAGAIN) throw ErrnoError(env, w_.last_op, -r);
    // Still full after the spin: the wait thread finishes the batch.
    if (!thread_.joinable()) {
      tsfn_ = Napi::ThreadSafeFunction::New(env, Napi::Function::New(env, [](const Napi::CallbackInfo&) {}), "ipcast:ipc-wait", 0, 1);
      tsfn_.Unref(env);
      thread_ = std::thread(&IpcWriter::ThreadMain, this);
    }
    busy_ = true;
    keep_ = Napi::Persistent(arr.As<Napi::Object>());
    deferred_ = std::make_unique<Napi::Promise::Deferred>(env);
    Napi::Promise p = deferred_->Promise();
    Ref();  // alive (not collected) while the thread uses it
    tsfn_.Ref(env);  // and the loop alive until the promise settles
    {
      std::lock_guard<std::mutex> lock(mu_);
      job_ = true;
    }
    cv_.notify_one();
    return p;
  }

  Napi::Value Writable(const Napi::CallbackInfo& info) {
    return Napi::Boolean::New(info.Env(), !busy_ && !lent_ && ipcast_writer_writable(&w_));
  }

  Napi::Value Stats(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    ipcast_writer_stats s;
    ipcast_writer_get_stats(&w_, &s);
    Napi::Object o = Napi::Object::New(env);
    o.Set("records", (double)s.records);
    o.Set("bytes", (double)s.bytes);
    o.Set("waits", (double)s.waits);
    o.Set("waitNs", (double)s.wait_ns);
    o.Set("nextSeq", (double)s.next_seq);
    o.Set("busy", busy_ || lent_);
    o.Set("closed", __atomic_load_n(&w_.closed, __ATOMIC_ACQUIRE) != 0);
    if (w_.kind == IPCAST_SHM) o.Set("slotsPosted", (double)s.slots_posted);
    o.Set("spins", (double)s.spins);
    o.Set("spinWins", (double)s.spin_wins);
    o.Set("spinNs", (double)s.spin_ns);
    return o;
  }

  // close(): idempotent. Removes the semaphore array / queue (waking a waiting thread with
  // EIDRM) and marks the segment for removal; closes the pipe's write end when no wait runs.
  Napi::Value Close(const Napi::CallbackInfo& info) {
    ipcast_writer_close(&w_);
    if (!busy_ && !lent_) ipcast_writer_release(&w_);
    return info.Env().Undefined();
  }
};

}  // namespace

struct IpcWriterLoan {
  IpcWriter* writer;
  Napi::ObjectReference keep;
};

void* LendIpcWriter(Napi::Env env, Napi::Value v, IpcWriterLoan** token) {
  IpcWriter* w = nullptr;
  if (v.IsObject()) {
    void* raw = nullptr;
    if (napi_unwrap(env, v, &raw) == napi_ok) {
      std::lock_guard<std::mutex> lock(live_mu);
      if (live.count(static_cast<IpcWriter*>(raw))) w = static_cast<IpcWriter*>(raw);
    }
  }
  if (!w) throw Napi::TypeError::New(env, "expected an IpcWriter");
  if (w->busy_ || w->lent_ || __atomic_load_n(&w->w_.closed, __ATOMIC_ACQUIRE)) {
    Napi::Error e = Napi::Error::New(env, "the writer is busy, lent or closed");
    e.Set("code", "ERR_BUSY");
    throw e;
  }
  w->lent_ = true;
  *token = new IpcWriterLoan{w, Napi::Persistent(v.As<Napi::Object>())};
  return &w->w_;
}

void ReturnIpcWriter(IpcWriterLoan* token) {
  IpcWriter* w = token->writer;
  w->lent_ = false;
  if (__atomic_load_n(&w->w_.closed, __ATOMIC_ACQUIRE)) ipcast_writer_release(&w->w_);
  delete token;
}

void InitTransport(Napi::Env env, Napi::Object exports) {
  ipcast_crc32c(0, "", 0);  // build the CRC table on the main thread, before any worker uses it
  exports.Set("IpcWriter", IpcWriter::GetClass(env));
  InitIpcHelpers(env, exports);
}

}  // namespace ipcast
