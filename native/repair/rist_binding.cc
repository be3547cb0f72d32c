// RistLink: one RIST endpoint of ipcast over librist (simple profile), opened at run time
// (rist_api.h). librist runs the protocol on threads of its own (RTP out, RTCP, NACK and
// retransmission); ipcast adds one thread per link that reads the receiver's output queue
// (rist_receiver_data_read2) and hands batches to JS through a ThreadSafeFunction, or, for a
// sender, waits for stop() to destroy the context off the main thread.
//
// Events to JS: onEvent(type, data, lengths|text)
//   'data'    Buffer (blocks back to back), Uint32Array (their lengths)
//   'stats'   undefined, the JSON text of librist's statistics callback
//   'stopped' after stop(): the context destroyed, the thread ended
#include <dlfcn.h>
#include <napi.h>
#include <stdio.h>
#include <string.h>

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>

#include "dl_open.h"
#include "link_common.h"
#include "multicast_pin.h"
#include "rist_api.h"

namespace ipcast {
namespace rist {

const Api* Load(const std::string& name, std::string* why) {
  static std::mutex mu;
  static Api api;
  static bool loaded = false;
  std::lock_guard<std::mutex> lock(mu);
  if (loaded) return &api;
  std::vector<std::string> names;
  if (!name.empty()) names.push_back(name);
  else names = {"librist.so.4", "librist.so"};
  void* h = DlopenFirst(names, why);
  if (!h) return nullptr;
  DlSymbols sym(h, "librist", why);
  sym(api.sender_create, "rist_sender_create");
  sym(api.receiver_create, "rist_receiver_create");
  sym(api.parse_address2, "rist_parse_address2");
  sym(api.peer_config_free2, "rist_peer_config_free2");
  sym(api.peer_create, "rist_peer_create");
  sym(api.start, "rist_start");
  sym(api.destroy, "rist_destroy");
  sym(api.sender_data_write, "rist_sender_data_write");
  sym(api.receiver_data_read2, "rist_receiver_data_read2");
  sym(api.receiver_data_block_free2, "rist_receiver_data_block_free2");
  sym(api.stats_callback_set, "rist_stats_callback_set");
  sym(api.stats_free, "rist_stats_free");
  sym(api.logging_set, "rist_logging_set");
  sym(api.logging_settings_free2, "rist_logging_settings_free2");
  sym(api.version, "librist_version");
  if (!sym.ok()) {
    dlclose(h);
    return nullptr;
  }
  if (!HookSocket(h, &api.pin_unavailable)) api.pin_unavailable = "RIST multicast is unavailable: " + api.pin_unavailable;
  loaded = true;
  return &api;
}

namespace {

const Api* A = nullptr;
LogSettings* logging = nullptr;  // one for the process: librist keeps it as its global default

// While a link is being opened, librist's errors on this thread are kept here instead: a
// failure then reads as one line with librist's first reason (a port in use makes it log
// six lines of consequences).
thread_local std::vector<std::string>* opening_log = nullptr;

// librist's errors, one line each on stderr (its warnings and notices stay quiet).
int OnLog(void*, int, const char* msg) {
  size_t n = strlen(msg);
  while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r')) n--;
  size_t skip = 0;
  while (skip < n && (msg[skip] == '\t' || msg[skip] == ' ')) skip++;
  if (opening_log) opening_log->emplace_back(msg + skip, n - skip);
  else fprintf(stderr, "ipcast: librist: %.*s\n", (int)(n - skip), msg + skip);
  return 0;
}

// Collects librist's errors for the life of the scope (on this thread), then prints what
// was kept unless the opening failed (the error carries the first line then).
class OpeningLog {
 public:
  OpeningLog() { opening_log = &lines_; }
  ~OpeningLog() {
    opening_log = nullptr;
    if (!failed_)
      for (const auto& l : lines_) fprintf(stderr, "ipcast: librist: %s\n", l.c_str());
  }
  // The reason to give for a failure: librist's first error, if it logged one.
  std::string Failed(const std::string& fallback) {
    failed_ = true;
    return lines_.empty() ? fallback : lines_.front();
  }

 private:
  std::vector<std::string> lines_;
  bool failed_ = false;
};

struct Event {
  std::string type;
  std::vector<uint8_t> data;
  std::vector<uint32_t> lengths;
  std::string text;
};

constexpr int BATCH_BLOCKS = 256;

class RistLink : public Napi::ObjectWrap<RistLink> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "RistLink", {InstanceMethod<&RistLink::Write>("write"), InstanceMethod<&RistLink::Stop>("stop")});
  }

