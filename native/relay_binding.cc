// UdpRelay: the native relay path of `ipcast recv` (native/relay/relay.h) as a JS object.
//
//   new UdpRelay(fd, { channel, window, maxHoldMs, maxBufferBytes, kinds }, onEvent)
//       starts a thread of its own that reads the UDP socket fd (a UdpSocket's, which stays its
//       owner and must outlive the relay) and writes the selected channel into the writers
//   .attach(kind, session, ipcWriter)   lends the IpcWriter to that session's output of kind
//   .detach(kind, session, discard)     asks for it back ('returned' event); discard: drop the queue
//   .endIdle()                          the idle timeout: release what is held, end the stream
//   .stats()                            counters (relay_stats) as numbers
//   .stop() -> Promise<void>            ends the thread; every lent writer comes back first
//
// onEvent(type, kind, a, b, data) on the main thread, never per chunk:
//   'guide' (data: the payload), 'selected' (a channel, b 1 = from the guide),
//   'session-end' (a session, b 1 end of stream / 2 idle), 'drained' / 'returned' /
//   'handoff-error' (kind, a session, b errno), 'socket-error' (b errno).
// A writer handed back in an event is returned to its IpcWriter before onEvent runs.
#include "relay_binding.h"

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "napi_errors.h"
#include "transport_binding.h"

extern "C" {
#include "relay/relay.h"
}

