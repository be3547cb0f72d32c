#pragma once
// What the SRT and RIST bindings share around their libraries: the JS face of loading one,
// and the stop() promises of a link.
#include <napi.h>

#include <string>
#include <vector>

namespace ipcast {

// xLoad(name) -> { ok: true, version } | { ok: false, error }. `load` opens the library
// (once per process); on success `*loaded` is set for the binding's later calls.
template <typename ApiT, typename VersionFn>
Napi::Value LoadForJs(const Napi::CallbackInfo& info, const ApiT* (*load)(const std::string&, std::string*), const ApiT** loaded, VersionFn version) {
  Napi::Env env = info.Env();
  std::string name = info.Length() > 0 && info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : "";
  std::string why;
  const ApiT* api = load(name, &why);
  Napi::Object o = Napi::Object::New(env);
  o.Set("ok", api != nullptr);
  if (!api) {
    o.Set("error", why);
    return o;
  }
  *loaded = api;
  o.Set("version", version(*api));
  return o;
}

// The promises of a link's stop() calls, resolved together once its thread has ended.
class StopWaiters {
 public:
  // A promise for one stop() call. `first` says whether this is the first call while the
  // link runs (the caller then starts stopping it); after the end, it is resolved already.
  Napi::Promise Add(Napi::Env env, bool ended, bool* first) {
    auto d = Napi::Promise::Deferred::New(env);
    *first = false;
    if (ended) {
      d.Resolve(env.Undefined());
    } else {
      *first = waiters_.empty() && !asked_;
      asked_ = true;
      waiters_.push_back(d);
    }
    return d.Promise();
  }
  // The link has ended: every stop() resolves.
  void ResolveAll(Napi::Env env) {
    for (auto& d : waiters_) d.Resolve(env.Undefined());
    waiters_.clear();
  }
  bool asked() const { return asked_; }

 private:
  std::vector<Napi::Promise::Deferred> waiters_;
  bool asked_ = false;
};

}  // namespace ipcast