  explicit RistLink(const Napi::CallbackInfo& info) : Napi::ObjectWrap<RistLink>(info), env_(info.Env()) {
    Napi::Env env = info.Env();
    if (!A) throw Napi::Error::New(env, "RistLink: librist is not loaded (ristLoad first)");
    if (info.Length() < 2 || !info[0].IsObject() || !info[1].IsFunction()) throw Napi::TypeError::New(env, "RistLink: expected (options, onEvent)");
    Napi::Object o = info[0].As<Napi::Object>();
    sender_ = o.Get("role").IsString() && o.Get("role").As<Napi::String>().Utf8Value() == "send";
    std::string url = o.Get("url").IsString() ? o.Get("url").As<Napi::String>().Utf8Value() : "";
    int interval = o.Get("statsIntervalMs").IsNumber() ? o.Get("statsIntervalMs").As<Napi::Number>().Int32Value() : 1000;
    // A group: the IPv4 address of the interface its datagrams must leave by (multicast_pin.h).
    std::string mc_iface = o.Get("multicastIface").IsString() ? o.Get("multicastIface").As<Napi::String>().Utf8Value() : "";
    int mc_ttl = o.Get("multicastTtl").IsNumber() ? o.Get("multicastTtl").As<Napi::Number>().Int32Value() : 1;
    in_addr mc_addr{};
    if (!mc_iface.empty() && !A->pin_unavailable.empty()) throw Napi::Error::New(env, A->pin_unavailable);
    if (!mc_iface.empty() && inet_pton(AF_INET, mc_iface.c_str(), &mc_addr) != 1) throw Napi::TypeError::New(env, "RistLink: multicastIface is not an IPv4 address");
    if (mc_ttl < 0 || mc_ttl > 255) throw Napi::RangeError::New(env, "RistLink: multicastTtl is 0..255");
    if (!logging) A->logging_set(&logging, LOG_ERROR, OnLog, nullptr, nullptr, nullptr);
    int r = sender_ ? A->sender_create(&ctx_, PROFILE_SIMPLE, 0, logging) : A->receiver_create(&ctx_, PROFILE_SIMPLE, logging);
    if (r != 0 || !ctx_) throw Napi::Error::New(env, std::string(sender_ ? "rist_sender_create" : "rist_receiver_create") + " failed");
    PeerConfig* cfg = nullptr;
    if (A->parse_address2(url.c_str(), &cfg) != 0 || !cfg) {
      A->destroy(ctx_);
      throw Napi::Error::New(env, "librist cannot parse the address " + url);
    }
    OpeningLog opening;
    Peer* peer = nullptr;
    std::string pin_failure;
    int pinned = 0;
    {
      // librist opens the peer's sockets in here and sends its first RTCP on them at once.
      std::optional<PinScope> pin;
      if (!mc_iface.empty()) pin.emplace(mc_addr, mc_ttl);
      r = A->peer_create(ctx_, &peer, cfg);
      if (pin) {
        pinned = pin->pinned();
        pin_failure = pin->failure();
      }
    }
    A->peer_config_free2(&cfg);
    if (r != 0) {
      A->destroy(ctx_);
      // A socket that could not be pinned is the reason; else librist's own first error.
      std::string why = opening.Failed("address in use, or not an address of this machine?");
      throw Napi::Error::New(env, "librist cannot open " + url + ": " + (pin_failure.empty() ? why : pin_failure));
    }
    if (!mc_iface.empty() && pinned < 2) {
      A->destroy(ctx_);
      opening.Failed("");
      throw Napi::Error::New(env, "refusing RIST multicast: librist opened " + std::to_string(pinned) +
                                      " socket(s) ipcast could pin where the simple profile opens 2 (RTP, RTCP)");
    }
    tsfn_ = Napi::ThreadSafeFunction::New(env, info[1].As<Napi::Function>(), "ipcast:rist", 64, 1);
    A->stats_callback_set(ctx_, interval, OnStats, this);
    if (A->start(ctx_) != 0) {
      A->destroy(ctx_);
      tsfn_.Release();
      throw Napi::Error::New(env, "rist_start failed");
    }
    Ref();
    thread_ = std::thread([this] { Run(); });
    napi_add_env_cleanup_hook(env, CleanupHook, this);
    hooked_ = true;
  }

  ~RistLink() override {
    if (hooked_) napi_remove_env_cleanup_hook(env_, CleanupHook, this);
    Shutdown();
  }

 private:
  napi_env env_;
  bool sender_ = false;
  Ctx* ctx_ = nullptr;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  bool finished_ = false, hooked_ = false, refd_ = true;
  std::thread thread_;
  Napi::ThreadSafeFunction tsfn_;
  StopWaiters stops_;

