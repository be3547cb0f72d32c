#pragma once
#include <napi.h>

namespace ipcast {
// UdpSocket: a non-blocking IPv4 UDP socket driven by a libuv poll handle on the main loop.
// Receives with recvmmsg (up to 64 datagrams per call into JS, decoded and CRC-checked in C
// when asked) and sends with sendmmsg. See udp_binding.cc and src/receiver/inputs/udp-input.ts.
void InitUdp(Napi::Env env, Napi::Object exports);
}  // namespace ipcast
