#pragma once
#include <napi.h>

namespace ipcast {
// IpcWriter: the writer side of the pipe, shm ring and message queue transports. See
// transport_binding.cc.
void InitTransport(Napi::Env env, Napi::Object exports);
// The flat helpers beside it: ipcShmPeek, ipcRemove, ipcMsgLimits, ipcNowNs (ipc_helpers_binding.cc).
void InitIpcHelpers(Napi::Env env, Napi::Object exports);

// Lends the engine writer of an open IpcWriter, with no write in progress, to a native driver
// on another thread (the relay, relay_binding.cc). Until ReturnIpcWriter, its write() throws
// ERR_LENT and its close() removes the System V objects but leaves the pipe end and the
// mapping to the driver. *token keeps the JS object alive. Throws a TypeError otherwise.
struct IpcWriterLoan;
void* LendIpcWriter(Napi::Env env, Napi::Value writer, IpcWriterLoan** token);
// Main thread, once the driver no longer uses the writer.
void ReturnIpcWriter(IpcWriterLoan* token);
}  // namespace ipcast
