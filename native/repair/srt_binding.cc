// SrtLink: one SRT endpoint of ipcast (caller, listener or rendezvous) over libsrt, opened at
// run time (srt_api.h). A thread of its own waits in srt_epoll_uwait on the listening socket
// and on every connection, accepts, reads (srt_recvmsg: one message = one chunk) and hands
// batches to JS through a ThreadSafeFunction; JS sends from the main thread with the sockets
// in non-blocking mode (srt_sendmsg only queues into libsrt's send buffer). libsrt runs its
// own threads for the protocol (retransmission, FEC, encryption, pacing).
//
// Events to JS: onEvent(type, id, data, lengths|text)
//   'connected' id, undefined, "ADDR:PORT" of the peer
//   'data'      id, Buffer (messages back to back), Uint32Array (their lengths)
//   'closed'    id, undefined, why          a connection broke or the peer closed it
//   'error'     0,  undefined, why          the caller / rendezvous connect failed
//   'stopped'   after stop(): every socket closed, the thread ended
#include <arpa/inet.h>
#include <dlfcn.h>
#include <napi.h>
#include <netinet/in.h>
#include <string.h>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "dl_open.h"
#include "link_common.h"
#include "srt_api.h"

namespace ipcast {
namespace srt {

const Api* Load(const std::string& name, std::string* why) {
  static std::mutex mu;
  static Api api;
  static bool loaded = false;
  std::lock_guard<std::mutex> lock(mu);
  if (loaded) return &api;
  std::vector<std::string> names;
  if (!name.empty()) names.push_back(name);
  else names = {"libsrt.so.1.5", "libsrt-gnutls.so.1.5", "libsrt.so.1.4", "libsrt-gnutls.so.1.4", "libsrt.so"};
  void* h = DlopenFirst(names, why);
  if (!h) return nullptr;
  DlSymbols sym(h, "libsrt", why);
  sym(api.startup, "srt_startup");
  sym(api.cleanup, "srt_cleanup");
  sym(api.create_socket, "srt_create_socket");
  sym(api.bind, "srt_bind");
  sym(api.listen, "srt_listen");
  sym(api.accept, "srt_accept");
  sym(api.connect, "srt_connect");
  sym(api.rendezvous, "srt_rendezvous");
  sym(api.close, "srt_close");
  sym(api.getsockname, "srt_getsockname");
  sym(api.setsockflag, "srt_setsockflag");
  sym(api.sendmsg, "srt_sendmsg");
  sym(api.recvmsg, "srt_recvmsg");
  sym(api.getlasterror_str, "srt_getlasterror_str");
  sym(api.getlasterror, "srt_getlasterror");
  sym(api.bstats, "srt_bstats");
  sym(api.getsockstate, "srt_getsockstate");
  sym(api.epoll_create, "srt_epoll_create");
  sym(api.epoll_add_usock, "srt_epoll_add_usock");
  sym(api.epoll_remove_usock, "srt_epoll_remove_usock");
  sym(api.epoll_uwait, "srt_epoll_uwait");
  sym(api.epoll_set, "srt_epoll_set");
  sym(api.epoll_release, "srt_epoll_release");
  sym(api.getversion, "srt_getversion");
  sym(api.setloglevel, "srt_setloglevel");
  if (!sym.ok()) {
    dlclose(h);
    return nullptr;
  }
  api.startup();
  // Critical messages only: its warnings (a FEC group it could not rebuild) are counted in
  // srt_bstats, and its errors are returned to the caller, who says them in one line.
  api.setloglevel(2);
  loaded = true;  // kept open for the life of the process (libsrt's threads are global)
  return &api;
}

namespace {

const Api* A = nullptr;

// libsrt's text for its last error, and the system's reason under it when there is one
// (a port in use reads "Connection setup failure: unable to create/configure SRT socket" alone).
std::string LastError() {
  int sys = 0;
  A->getlasterror(&sys);
  const char* s = A->getlasterror_str();
  std::string e = s ? s : "unknown SRT error";
  if (sys > 0) e += std::string(" (") + strerror(sys) + ")";
  return e;
}

std::string AddrText(const sockaddr_storage& ss) {
  char host[INET6_ADDRSTRLEN] = "";
  int port = 0;
  if (ss.ss_family == AF_INET6) {
    auto* a = reinterpret_cast<const sockaddr_in6*>(&ss);
    inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof host);
    port = ntohs(a->sin6_port);
    return std::string("[") + host + "]:" + std::to_string(port);
  }
  auto* a = reinterpret_cast<const sockaddr_in*>(&ss);
  inet_ntop(AF_INET, &a->sin_addr, host, sizeof host);
  port = ntohs(a->sin_port);
  return std::string(host) + ":" + std::to_string(port);
}

bool MakeAddr(const std::string& host, int port, int family, sockaddr_storage* ss, int* len) {
  memset(ss, 0, sizeof *ss);
  if (family == 6) {
    auto* a = reinterpret_cast<sockaddr_in6*>(ss);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons((uint16_t)port);
    if (!host.empty() && inet_pton(AF_INET6, host.c_str(), &a->sin6_addr) != 1) return false;
    *len = sizeof(sockaddr_in6);
  } else {
    auto* a = reinterpret_cast<sockaddr_in*>(ss);
    a->sin_family = AF_INET;
    a->sin_port = htons((uint16_t)port);
    if (!host.empty() && inet_pton(AF_INET, host.c_str(), &a->sin_addr) != 1) return false;
    *len = sizeof(sockaddr_in);
  }
  return true;
}

struct Event {
  std::string type;
  int32_t id = 0;
  std::vector<uint8_t> data;
  std::vector<uint32_t> lengths;
  std::string text;
};

constexpr int BATCH_MESSAGES = 256;
constexpr int RECV_BYTES = 1500;

class SrtLink : public Napi::ObjectWrap<SrtLink> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "SrtLink",
                       {
                           InstanceMethod<&SrtLink::Send>("send"),
                           InstanceMethod<&SrtLink::Stats>("stats"),
                           InstanceMethod<&SrtLink::CloseConn>("closeConnection"),
                           InstanceMethod<&SrtLink::Stop>("stop"),
                           InstanceAccessor<&SrtLink::Port>("port"),
                       });
  }

  explicit SrtLink(const Napi::CallbackInfo& info) : Napi::ObjectWrap<SrtLink>(info), env_(info.Env()) {
    Napi::Env env = info.Env();
    if (!A) throw Napi::Error::New(env, "SrtLink: libsrt is not loaded (srtLoad first)");
    if (info.Length() < 2 || !info[0].IsObject() || !info[1].IsFunction()) throw Napi::TypeError::New(env, "SrtLink: expected (options, onEvent)");
    Napi::Object o = info[0].As<Napi::Object>();
    auto str = [&](const char* k) { return o.Get(k).IsString() ? o.Get(k).As<Napi::String>().Utf8Value() : std::string(); };
    auto num = [&](const char* k, int def) { return o.Get(k).IsNumber() ? o.Get(k).As<Napi::Number>().Int32Value() : def; };
    std::string mode = str("mode");
    mode_ = mode == "listener" ? 1 : mode == "rendezvous" ? 2 : 0;
    host_ = str("host");
    port_ = num("port", 0);
    local_port_ = num("localPort", mode_ == 2 ? port_ : 0);
    family_ = num("family", 4);

    sock_ = A->create_socket();
    if (sock_ == INVALID_SOCK) throw Napi::Error::New(env, "srt_create_socket: " + LastError());
    auto fail = [&](const std::string& what) {
      std::string e = what + ": " + LastError();
      A->close(sock_);
      sock_ = INVALID_SOCK;
      throw Napi::Error::New(env, e);
    };
    auto setInt = [&](int opt, int v, const char* name) {
      if (A->setsockflag(sock_, opt, &v, sizeof v) == ERROR) fail(std::string("SRT option ") + name);
    };
    auto setStr = [&](int opt, const std::string& v, const char* name) {
      if (A->setsockflag(sock_, opt, v.data(), (int)v.size()) == ERROR) fail(std::string("SRT option ") + name);
    };
    setInt(O_TRANSTYPE, 0, "transtype=live");
    if (num("latency", -1) >= 0) setInt(O_LATENCY, num("latency", 120), "latency");
    drain_ms_ = (num("latency", -1) >= 0 ? num("latency", 120) : 120) + 250;
    if (num("payloadSize", 0) > 0) setInt(O_PAYLOADSIZE, num("payloadSize", 0), "payloadsize");
    if (!str("packetFilter").empty()) setStr(O_PACKETFILTER, str("packetFilter"), "packetfilter");
    if (!str("passphrase").empty()) setStr(O_PASSPHRASE, str("passphrase"), "passphrase");
    if (num("pbkeylen", 0) > 0) setInt(O_PBKEYLEN, num("pbkeylen", 0), "pbkeylen");
    if (!str("streamId").empty()) setStr(O_STREAMID, str("streamId"), "streamid");
    if (num("connectTimeoutMs", 0) > 0) setInt(O_CONNTIMEO, num("connectTimeoutMs", 0), "conntimeo");
    if (num("peerIdleMs", 0) > 0) setInt(O_PEERIDLETIMEO, num("peerIdleMs", 0), "peeridletimeo");
    if (mode_ == 2) setInt(O_RENDEZVOUS, 1, "rendezvous");

    if (mode_ == 1) {
      sockaddr_storage ss;
      int len = 0;
      if (!MakeAddr(host_, port_, family_, &ss, &len)) fail("bad address " + host_);
      if (A->bind(sock_, reinterpret_cast<sockaddr*>(&ss), len) == ERROR) fail("bind " + host_ + ":" + std::to_string(port_));
      if (A->listen(sock_, num("backlog", 64)) == ERROR) fail("listen");
      sockaddr_storage got;
      int glen = sizeof got;
      if (A->getsockname(sock_, reinterpret_cast<sockaddr*>(&got), &glen) == 0) {
        port_ = ntohs(got.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&got)->sin6_port : reinterpret_cast<sockaddr_in*>(&got)->sin_port);
      }
    }
    eid_ = A->epoll_create();
    if (eid_ < 0) fail("srt_epoll_create");
    A->epoll_set(eid_, EPOLL_ENABLE_EMPTY);
    if (mode_ == 1) {
      int ev = EPOLL_IN | EPOLL_ERR;
      A->epoll_add_usock(eid_, sock_, &ev);
    }
    tsfn_ = Napi::ThreadSafeFunction::New(env, info[1].As<Napi::Function>(), "ipcast:srt", 64, 1);
    Ref();
    thread_ = std::thread([this] { Run(); });
    napi_add_env_cleanup_hook(env, CleanupHook, this);
    hooked_ = true;
  }

  ~SrtLink() override {
    if (hooked_) napi_remove_env_cleanup_hook(env_, CleanupHook, this);
    Shutdown();
  }

 private:
  napi_env env_;
  int mode_ = 0;  // 0 caller, 1 listener, 2 rendezvous
  std::string host_;
  int port_ = 0, local_port_ = 0, family_ = 4;
  SRTSOCKET sock_ = INVALID_SOCK;
  int eid_ = -1;
  std::atomic<bool> stop_{false};
  bool finished_ = false, hooked_ = false, refd_ = true;
  std::thread thread_;
  Napi::ThreadSafeFunction tsfn_;
  StopWaiters stops_;
  std::mutex conns_mu_;
  std::set<SRTSOCKET> conns_;  // connections the thread watches; send() accepts only these
  struct Draining {
    SRTSOCKET s;
    int64_t until;
    std::string why;
  };
  std::vector<Draining> draining_;  // thread only
  std::map<SRTSOCKET, std::unique_ptr<srt::Stats>> final_stats_;  // under conns_mu_
  int64_t drain_ms_ = 0;

  static int64_t Now() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
  }

  // Waits when JS is behind (the queue holds 64 events): libsrt's receive buffer holds the rest.
  void Emit(Event* e) {
    auto cb = [this](Napi::Env env, Napi::Function fn, Event* e) { Deliver(env, fn, e); };
    if (tsfn_.BlockingCall(e, cb) != napi_ok) delete e;  // teardown: nobody to tell
  }

  void EmitText(const char* type, int32_t id, const std::string& text) {
    auto* e = new Event;
    e->type = type;
    e->id = id;
    e->text = text;
    Emit(e);
  }

  void Deliver(Napi::Env env, Napi::Function fn, Event* raw) {
    std::unique_ptr<Event> e(raw);
    Napi::HandleScope scope(env);
    if (e->type == "stopped") {
      Finish(env);
      return;
    }
    Napi::Value data = env.Undefined(), extra = env.Undefined();
    if (e->type == "data") {
      data = Napi::Buffer<uint8_t>::Copy(env, e->data.data(), e->data.size());
      auto lens = Napi::Uint32Array::New(env, e->lengths.size());
      memcpy(lens.Data(), e->lengths.data(), e->lengths.size() * 4);
      extra = lens;
    } else {
      extra = Napi::String::New(env, e->text);
    }
    try {
      fn.Call({Napi::String::New(env, e->type), Napi::Number::New(env, e->id), data, extra});
    } catch (const Napi::Error& err) {
      napi_fatal_exception(env, err.Value());
    }
  }

  void Watch(SRTSOCKET s) {
    bool off = false;
    A->setsockflag(s, O_SNDSYN, &off, sizeof off);
    A->setsockflag(s, O_RCVSYN, &off, sizeof off);
    {
      std::lock_guard<std::mutex> lock(conns_mu_);
      conns_.insert(s);
    }
    int ev = EPOLL_IN | EPOLL_ERR;
    A->epoll_add_usock(eid_, s, &ev);
  }

  void Unwatch(SRTSOCKET s, const std::string& why) {
    A->epoll_remove_usock(eid_, s);
    // libsrt forgets a broken socket soon: keep its last figures for stats().
    auto st = std::make_unique<srt::Stats>();
    memset(st.get(), 0, sizeof(srt::Stats));
    if (A->bstats(s, st.get(), 0) != ERROR) {
      std::lock_guard<std::mutex> lock(conns_mu_);
      final_stats_[s] = std::move(st);
    }
    {
      std::lock_guard<std::mutex> lock(conns_mu_);
      if (!conns_.erase(s)) return;
    }
    EmitText("closed", s, why);
  }

  // The thread: connect (caller / rendezvous), then wait, accept and read until stop().
  void Run() {
    if (mode_ != 1) {
      sockaddr_storage remote;
      int rlen = 0;
      MakeAddr(host_, port_, family_, &remote, &rlen);
      int r;
      if (mode_ == 2) {
        sockaddr_storage local;
        int llen = 0;
        MakeAddr("", local_port_, family_, &local, &llen);
        r = A->rendezvous(sock_, reinterpret_cast<sockaddr*>(&local), llen, reinterpret_cast<sockaddr*>(&remote), rlen);
      } else {
        r = A->connect(sock_, reinterpret_cast<sockaddr*>(&remote), rlen);
      }
      if (r == ERROR) {
        if (!stop_) EmitText("error", 0, LastError());
        Close();
        return;
      }
      Watch(sock_);
      EmitText("connected", sock_, AddrText(remote));
    }
    std::vector<EpollEvent> evs(64);
    std::vector<char> buf(RECV_BYTES);
    while (!stop_) {
      int n = A->epoll_uwait(eid_, evs.data(), (int)evs.size(), draining_.empty() ? 100 : 5);
      for (int i = 0; i < n && !stop_; i++) {
        SRTSOCKET s = evs[i].fd;
        if (mode_ == 1 && s == sock_) {
          sockaddr_storage peer;
          int plen = sizeof peer;
          SRTSOCKET c = A->accept(sock_, reinterpret_cast<sockaddr*>(&peer), &plen);
          if (c != INVALID_SOCK) {
            Watch(c);
            EmitText("connected", c, AddrText(peer));
          }
          continue;
        }
        if (evs[i].events & EPOLL_IN) ReadAll(s, buf);
        int st = A->getsockstate(s);
        if ((evs[i].events & EPOLL_ERR) || st == S_BROKEN || st == S_CLOSED || st == S_NONEXIST) {
          // The peer closed or went away: what libsrt still holds is delivered at its time
          // (TSBPD), so go on reading it for the latency budget before saying it ended.
          A->epoll_remove_usock(eid_, s);
          draining_.push_back({s, Now() + drain_ms_, st == S_BROKEN ? "connection lost" : "closed"});
        }
      }
      for (size_t i = 0; i < draining_.size();) {
        ReadAll(draining_[i].s, buf);
        if (Now() >= draining_[i].until || stop_) {
          Unwatch(draining_[i].s, draining_[i].why);
          draining_.erase(draining_.begin() + i);
        } else {
          i++;
        }
      }
    }
    Close();
  }

  void ReadAll(SRTSOCKET s, std::vector<char>& buf) {
    auto* e = new Event;
    e->type = "data";
    e->id = s;
    for (;;) {
      int got = A->recvmsg(s, buf.data(), (int)buf.size());
      if (got > 0) {
        e->data.insert(e->data.end(), buf.data(), buf.data() + got);
        e->lengths.push_back((uint32_t)got);
        if ((int)e->lengths.size() < BATCH_MESSAGES) continue;
        Emit(e);
        e = new Event;
        e->type = "data";
        e->id = s;
        continue;
      }
      break;  // EASYNCRCV (nothing more now) or an error the state check reports
    }
    if (e->lengths.empty()) delete e;
    else Emit(e);
  }

  void Close() {
    std::set<SRTSOCKET> conns;
    {
      std::lock_guard<std::mutex> lock(conns_mu_);
      conns.swap(conns_);
    }
    for (SRTSOCKET c : conns) {
      if (c != sock_) A->close(c);
    }
    if (sock_ != INVALID_SOCK) A->close(sock_);
    if (eid_ >= 0) A->epoll_release(eid_);
    eid_ = -1;
    auto* e = new Event;
    e->type = "stopped";
    Emit(e);
  }

  void Finish(Napi::Env env) {
    if (finished_) return;
    finished_ = true;
    if (thread_.joinable()) thread_.join();
    sock_ = INVALID_SOCK;
    tsfn_.Release();
    stops_.ResolveAll(env);
    if (refd_) {
      refd_ = false;
      Unref();
    }
  }

  bool Watched(SRTSOCKET s) {
    std::lock_guard<std::mutex> lock(conns_mu_);
    return conns_.count(s) > 0;
  }

  // send(id, buffers[]): how many went into libsrt's send buffer, or -code of the first failure
  // (-6001 SRT_EASYNCSND: the buffer is full; others: the connection is gone).
  Napi::Value Send(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 2 || !info[0].IsNumber() || !info[1].IsArray()) throw Napi::TypeError::New(env, "send(id, buffers[])");
    SRTSOCKET s = info[0].As<Napi::Number>().Int32Value();
    if (finished_ || !Watched(s)) return Napi::Number::New(env, -2002);  // SRT_ENOCONN
    Napi::Array arr = info[1].As<Napi::Array>();
    uint32_t n = arr.Length();
    for (uint32_t i = 0; i < n; i++) {
      Napi::Value v = arr.Get(i);
      if (!v.IsTypedArray()) throw Napi::TypeError::New(env, "send: buffers must be Uint8Arrays");
      auto b = v.As<Napi::Uint8Array>();
      if (A->sendmsg(s, reinterpret_cast<const char*>(b.Data()), (int)b.ByteLength(), -1, 0) == ERROR) {
        int code = A->getlasterror(nullptr);
        return Napi::Number::New(env, i > 0 ? (double)i : -(double)code);
      }
    }
    return Napi::Number::New(env, n);
  }

  Napi::Value Stats(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    SRTSOCKET s = info[0].IsNumber() ? info[0].As<Napi::Number>().Int32Value() : INVALID_SOCK;
    auto st = std::make_unique<srt::Stats>();
    memset(st.get(), 0, sizeof(srt::Stats));
    if (finished_ || A->bstats(s, st.get(), 0) == ERROR) {
      std::lock_guard<std::mutex> lock(conns_mu_);
      auto it = final_stats_.find(s);
      if (it == final_stats_.end()) return env.Undefined();
      *st = *it->second;
    }
    Napi::Object o = Napi::Object::New(env);
    o.Set("msTimeStamp", (double)st->msTimeStamp);
    o.Set("pktSentTotal", (double)st->pktSentTotal);
    o.Set("pktRecvTotal", (double)st->pktRecvTotal);
    o.Set("pktSentUniqueTotal", (double)st->pktSentUniqueTotal);
    o.Set("pktRecvUniqueTotal", (double)st->pktRecvUniqueTotal);
    o.Set("pktSndLossTotal", (double)st->pktSndLossTotal);
    o.Set("pktRcvLossTotal", (double)st->pktRcvLossTotal);
    o.Set("pktRetransTotal", (double)st->pktRetransTotal);
    o.Set("pktRcvRetrans", (double)st->pktRcvRetrans);
    o.Set("pktSndDropTotal", (double)st->pktSndDropTotal);
    o.Set("pktRcvDropTotal", (double)st->pktRcvDropTotal);
    o.Set("pktRcvUndecryptTotal", (double)st->pktRcvUndecryptTotal);
    o.Set("pktRcvBelated", (double)st->pktRcvBelated);
    o.Set("pktSentNAKTotal", (double)st->pktSentNAKTotal);
    o.Set("pktRecvNAKTotal", (double)st->pktRecvNAKTotal);
    o.Set("byteSentTotal", (double)st->byteSentTotal);
    o.Set("byteRecvTotal", (double)st->byteRecvTotal);
    o.Set("byteRetransTotal", (double)st->byteRetransTotal);
    o.Set("pktSndFilterExtraTotal", (double)st->pktSndFilterExtraTotal);
    o.Set("pktRcvFilterExtraTotal", (double)st->pktRcvFilterExtraTotal);
    o.Set("pktRcvFilterSupplyTotal", (double)st->pktRcvFilterSupplyTotal);
    o.Set("pktRcvFilterLossTotal", (double)st->pktRcvFilterLossTotal);
    o.Set("msRTT", st->msRTT);
    o.Set("mbpsSendRate", st->mbpsSendRate);
    o.Set("mbpsRecvRate", st->mbpsRecvRate);
    o.Set("mbpsBandwidth", st->mbpsBandwidth);
    o.Set("msSndTsbPdDelay", (double)st->msSndTsbPdDelay);
    o.Set("msRcvTsbPdDelay", (double)st->msRcvTsbPdDelay);
    o.Set("msRcvBuf", (double)st->msRcvBuf);
    o.Set("pktSndBuf", (double)st->pktSndBuf);
    return o;
  }

  void CloseConn(const Napi::CallbackInfo& info) {
    if (finished_ || !info[0].IsNumber()) return;
    SRTSOCKET s = info[0].As<Napi::Number>().Int32Value();
    bool had;
    {
      std::lock_guard<std::mutex> lock(conns_mu_);
      had = conns_.erase(s) > 0;
    }
    if (had && s != sock_) A->close(s);  // the thread's epoll forgets a closed socket by itself
  }

  Napi::Value Port(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), port_); }

  Napi::Value Stop(const Napi::CallbackInfo& info) {
    bool first = false;
    Napi::Promise p = stops_.Add(info.Env(), finished_, &first);
    if (first) {
      stop_ = true;
      // A connect in progress returns at once when its socket is closed.
      if (mode_ != 1) A->close(sock_);
    }
    return p;
  }

  static void CleanupHook(void* arg) {
    auto* self = static_cast<SrtLink*>(arg);
    self->hooked_ = false;
    self->Shutdown();
  }

  void Shutdown() {
    if (finished_) return;
    finished_ = true;
    stop_ = true;
    if (mode_ != 1 && sock_ != INVALID_SOCK) A->close(sock_);
    tsfn_.Abort();  // a BlockingCall in the thread returns at once
    if (thread_.joinable()) thread_.join();
  }
};

// srtLoad(name) -> { ok: true, version: "1.5.1" } | { ok: false, error }
Napi::Value SrtLoad(const Napi::CallbackInfo& info) {
  return LoadForJs(info, Load, &A, [](const Api& api) {
    uint32_t v = api.getversion();
    return std::to_string(v >> 16) + "." + std::to_string((v >> 8) & 0xff) + "." + std::to_string(v & 0xff);
  });
}

}  // namespace

void InitSrt(Napi::Env env, Napi::Object exports) {
  exports.Set("srtLoad", Napi::Function::New(env, SrtLoad));
  exports.Set("SrtLink", SrtLink::Define(env));
}

}  // namespace srt
}  // namespace ipcast
