#pragma once
// librist 0.2.7 never tells the kernel which interface a multicast datagram leaves by (no
// IP_MULTICAST_IF; its miface= only joins groups), and rist_peer_create already sends its
// first RTCP packets to the group before it returns. So a socket must be pinned as it is born:
// ipcast replaces librist's own import of socket() (its GOT slot) with a wrapper that, inside a
// PinScope on the same thread, sets IP_MULTICAST_IF and IP_MULTICAST_TTL on every IPv4
// datagram socket librist opens, and fails the socket (so librist fails the peer) if it cannot.
// Outside a PinScope the wrapper is plain socket().
#include <netinet/in.h>

#include <string>

namespace ipcast {
namespace rist {

// Installs the wrapper into the library opened as `dl_handle`. False (with `why`) when the
// library does not import socket() through a slot this code can find, or on an architecture
// it does not know: then no multicast may be sent through that library.
bool HookSocket(void* dl_handle, std::string* why);

// While alive, librist's sockets opened on this thread are pinned to `iface`.
class PinScope {
 public:
  PinScope(in_addr iface, int ttl);
  ~PinScope();
  PinScope(const PinScope&) = delete;
  PinScope& operator=(const PinScope&) = delete;
  int pinned() const { return pinned_; }
  // The first failure, if any ("" if none).
  const std::string& failure() const { return failure_; }

 private:
  friend int PinNewSocket(int domain, int type, int protocol);
  in_addr iface_;
  int ttl_;
  int pinned_ = 0;
  std::string failure_;
};

}  // namespace rist
}  // namespace ipcast
