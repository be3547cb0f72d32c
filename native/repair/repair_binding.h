#pragma once
#include <napi.h>

namespace ipcast {
// SRT and RIST through libsrt and librist, opened with dlopen at run time (native/repair/).
namespace srt {
void InitSrt(Napi::Env env, Napi::Object exports);
}
namespace rist {
void InitRist(Napi::Env env, Napi::Object exports);
}
}  // namespace ipcast