  // librist's thread: its statistics as JSON (the struct behind it differs between versions).
  static int OnStats(void* arg, const StatsHead* s) {
    auto* self = static_cast<RistLink*>(arg);
    auto* e = new Event;
    e->type = "stats";
    if (s->stats_json) e->text = s->stats_json;
    A->stats_free(s);
    auto cb = [self](Napi::Env env, Napi::Function fn, Event* e) { self->Deliver(env, fn, e); };
    if (self->tsfn_.NonBlockingCall(e, cb) != napi_ok) delete e;
    return 0;
  }

  void Emit(Event* e) {
    auto cb = [this](Napi::Env env, Napi::Function fn, Event* e) { Deliver(env, fn, e); };
    if (tsfn_.BlockingCall(e, cb) != napi_ok) delete e;
  }

  void Deliver(Napi::Env env, Napi::Function fn, Event* raw) {
    std::unique_ptr<Event> e(raw);
    Napi::HandleScope scope(env);
    if (e->type == "stopped") {
      Finish(env);
      return;
    }
    Napi::Value data = env.Undefined(), extra;
    if (e->type == "data") {
      data = Napi::Buffer<uint8_t>::Copy(env, e->data.data(), e->data.size());
      auto lens = Napi::Uint32Array::New(env, e->lengths.size());
      memcpy(lens.Data(), e->lengths.data(), e->lengths.size() * 4);
      extra = lens;
    } else {
      extra = Napi::String::New(env, e->text);
    }
    try {
      fn.Call({Napi::String::New(env, e->type), data, extra});
    } catch (const Napi::Error& err) {
      napi_fatal_exception(env, err.Value());
    }
  }

  void Run() {
    if (sender_) {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return stop_.load(); });
    } else {
      while (!stop_) {
        DataBlock* b = nullptr;
        int queued = A->receiver_data_read2(ctx_, &b, 100);
        if (queued < 0 || !b) continue;
        auto* e = new Event;
        e->type = "data";
        for (;;) {
          e->data.insert(e->data.end(), (const uint8_t*)b->payload, (const uint8_t*)b->payload + b->payload_len);
          e->lengths.push_back((uint32_t)b->payload_len);
          A->receiver_data_block_free2(&b);
          if ((int)e->lengths.size() >= BATCH_BLOCKS || stop_) break;
          if (A->receiver_data_read2(ctx_, &b, 0) <= 0 && !b) break;
          if (!b) break;
        }
        Emit(e);
      }
    }
    A->destroy(ctx_);
    ctx_ = nullptr;
    auto* e = new Event;
    e->type = "stopped";
    Emit(e);
  }

  void Finish(Napi::Env env) {
    if (finished_) return;
    finished_ = true;
    if (thread_.joinable()) thread_.join();
    tsfn_.Release();
    stops_.ResolveAll(env);
    if (refd_) {
      refd_ = false;
      Unref();
    }
  }

  // write(buffers[]): how many librist took, or -1 when it refused the first one.
  Napi::Value Write(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!sender_ || stops_.asked() || finished_) return Napi::Number::New(env, -1);
    if (info.Length() < 1 || !info[0].IsArray()) throw Napi::TypeError::New(env, "write(buffers[])");
    Napi::Array arr = info[0].As<Napi::Array>();
    uint32_t n = arr.Length();
    for (uint32_t i = 0; i < n; i++) {
      auto b = arr.Get(i).As<Napi::Uint8Array>();
      DataBlock block;
      memset(&block, 0, sizeof block);
      block.payload = b.Data();
      block.payload_len = b.ByteLength();
      if (A->sender_data_write(ctx_, &block) < 0) return Napi::Number::New(env, i > 0 ? (double)i : -1);
    }
    return Napi::Number::New(env, n);
  }

  Napi::Value Stop(const Napi::CallbackInfo& info) {
    bool first = false;
    Napi::Promise p = stops_.Add(info.Env(), finished_, &first);
    if (first) {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
      cv_.notify_all();
    }
    return p;
  }

  static void CleanupHook(void* arg) {
    auto* self = static_cast<RistLink*>(arg);
    self->hooked_ = false;
    self->Shutdown();
  }

  void Shutdown() {
    if (finished_) return;
    finished_ = true;
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
      cv_.notify_all();
    }
    tsfn_.Abort();
    if (thread_.joinable()) thread_.join();
  }
};

Napi::Value RistLoad(const Napi::CallbackInfo& info) {
  return LoadForJs(info, Load, &A, [](const Api& api) { return std::string(api.version ? api.version() : ""); });
}

}  // namespace

void InitRist(Napi::Env env, Napi::Object exports) {
  exports.Set("ristLoad", Napi::Function::New(env, RistLoad));
  exports.Set("RistLink", RistLink::Define(env));
}

}  // namespace rist
}  // namespace ipcast