namespace ipcast {
namespace {

const char* const KIND_NAMES[RELAY_KINDS] = {"pipe", "shm", "msg"};

int KindIndex(Napi::Env env, Napi::Value v) {
  std::string k = v.IsString() ? v.As<Napi::String>().Utf8Value() : "";
  for (int i = 0; i < RELAY_KINDS; i++)
    if (k == KIND_NAMES[i]) return i;
  throw Napi::TypeError::New(env, "UdpRelay: kind must be 'pipe', 'shm' or 'msg'");
}

struct Event {
  relay_event ev;
  std::vector<uint8_t> data;
};

const char* EventName(relay_event_type t) {
  switch (t) {
    case RELAY_EV_GUIDE: return "guide";
    case RELAY_EV_SELECTED: return "selected";
    case RELAY_EV_SESSION_END: return "session-end";
    case RELAY_EV_DRAINED: return "drained";
    case RELAY_EV_RETURNED: return "returned";
    case RELAY_EV_HANDOFF_ERROR: return "handoff-error";
    case RELAY_EV_SOCKET_ERROR: return "socket-error";
    case RELAY_EV_STOPPED: return "stopped";
  }
  return "unknown";
}

class UdpRelay : public Napi::ObjectWrap<UdpRelay> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "UdpRelay",
                       {
                           InstanceMethod<&UdpRelay::Attach>("attach"),
                           InstanceMethod<&UdpRelay::Detach>("detach"),
                           InstanceMethod<&UdpRelay::EndIdle>("endIdle"),
                           InstanceMethod<&UdpRelay::Stats>("stats"),
                           InstanceMethod<&UdpRelay::Stop>("stop"),
                       });
  }

  explicit UdpRelay(const Napi::CallbackInfo& info) : Napi::ObjectWrap<UdpRelay>(info), env_(info.Env()) {
    Napi::Env env = info.Env();
    if (info.Length() < 3 || !info[0].IsNumber() || !info[1].IsObject() || !info[2].IsFunction()) {
      throw Napi::TypeError::New(env, "UdpRelay: expected (fd, options, onEvent)");
    }
    Napi::Object o = info[1].As<Napi::Object>();
    auto num = [&](const char* k, double def) {
      Napi::Value v = o.Get(k);
      return v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : def;
    };
    relay_options ro{};
    ro.fd = info[0].As<Napi::Number>().Int32Value();
    ro.channel = (int)num("channel", 0);
    ro.window = (int)num("window", 32);
    ro.max_hold_ms = num("maxHoldMs", 50);
    ro.max_buffer_bytes = (uint64_t)num("maxBufferBytes", 8 << 20);
    if (o.Get("kinds").IsArray()) {
      Napi::Array kinds = o.Get("kinds").As<Napi::Array>();
      for (uint32_t i = 0; i < kinds.Length(); i++) ro.kinds[KindIndex(env, kinds.Get(i))] = 1;
    }
    if (ro.fd < 0 || ro.window < 0 || ro.window > SEQ_MAX_WINDOW || ro.channel < 0 || ro.channel > 65535) {
      throw Napi::RangeError::New(env, "UdpRelay: fd >= 0, window 0.." + std::to_string(SEQ_MAX_WINDOW) + ", channel 0..65535");
    }
    ro.on_event = OnEvent;
    ro.ctx = this;
    relay_ = relay_create(&ro);
    if (!relay_) throw ErrnoError(env, "relay_create", errno);
    tsfn_ = Napi::ThreadSafeFunction::New(env, info[2].As<Napi::Function>(), "ipcast:relay", 0, 1);
    Ref();  // alive while the thread runs
    thread_ = std::thread([this] { relay_run(relay_); });
    napi_add_env_cleanup_hook(env, CleanupHook, this);
    hooked_ = true;
  }

  ~UdpRelay() override {
    if (hooked_) napi_remove_env_cleanup_hook(env_, CleanupHook, this);
    Shutdown();
  }

 private:
  napi_env env_;
  relay* relay_ = nullptr;
  std::thread thread_;
  Napi::ThreadSafeFunction tsfn_;
  bool hooked_ = false, stopping_ = false, refd_ = true;
  std::vector<Napi::Promise::Deferred> stop_waiters_;
  relay_stats final_{};

  // The relay thread: every event crosses to the main thread as a copy.
  static void OnEvent(void* ctx, const relay_event* ev) {
    auto* self = static_cast<UdpRelay*>(ctx);
    auto* e = new Event{*ev, {}};
    if (ev->data && ev->len) e->data.assign(ev->data, ev->data + ev->len);
    e->ev.data = nullptr;
    if (self->tsfn_.NonBlockingCall(e, [self](Napi::Env env, Napi::Function fn, Event* e) { self->Deliver(env, fn, e); }) != napi_ok) {
      // Teardown: nobody to tell. A writer lent to us stays with its IpcWriter, now closed.
      delete e;
    }
  }

  void Deliver(Napi::Env env, Napi::Function fn, Event* raw) {
    std::unique_ptr<Event> e(raw);
    Napi::HandleScope scope(env);
    if (e->ev.token) ReturnIpcWriter(static_cast<IpcWriterLoan*>(e->ev.token));
    if (e->ev.type == RELAY_EV_STOPPED) {
      Finish(env);
      return;
    }
    Napi::Value kind = e->ev.kind >= 0 && e->ev.kind < RELAY_KINDS ? Napi::String::New(env, KIND_NAMES[e->ev.kind]) : env.Undefined();
    Napi::Value data = e->data.empty() ? env.Undefined() : Napi::Buffer<uint8_t>::Copy(env, e->data.data(), e->data.size()).As<Napi::Value>();
    try {
      fn.Call({Napi::String::New(env, EventName(e->ev.type)), kind, Napi::Number::New(env, (double)e->ev.a),
               Napi::Number::New(env, (double)e->ev.b), data});
    } catch (const Napi::Error& err) {
      napi_fatal_exception(env, err.Value());
    }
  }

  // Main thread, after the thread's last event: join, free, settle stop().
  void Finish(Napi::Env env) {
    if (thread_.joinable()) thread_.join();
    relay_get_stats(relay_, &final_);  // stats() goes on answering with the last figures
    relay_free(relay_);
    relay_ = nullptr;
    tsfn_.Release();
    for (auto& d : stop_waiters_) d.Resolve(env.Undefined());
    stop_waiters_.clear();
    if (refd_) {
      refd_ = false;
      Unref();
    }
  }

  void CheckRunning(Napi::Env env) {
    if (!relay_ || stopping_) throw Napi::Error::New(env, "UdpRelay: stopped");
  }

  void Attach(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    CheckRunning(env);
    int kind = KindIndex(env, info[0]);
    uint32_t session = info[1].IsNumber() ? info[1].As<Napi::Number>().Uint32Value() : 0;
    IpcWriterLoan* token = nullptr;
    void* w = LendIpcWriter(env, info[2], &token);
    relay_attach(relay_, kind, session, static_cast<ipcast_writer*>(w), token);
  }

  void Detach(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!relay_ || stopping_) return;  // stopping gives every writer back anyway
    int kind = KindIndex(env, info[0]);
    uint32_t session = info[1].IsNumber() ? info[1].As<Napi::Number>().Uint32Value() : 0;
    relay_detach(relay_, kind, session, info.Length() > 2 && info[2].ToBoolean().Value() ? 1 : 0);
  }

  void EndIdle(const Napi::CallbackInfo& info) {
    CheckRunning(info.Env());
    relay_end_idle(relay_);
  }

  Napi::Value Stats(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Object o = Napi::Object::New(env);
    relay_stats s = final_;
    if (relay_) relay_get_stats(relay_, &s);
    o.Set("datagrams", (double)s.datagrams);
    o.Set("bytes", (double)s.bytes);
    o.Set("otherChannel", (double)s.other_channel);
    o.Set("delivered", (double)s.delivered);
    o.Set("activity", (double)s.activity);
    o.Set("lost", (double)s.lost);
    o.Set("reordered", (double)s.reordered);
    o.Set("duplicates", (double)s.duplicates);
    o.Set("channel", (double)s.channel);
    o.Set("session", (double)s.session);
    Napi::Array errors = Napi::Array::New(env, RELAY_REASONS);
    for (uint32_t i = 0; i < RELAY_REASONS; i++) errors.Set(i, (double)s.decode_errors[i]);
    o.Set("decodeErrors", errors);
    for (int k = 0; k < RELAY_KINDS; k++) {
      Napi::Object t = Napi::Object::New(env);
      t.Set("handedOff", (double)s.kinds[k].handed_off);
      t.Set("handedOffBytes", (double)s.kinds[k].handed_off_bytes);
      t.Set("droppedSlow", (double)s.kinds[k].dropped_slow);
      t.Set("handOffErrors", (double)s.kinds[k].handoff_errors);
      t.Set("waitNs", (double)s.kinds[k].wait_ns);
      t.Set("depth", (double)s.kinds[k].depth);
      t.Set("bufferBytes", (double)s.kinds[k].bytes);
      o.Set(KIND_NAMES[k], t);
    }
    return o;
  }

  Napi::Value Stop(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Promise::Deferred d = Napi::Promise::Deferred::New(env);
    Napi::Promise p = d.Promise();
    if (!relay_) {
      d.Resolve(env.Undefined());
      return p;
    }
    stop_waiters_.push_back(d);
    if (!stopping_) {
      stopping_ = true;
      relay_stop(relay_);
    }
    return p;
  }

  static void CleanupHook(void* arg) {
    auto* self = static_cast<UdpRelay*>(arg);
    self->hooked_ = false;
    self->Shutdown();
  }

  // Teardown or collection: stop the thread and wait for it here (it ends within one poll).
  void Shutdown() {
    if (!relay_) return;
    relay_stop(relay_);
    if (thread_.joinable()) thread_.join();
    tsfn_.Abort();
    relay_get_stats(relay_, &final_);
    relay_free(relay_);
    relay_ = nullptr;
  }
};

