// UdpPacer: the sender's native pacing loop (native/pacer/pacer.h) as a JS object.
#pragma once
#include <napi.h>

namespace ipcast {
void InitPacer(Napi::Env env, Napi::Object exports);
}  // namespace ipcast
