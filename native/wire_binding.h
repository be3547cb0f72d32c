#pragma once
#include <napi.h>

namespace ipcast {
// encodeChunk, decodeChunk, crc32c: the C wire code, exposed so that tests hold the
// TypeScript and the C implementation to the same golden vectors.
void InitWire(Napi::Env env, Napi::Object exports);
}  // namespace ipcast