// relaySequencerReplay(ops: Uint8Array, seqs: Uint32Array, timestamps: Float64Array,
//   nowMs: Float64Array, window, maxHoldMs) -> { order: number[], lost, reordered, duplicates, restarts }
// For the tests: runs the C sequencer over a script (op 0 push item i, 1 flushStale, 2
// releaseAll) so that it can be compared with src/receiver/sequence-tracker.ts.
Napi::Value SequencerReplay(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 6 || !info[0].IsTypedArray() || !info[1].IsTypedArray() || !info[2].IsTypedArray() || !info[3].IsTypedArray()) {
    throw Napi::TypeError::New(env, "relaySequencerReplay: expected (Uint8Array, Uint32Array, Float64Array, Float64Array, window, maxHoldMs)");
  }
  auto ops = info[0].As<Napi::Uint8Array>();
  auto seqs = info[1].As<Napi::Uint32Array>();
  auto ts = info[2].As<Napi::Float64Array>();
  auto now = info[3].As<Napi::Float64Array>();
  size_t n = ops.ElementLength();
  if (seqs.ElementLength() < n || ts.ElementLength() < n || now.ElementLength() < n) throw Napi::RangeError::New(env, "relaySequencerReplay: arrays too short");
  auto s = std::make_unique<sequencer>();
  seq_init(s.get(), info[4].As<Napi::Number>().Int32Value(), info[5].As<Napi::Number>().DoubleValue());
  std::vector<double> order;
  void* out[SEQ_OUT_MAX];
  for (size_t i = 0; i < n; i++) {
    int got = 0, taken = 0;
    if (ops[i] == 0) got = seq_push(s.get(), seqs[i], (void*)(uintptr_t)(i + 1), ts[i], now[i], out, &taken);
    else if (ops[i] == 1) got = seq_flush_stale(s.get(), now[i], out);
    else got = seq_release_all(s.get(), out);
    for (int j = 0; j < got; j++) order.push_back((double)((uintptr_t)out[j] - 1));
  }
  Napi::Object o = Napi::Object::New(env);
  Napi::Array arr = Napi::Array::New(env, order.size());
  for (size_t i = 0; i < order.size(); i++) arr.Set((uint32_t)i, order[i]);
  o.Set("order", arr);
  o.Set("lost", (double)s->counts.lost);
  o.Set("reordered", (double)s->counts.reordered);
  o.Set("duplicates", (double)s->counts.duplicates);
  o.Set("restarts", (double)s->counts.restarts);
  return o;
}

}  // namespace

void InitRelay(Napi::Env env, Napi::Object exports) {
  exports.Set("UdpRelay", UdpRelay::Define(env));
  exports.Set("relaySequencerReplay", Napi::Function::New(env, SequencerReplay));
}

}  // namespace ipcast
