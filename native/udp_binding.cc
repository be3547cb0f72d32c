// UdpSocket: the relay's UDP socket in C, so a datagram costs no JS object until it is useful.
//
//   new UdpSocket(address, port, reuseAddr)   socket + bind (non-blocking, close-on-exec)
//   .port / .inode / .fd                      bound port; socket inode (for /proc/net/udp drops); fd (UdpRelay)
//   .setRecvBuffer(bytes, force?) -> kernel value  SO_RCVBUF (the kernel stores twice what it grants);
//                                            force: past rmem_max with SO_RCVBUFFORCE if CAP_NET_ADMIN
//   .join(group, iface, source?)              IP_ADD_(SOURCE_)MEMBERSHIP on the interface iface
//   .multicastOut(iface, ttl, loop) / .setBroadcast(on) / .setDestination(host, port)
//   .receive(decode, onBatch, onError)        start: onBatch(data, meta, count) per recvmmsg
//   .send(buffers, start) -> sent | -errno    one sendmmsg of buffers[start .. start+64)
//   .waitWritable(cb)                         cb() once the socket can take datagrams again
//   .close()                                  idempotent; also done at environment teardown
//
// Nothing blocks: the fd is O_NONBLOCK and watched by a uv_poll_t on Node's own loop, so a
// datagram is read on the main thread with no thread hop. One readiness event reads at most
// MAX_BATCHES_PER_WAKE batches, then yields to the loop (timers, the IPC hand-off) and is called
// again at once if more is waiting (level-triggered epoll).
//
// A batch reaches JS as one fresh Buffer holding its datagrams back to back (so the payload
// views JS keeps stay valid however long they are queued), and a Float64Array `meta`, reused
// for every batch and valid only during the call, of META_STRIDE numbers per datagram:
//   [offset in data, length, status (0 ok or not decoded, else ipcast_reason), kind, channel,
//    sequence, timestampUs, flags, checksum, 0]
#include "udp_binding.h"
#include "napi_errors.h"

#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>

extern "C" {
#include "udp_io.h"
#include "wire.h"
}

