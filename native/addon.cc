// The ipcast addon: one module, each primitive registers its functions from its own file.
// src/shared/native.ts is the only loader and native.d.ts-style description of this surface.
#include <napi.h>

#include "pacer_binding.h"
#include "relay_binding.h"
#include "repair/repair_binding.h"
#include "transport_binding.h"
#include "udp_binding.h"
#include "wire_binding.h"

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  ipcast::InitWire(env, exports);
  ipcast::InitTransport(env, exports);
  ipcast::InitUdp(env, exports);
  ipcast::InitRelay(env, exports);
  ipcast::InitPacer(env, exports);
  ipcast::srt::InitSrt(env, exports);
  ipcast::rist::InitRist(env, exports);
  return exports;
}

NODE_API_MODULE(ipcast, Init)
