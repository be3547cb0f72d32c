#pragma once
#include <napi.h>

namespace ipcast {
// IpcWriter (the writer side of the pipe, shm ring and message queue transports) and the
// flat helpers ipcShmPeek, ipcRemove, ipcMsgLimits, ipcNow. See transport_binding.cc.
void InitTransport(Napi::Env env, Napi::Object exports);
}  // namespace ipcast