namespace ipcast {
namespace {

constexpr int META_STRIDE = 10;
constexpr int MAX_BATCHES_PER_WAKE = 16;

std::string StringArg(const Napi::CallbackInfo& info, size_t i, const char* what) {
  if (info.Length() <= i || !info[i].IsString()) {
    throw Napi::TypeError::New(info.Env(), std::string("UdpSocket: ") + what + " must be a string");
  }
  return info[i].As<Napi::String>().Utf8Value();
}

int IntArg(const Napi::CallbackInfo& info, size_t i, const char* what) {
  if (info.Length() <= i || !info[i].IsNumber()) {
    throw Napi::TypeError::New(info.Env(), std::string("UdpSocket: ") + what + " must be a number");
  }
  return info[i].As<Napi::Number>().Int32Value();
}

class UdpSocket : public Napi::ObjectWrap<UdpSocket> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "UdpSocket",
                       {
                           InstanceAccessor<&UdpSocket::Port>("port"),
                           InstanceAccessor<&UdpSocket::Inode>("inode"),
                           InstanceAccessor<&UdpSocket::Fd>("fd"),
                           InstanceMethod<&UdpSocket::SetRecvBuffer>("setRecvBuffer"),
                           InstanceMethod<&UdpSocket::Join>("join"),
                           InstanceMethod<&UdpSocket::MulticastOut>("multicastOut"),
                           InstanceMethod<&UdpSocket::SetBroadcast>("setBroadcast"),
                           InstanceMethod<&UdpSocket::SetDestination>("setDestination"),
                           InstanceMethod<&UdpSocket::Receive>("receive"),
                           InstanceMethod<&UdpSocket::Send>("send"),
                           InstanceMethod<&UdpSocket::WaitWritable>("waitWritable"),
                           InstanceMethod<&UdpSocket::Close>("close"),
                       });
  }

  explicit UdpSocket(const Napi::CallbackInfo& info) : Napi::ObjectWrap<UdpSocket>(info), env_(info.Env()) {
    std::string address = StringArg(info, 0, "address");
    int port = IntArg(info, 1, "port");
    bool reuse = info.Length() > 2 && info[2].ToBoolean().Value();
    if (port < 0 || port > 65535) throw Napi::RangeError::New(env_, "UdpSocket: port must be 0..65535");
    const char* stage = "socket";
    int fd = udp_open4(address.c_str(), port, reuse ? 1 : 0, &stage);
    if (fd < 0) throw ErrnoError(env_, stage, -fd, address.empty() ? "0.0.0.0" : address, port);
    fd_ = fd;
    napi_add_env_cleanup_hook(env_, CleanupHook, this);
    hooked_ = true;
  }

  ~UdpSocket() override {
    Shutdown();
    if (hooked_) napi_remove_env_cleanup_hook(env_, CleanupHook, this);
  }

 private:
  Napi::Value Port(const Napi::CallbackInfo& info) {
    if (fd_ < 0) return info.Env().Undefined();
    int p = udp_local_port(fd_);
    if (p < 0) throw ErrnoError(info.Env(), "getsockname", -p);
    return Napi::Number::New(info.Env(), p);
  }

  // The descriptor, for the native relay (UdpRelay), which reads it on its own thread.
  Napi::Value Fd(const Napi::CallbackInfo& info) {
    if (fd_ < 0) return info.Env().Undefined();
    return Napi::Number::New(info.Env(), fd_);
  }

  Napi::Value Inode(const Napi::CallbackInfo& info) {
    struct stat st;
    if (fd_ < 0 || fstat(fd_, &st) < 0) return info.Env().Undefined();
    return Napi::Number::New(info.Env(), static_cast<double>(st.st_ino));
  }

  void CheckOpen(Napi::Env env) {
    if (fd_ < 0) throw ErrnoError(env, "udp socket", EBADF);
  }

  Napi::Value SetRecvBuffer(const Napi::CallbackInfo& info) {
    CheckOpen(info.Env());
    bool force = info.Length() > 1 && info[1].IsBoolean() && info[1].As<Napi::Boolean>().Value();
    int r = udp_set_rcvbuf(fd_, IntArg(info, 0, "bytes"), force ? 1 : 0);
    if (r < 0) throw ErrnoError(info.Env(), "setsockopt(SO_RCVBUF)", -r);
    return Napi::Number::New(info.Env(), r);
  }

  void Join(const Napi::CallbackInfo& info) {
    CheckOpen(info.Env());
    std::string group = StringArg(info, 0, "group"), iface = StringArg(info, 1, "iface");
    std::string source = info.Length() > 2 && info[2].IsString() ? info[2].As<Napi::String>().Utf8Value() : "";
    int r = udp_join4(fd_, group.c_str(), iface.c_str(), source.c_str());
    if (r < 0) throw ErrnoError(info.Env(), source.empty() ? "setsockopt(IP_ADD_MEMBERSHIP)" : "setsockopt(IP_ADD_SOURCE_MEMBERSHIP)", -r);
  }

  void MulticastOut(const Napi::CallbackInfo& info) {
    CheckOpen(info.Env());
    std::string iface = StringArg(info, 0, "iface");
    int r = udp_multicast_out4(fd_, iface.c_str(), IntArg(info, 1, "ttl"), info.Length() > 2 && info[2].ToBoolean().Value());
    if (r < 0) throw ErrnoError(info.Env(), "setsockopt(IP_MULTICAST_*)", -r);
  }

  void SetBroadcast(const Napi::CallbackInfo& info) {
    CheckOpen(info.Env());
    int r = udp_set_broadcast(fd_, info.Length() > 0 && info[0].ToBoolean().Value() ? 1 : 0);
    if (r < 0) throw ErrnoError(info.Env(), "setsockopt(SO_BROADCAST)", -r);
  }

  void SetDestination(const Napi::CallbackInfo& info) {
    std::string host = StringArg(info, 0, "host");
    int port = IntArg(info, 1, "port");
    if (port < 1 || port > 65535 || udp_addr4(host.c_str(), port, &dest_) < 0) {
      throw Napi::TypeError::New(info.Env(), "UdpSocket: destination must be an IPv4 address and a port 1..65535");
    }
    has_dest_ = true;
  }

  void Receive(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    CheckOpen(env);
    if (receiving_) throw Napi::Error::New(env, "UdpSocket: already receiving");
    if (info.Length() < 3 || !info[1].IsFunction() || !info[2].IsFunction()) {
      throw Napi::TypeError::New(env, "UdpSocket.receive: expected (decode, onBatch, onError)");
    }
    int r = udp_rx_init(&rx_);
    if (r < 0) throw ErrnoError(env, "mmap", -r);
    decode_ = info[0].ToBoolean().Value();
    on_batch_ = Napi::Persistent(info[1].As<Napi::Function>());
    on_error_ = Napi::Persistent(info[2].As<Napi::Function>());
    meta_ = Napi::Persistent(Napi::Float64Array::New(env, UDP_BATCH * META_STRIDE));
    context_ = std::make_unique<Napi::AsyncContext>(env, "ipcast:UdpSocket");
    receiving_ = true;
    UpdatePoll(env);
  }

  Napi::Value Send(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    CheckOpen(env);
    if (!has_dest_) throw Napi::Error::New(env, "UdpSocket.send: no destination (setDestination first)");
    if (info.Length() < 2 || !info[0].IsArray() || !info[1].IsNumber()) {
      throw Napi::TypeError::New(env, "UdpSocket.send: expected (buffers, start)");
    }
    Napi::Array arr = info[0].As<Napi::Array>();
    uint32_t len = arr.Length();
    uint32_t start = info[1].As<Napi::Number>().Uint32Value();
    if (start >= len) return Napi::Number::New(env, 0);
    const uint8_t* bufs[UDP_BATCH];
    size_t lens[UDP_BATCH];
    int n = 0;
    for (uint32_t i = start; i < len && n < UDP_BATCH; i++, n++) {
      Napi::Value v = arr.Get(i);
      if (!v.IsTypedArray()) throw Napi::TypeError::New(env, "UdpSocket.send: every buffer must be a Uint8Array");
      auto b = v.As<Napi::Uint8Array>();
      bufs[n] = b.Data();
      lens[n] = b.ByteLength();
    }
    return Napi::Number::New(env, udp_send_batch(fd_, &dest_, bufs, lens, n));
  }

  void WaitWritable(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    CheckOpen(env);
    if (info.Length() < 1 || !info[0].IsFunction()) throw Napi::TypeError::New(env, "UdpSocket.waitWritable: expected a function");
    on_writable_ = Napi::Persistent(info[0].As<Napi::Function>());
    if (!context_) context_ = std::make_unique<Napi::AsyncContext>(env, "ipcast:UdpSocket");
    UpdatePoll(env);
  }

  void Close(const Napi::CallbackInfo&) { Shutdown(); }

  // Starts, changes or stops the poll handle to match what is wanted; holds the JS object
  // alive (Ref) while the loop may call back into it.
  void UpdatePoll(Napi::Env env) {
    int events = (receiving_ ? UV_READABLE : 0) | (!on_writable_.IsEmpty() ? UV_WRITABLE : 0);
    if (events == 0) {
      if (poll_) uv_poll_stop(poll_);
      if (refd_) {
        refd_ = false;
        Unref();
      }
      return;
    }
    if (!poll_) {
      uv_loop_t* loop = nullptr;
      napi_get_uv_event_loop(env, &loop);
      poll_ = new uv_poll_t;
      int r = uv_poll_init(loop, poll_, fd_);
      if (r < 0) {
        delete poll_;
        poll_ = nullptr;
        throw ErrnoError(env, "uv_poll_init", -r);
      }
      poll_->data = this;
    }
    uv_poll_start(poll_, events, OnPoll);
    if (!refd_) {
      refd_ = true;
      Ref();
    }
  }

  static void OnPoll(uv_poll_t* handle, int status, int events) {
    auto* self = static_cast<UdpSocket*>(handle->data);
    if (self == nullptr || self->fd_ < 0) return;
    Napi::Env env = self->env_;
    Napi::HandleScope scope(env);
    try {
      if (status < 0) {
        self->ReportError(env, "poll", -status);
        return;
      }
      if ((events & UV_WRITABLE) && !self->on_writable_.IsEmpty()) {
        Napi::FunctionReference cb = std::move(self->on_writable_);
        self->on_writable_.Reset();
        self->UpdatePoll(env);
        cb.MakeCallback(env.Global(), {}, *self->context_);
        if (self->fd_ < 0) return;
      }
      if ((events & UV_READABLE) && self->receiving_) self->ReadBatches(env);
    } catch (const Napi::Error& e) {
      // A handler threw: that is the program's uncaught exception, not ours to swallow.
      napi_fatal_exception(env, e.Value());
    }
  }

  void ReportError(Napi::Env env, const char* syscall, int err) {
    if (on_error_.IsEmpty()) return;
    on_error_.MakeCallback(env.Global(), {ErrnoError(env, syscall, err).Value()}, *context_);
  }

  void ReadBatches(Napi::Env env) {
    struct udp_dgram d[UDP_BATCH];
    for (int b = 0; b < MAX_BATCHES_PER_WAKE && receiving_ && fd_ >= 0; b++) {
      int n = udp_recv_batch(fd_, &rx_, d, decode_ ? 1 : 0);
      if (n < 0) {
        // An ICMP error queued on the socket (ECONNREFUSED...): say so and go on reading.
        ReportError(env, "recvmmsg", -n);
        continue;
      }
      if (n == 0) return;
      size_t total = 0;
      for (int i = 0; i < n; i++) total += d[i].len;
      Napi::Buffer<uint8_t> data = Napi::Buffer<uint8_t>::New(env, total);
      double* meta = meta_.Value().Data();
      size_t off = 0;
      for (int i = 0; i < n; i++) {
        double* m = meta + i * META_STRIDE;
        if (d[i].len) memcpy(data.Data() + off, udp_rx_slot(&rx_, i), d[i].len);
        m[0] = static_cast<double>(off);
        off += d[i].len;
        m[1] = d[i].len;
        m[2] = d[i].status;
        m[3] = d[i].kind;
        m[4] = d[i].channel;
        m[5] = d[i].sequence;
        m[6] = static_cast<double>(d[i].timestamp_us);
        m[7] = d[i].flags;
        m[8] = d[i].checksum;
        m[9] = 0;
      }
      on_batch_.MakeCallback(env.Global(), {data, meta_.Value(), Napi::Number::New(env, n)}, *context_);
      if (n < UDP_BATCH) return;  // drained
    }
  }

  static void CleanupHook(void* arg) {
    auto* self = static_cast<UdpSocket*>(arg);
    self->hooked_ = false;
    self->Shutdown();
  }

  void Shutdown() {
    receiving_ = false;
    if (poll_) {
      uv_poll_stop(poll_);
      poll_->data = nullptr;
      uv_close(reinterpret_cast<uv_handle_t*>(poll_), [](uv_handle_t* h) { delete reinterpret_cast<uv_poll_t*>(h); });
      poll_ = nullptr;
    }
    if (fd_ >= 0) {
      ::close(fd_);
      fd_ = -1;
    }
    udp_rx_free(&rx_);
    if (!on_batch_.IsEmpty()) on_batch_.Reset();
    if (!on_error_.IsEmpty()) on_error_.Reset();
    if (!on_writable_.IsEmpty()) on_writable_.Reset();
    if (!meta_.IsEmpty()) meta_.Reset();
    if (refd_) {
      refd_ = false;
      Unref();
    }
  }

  napi_env env_;
  int fd_ = -1;
  bool hooked_ = false;
  bool receiving_ = false;
  bool decode_ = false;
  bool refd_ = false;
  bool has_dest_ = false;
  uv_poll_t* poll_ = nullptr;
  struct udp_rx rx_ {};
  struct sockaddr_in dest_ {};
  Napi::FunctionReference on_batch_, on_error_, on_writable_;
  Napi::Reference<Napi::Float64Array> meta_;
  std::unique_ptr<Napi::AsyncContext> context_;
};

}  // namespace

void InitUdp(Napi::Env env, Napi::Object exports) {
  exports.Set("UdpSocket", UdpSocket::Define(env));
}

}  // namespace ipcast
