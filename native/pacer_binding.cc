// UdpPacer: the native pacing loop of `ipcast send` (native/pacer/pacer.h) as a JS object.
//
//   new UdpPacer({ raw, chunkBytes, gso }, onEvent)
//   .addDest(fd, host, port) -> index      a UdpSocket's fd (it stays the owner and must
//                                          outlive the thread); before start()
//   .addChannel(id, rateBps, burstBytes, maxQueueBytes) -> index   rateBps 0 = unpaced
//   .start()                               the pacing thread
//   .push(channel, buffer) -> 1 | 0 | -errno   copies; 0 = full, a 'drained' event follows
//   .end(channel) / .urgent(buffer, guide) / .stop()
//   .stats() -> { dests: [...], channels: [...] }
//   .done() -> Promise<void>               the thread has ended
//
// onEvent(type, channel) on the main thread, never per chunk: 'drained', 'stopped'.
#include "pacer_binding.h"

#include <arpa/inet.h>

#include <string>
#include <thread>
#include <vector>

#include "napi_errors.h"

extern "C" {
#include "pacer/pacer.h"
}

namespace ipcast {
namespace {

class UdpPacer : public Napi::ObjectWrap<UdpPacer> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "UdpPacer",
                       {
                           InstanceMethod<&UdpPacer::AddDest>("addDest"),
                           InstanceMethod<&UdpPacer::AddChannel>("addChannel"),
                           InstanceMethod<&UdpPacer::Start>("start"),
                           InstanceMethod<&UdpPacer::Push>("push"),
                           InstanceMethod<&UdpPacer::End>("end"),
                           InstanceMethod<&UdpPacer::Urgent>("urgent"),
                           InstanceMethod<&UdpPacer::Stop>("stop"),
                           InstanceMethod<&UdpPacer::Stats>("stats"),
                           InstanceMethod<&UdpPacer::Done>("done"),
                       });
  }

  explicit UdpPacer(const Napi::CallbackInfo& info) : Napi::ObjectWrap<UdpPacer>(info), env_(info.Env()) {
    Napi::Env env = info.Env();
    if (info.Length() < 2 || !info[0].IsObject() || !info[1].IsFunction()) {
      throw Napi::TypeError::New(env, "UdpPacer: expected (options, onEvent)");
    }
    Napi::Object o = info[0].As<Napi::Object>();
    pacer_options po{};
    po.raw = o.Get("raw").ToBoolean().Value() ? 1 : 0;
    po.gso = o.Get("gso").ToBoolean().Value() ? 1 : 0;
    Napi::Value cb = o.Get("chunkBytes");
    po.chunk_bytes = cb.IsNumber() ? cb.As<Napi::Number>().Uint32Value() : 0;
    if (po.chunk_bytes == 0 || po.chunk_bytes > IPCAST_MAX_DATAGRAM_PAYLOAD_BYTES) {
      throw Napi::RangeError::New(env, "UdpPacer: chunkBytes 1.." + std::to_string(IPCAST_MAX_DATAGRAM_PAYLOAD_BYTES));
    }
    po.on_event = OnEvent;
    po.ctx = this;
    pacer_ = pacer_create(&po);
    if (!pacer_) throw ErrnoError(env, "pacer_create", errno);
    tsfn_ = Napi::ThreadSafeFunction::New(env, info[1].As<Napi::Function>(), "ipcast:pacer", 0, 1);
    tsfn_.Unref(env);  // only the running thread holds the loop open (Ref in start())
    napi_add_env_cleanup_hook(env, CleanupHook, this);
    hooked_ = true;
  }

  ~UdpPacer() override {
    if (hooked_) napi_remove_env_cleanup_hook(env_, CleanupHook, this);
    Shutdown();
    if (pacer_) {
      pacer_free(pacer_);
      pacer_ = nullptr;
    }
  }

 private:
  // The largest payload of one IPv4 datagram with no header (raw format).
  static constexpr uint32_t IPCAST_MAX_DATAGRAM_PAYLOAD_BYTES = 65507;

  napi_env env_;
  pacer* pacer_ = nullptr;
  std::thread thread_;
  Napi::ThreadSafeFunction tsfn_;
  bool hooked_ = false, started_ = false, finished_ = false;
  std::vector<Napi::Promise::Deferred> done_waiters_;

  static void OnEvent(void* ctx, const pacer_event* ev) {
    auto* self = static_cast<UdpPacer*>(ctx);
    auto* e = new pacer_event(*ev);
    if (self->tsfn_.NonBlockingCall(e, [self](Napi::Env env, Napi::Function fn, pacer_event* e) { self->Deliver(env, fn, e); }) != napi_ok) {
      delete e;  // teardown: nobody to tell
    }
  }

  void Deliver(Napi::Env env, Napi::Function fn, pacer_event* raw) {
    pacer_event e = *raw;
    delete raw;
    Napi::HandleScope scope(env);
    if (e.type == PACER_EV_STOPPED) Finish(env);
    try {
      fn.Call({Napi::String::New(env, e.type == PACER_EV_DRAINED ? "drained" : "stopped"), Napi::Number::New(env, e.channel)});
    } catch (const Napi::Error& err) {
      napi_fatal_exception(env, err.Value());
    }
  }

  // Main thread, after the thread's last event: join, settle done(). The pacer itself stays
  // (stats() goes on answering) until the object is collected.
  void Finish(Napi::Env env) {
    if (thread_.joinable()) thread_.join();
    finished_ = true;
    tsfn_.Release();
    for (auto& d : done_waiters_) d.Resolve(env.Undefined());
    done_waiters_.clear();
    Unref();
  }

  void CheckNotStarted(Napi::Env env) {
    if (started_) throw Napi::Error::New(env, "UdpPacer: already started");
  }

  int Channel(const Napi::CallbackInfo& info) {
    int c = info.Length() > 0 && info[0].IsNumber() ? info[0].As<Napi::Number>().Int32Value() : -1;
    if (c < 0 || c >= pacer_channel_count(pacer_)) throw Napi::RangeError::New(info.Env(), "UdpPacer: no such channel");
    return c;
  }

  Napi::Value AddDest(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    CheckNotStarted(env);
    if (info.Length() < 3 || !info[0].IsNumber() || !info[1].IsString() || !info[2].IsNumber()) {
      throw Napi::TypeError::New(env, "UdpPacer.addDest: expected (fd, host, port)");
    }
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons((uint16_t)info[2].As<Napi::Number>().Uint32Value());
    if (inet_pton(AF_INET, info[1].As<Napi::String>().Utf8Value().c_str(), &to.sin_addr) != 1) {
      throw Napi::TypeError::New(env, "UdpPacer.addDest: host must be an IPv4 address");
    }
    int r = pacer_add_dest(pacer_, info[0].As<Napi::Number>().Int32Value(), &to);
    if (r < 0) throw ErrnoError(env, "pacer_add_dest", -r);
    return Napi::Number::New(env, r);
  }

  Napi::Value AddChannel(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    CheckNotStarted(env);
    if (info.Length() < 4 || !info[0].IsNumber() || !info[1].IsNumber() || !info[2].IsNumber() || !info[3].IsNumber()) {
      throw Napi::TypeError::New(env, "UdpPacer.addChannel: expected (id, rateBps, burstBytes, maxQueueBytes)");
    }
    int r = pacer_add_channel(pacer_, (uint16_t)info[0].As<Napi::Number>().Uint32Value(), info[1].As<Napi::Number>().DoubleValue(),
                              info[2].As<Napi::Number>().DoubleValue(), (size_t)info[3].As<Napi::Number>().DoubleValue());
    if (r < 0) throw ErrnoError(env, "pacer_add_channel", -r);
    return Napi::Number::New(env, r);
  }

  void Start(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    CheckNotStarted(env);
    started_ = true;
    Ref();  // alive while the thread runs
    tsfn_.Ref(env);
    thread_ = std::thread([this] { pacer_run(pacer_); });
  }

  Napi::Value Push(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    int c = Channel(info);
    if (info.Length() < 2 || !info[1].IsTypedArray()) throw Napi::TypeError::New(env, "UdpPacer.push: expected (channel, Uint8Array)");
    auto b = info[1].As<Napi::Uint8Array>();
    return Napi::Number::New(env, pacer_push(pacer_, c, b.Data(), b.ByteLength()));
  }

  void End(const Napi::CallbackInfo& info) { pacer_end(pacer_, Channel(info)); }

  void Urgent(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsTypedArray()) throw Napi::TypeError::New(env, "UdpPacer.urgent: expected (Uint8Array, guide)");
    auto b = info[0].As<Napi::Uint8Array>();
    pacer_urgent(pacer_, b.Data(), b.ByteLength(), info.Length() > 1 && info[1].ToBoolean().Value() ? 1 : 0);
  }

  void Stop(const Napi::CallbackInfo&) { pacer_stop(pacer_); }

  Napi::Value Done(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Promise::Deferred d = Napi::Promise::Deferred::New(env);
    if (!started_ || finished_) d.Resolve(env.Undefined());
    else done_waiters_.push_back(d);
    return d.Promise();
  }

  Napi::Value Stats(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Object o = Napi::Object::New(env);
    Napi::Array dests = Napi::Array::New(env);
    for (int i = 0; i < pacer_dest_count(pacer_); i++) {
      struct pacer_dest_stats s;
      pacer_dest_stats(pacer_, i, &s);
      Napi::Object d = Napi::Object::New(env);
      d.Set("datagrams", (double)s.datagrams);
      d.Set("bytes", (double)s.bytes);
      d.Set("guides", (double)s.guides);
      d.Set("segmented", (double)s.segmented);
      d.Set("errors", (double)s.errors);
      Napi::Array errnos = Napi::Array::New(env);
      for (uint32_t k = 0, n = 0; k < PACER_ERRNO_SLOTS; k++) {
        if (s.errnos[k] == 0) break;
        Napi::Array pair = Napi::Array::New(env, 2);
        pair.Set(0u, s.errnos[k]);
        pair.Set(1u, (double)s.errno_counts[k]);
        errnos.Set(n++, pair);
      }
      d.Set("errnos", errnos);
      dests.Set((uint32_t)i, d);
    }
    Napi::Array channels = Napi::Array::New(env);
    for (int i = 0; i < pacer_channel_count(pacer_); i++) {
      struct pacer_channel_stats s;
      pacer_channel_stats(pacer_, i, &s);
      Napi::Object c = Napi::Object::New(env);
      c.Set("chunks", (double)s.chunks);
      c.Set("bytes", (double)s.bytes);
      c.Set("queued", (double)s.queued);
      c.Set("ended", s.ended != 0);
      channels.Set((uint32_t)i, c);
    }
    o.Set("dests", dests);
    o.Set("channels", channels);
    return o;
  }

  static void CleanupHook(void* arg) {
    auto* self = static_cast<UdpPacer*>(arg);
    self->hooked_ = false;
    self->Shutdown();
  }

  // Teardown or collection: stop the thread and wait for it (it sees a stop within one
  // FULL_POLL_MS slice, then waits at most FINAL_WAIT_NS for its end-of-stream chunks).
  void Shutdown() {
    if (!pacer_ || !thread_.joinable()) return;
    pacer_stop(pacer_);
    thread_.join();
    tsfn_.Abort();
  }
};

}  // namespace

void InitPacer(Napi::Env env, Napi::Object exports) { exports.Set("UdpPacer", UdpPacer::Define(env)); }

}  // namespace ipcast
