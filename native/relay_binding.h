#pragma once
#include <napi.h>

namespace ipcast {
// UdpRelay: the native data path of `ipcast recv` for UDP in ipcast format (relay/relay.h):
// socket -> checks -> sequence order -> the transports' writers, on a thread of its own.
// See relay_binding.cc and src/receiver/native-path.ts.
void InitRelay(Napi::Env env, Napi::Object exports);
}  // namespace ipcast
