// The flat System V helpers of the addon, beside IpcWriter (transport_binding.cc):
//   ipcShmPeek(shmId), ipcRemove(kind, id), ipcMsgLimits(), ipcNowNs()
// used by `ipcast ipcs`, the leftover cleanup (src/transport/leftovers.ts) and the tests.
#include <errno.h>
#include <sys/shm.h>

#include <string>

#include "napi_errors.h"
#include "transport_binding.h"

extern "C" {
#include "engine/msg_queue.h"
#include "engine/sem.h"
#include "engine/shm_ring.h"
#include "engine/writer.h"
}

namespace ipcast {
namespace {

// ipcShmPeek(shmId) -> { ok, reason?, magic, version, slots, slotBytes, semId, creatorPid, readerPid, writePos, readPos, createdUnixMs, segmentBytes }
Napi::Value ShmPeek(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) throw Napi::TypeError::New(env, "ipcShmPeek: expected a shm id");
  ipcast_ring_header h{};
  size_t size = 0;
  int r = ipcast_ring_peek(info[0].As<Napi::Number>().Int32Value(), &h, &size);
  Napi::Object o = Napi::Object::New(env);
  o.Set("ok", r == 0);
  if (r < 0) o.Set("reason", ErrnoName(-r));
  if (r == 0) {
    o.Set("version", h.version);
    o.Set("slots", h.slot_count);
    o.Set("slotBytes", h.slot_bytes);
    o.Set("semId", h.sem_id);
    o.Set("creatorPid", h.creator_pid);
    o.Set("readerPid", h.reader_pid);
    o.Set("writePos", (double)h.write_pos);
    o.Set("readPos", (double)h.read_pos);
    o.Set("createdUnixMs", (double)h.created_unix_ms);
    o.Set("segmentBytes", (double)size);
  }
  return o;
}

// ipcRemove(kind: 'shm'|'sem'|'msg', id) -> 0 | -errno  (IPC_RMID)
Napi::Value IpcRemove(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsString() || !info[1].IsNumber()) {
    throw Napi::TypeError::New(env, "ipcRemove: expected ('shm'|'sem'|'msg', id)");
  }
  std::string kind = info[0].As<Napi::String>();
  int id = info[1].As<Napi::Number>().Int32Value();
  int r;
  if (kind == "shm") r = shmctl(id, IPC_RMID, nullptr) < 0 ? -errno : 0;
  else if (kind == "sem") r = ipcast_sem_remove(id);
  else if (kind == "msg") r = ipcast_msg_remove(id);
  else throw Napi::TypeError::New(env, "ipcRemove: kind must be shm, sem or msg, got '" + kind + "'");
  return Napi::Number::New(env, r);
}

Napi::Value MsgLimits(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ipcast_msg_limits l;
  ipcast_msg_read_limits(&l);
  Napi::Object o = Napi::Object::New(env);
  o.Set("msgmax", (double)l.msgmax);
  o.Set("msgmnb", (double)l.msgmnb);
  o.Set("msgmni", (double)l.msgmni);
  return o;
}

// ipcNowNs() -> bigint CLOCK_MONOTONIC ns (the clock of the records' hand-off stamp)
Napi::Value NowNs(const Napi::CallbackInfo& info) { return Napi::BigInt::New(info.Env(), ipcast_mono_ns()); }

}  // namespace

void InitIpcHelpers(Napi::Env env, Napi::Object exports) {
  exports.Set("ipcShmPeek", Napi::Function::New(env, ShmPeek));
  exports.Set("ipcRemove", Napi::Function::New(env, IpcRemove));
  exports.Set("ipcMsgLimits", Napi::Function::New(env, MsgLimits));
  exports.Set("ipcNowNs", Napi::Function::New(env, NowNs));
}

}  // namespace ipcast
