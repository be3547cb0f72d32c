// UDP in batches: the socket set-up and the recvmmsg/sendmmsg loops behind native/udp_binding.cc.
// Plain C, no Node: every function returns 0 (or a count) on success and -errno on failure, and
// never blocks (MSG_DONTWAIT); the binding waits for readiness on libuv's loop (uv_poll_t).
//
// Receiving: udp_recv_batch() takes up to UDP_BATCH datagrams with one recvmmsg into the
// socket's fixed slots (UDP_SLOT_BYTES each, so any IPv4 datagram fits), then describes each in
// a udp_dgram: where it is, how long, and, when asked to decode, the ipcast header fields or the
// reason it was rejected (native/wire.c, CRC-32C included). The caller copies what it keeps: the
// slots are reused by the next call.
#ifndef IPCAST_UDP_IO_H
#define IPCAST_UDP_IO_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#ifdef __cplusplus
extern "C" {
#endif

#define UDP_BATCH 64
#define UDP_SLOT_BYTES 65536 /* > 65507, the largest IPv4 UDP payload */

struct udp_dgram {
  uint32_t len;    /* datagram bytes */
  int32_t status;  /* 0 = decoded (or not asked), else an ipcast_reason */
  uint8_t kind;
  uint16_t channel;
  uint32_t sequence;
  uint64_t timestamp_us;
  uint32_t flags;
  uint32_t checksum;
};

struct udp_rx {
  uint8_t* slots; /* UDP_BATCH * UDP_SLOT_BYTES, lazily touched */
};

// A SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC IPv4 socket bound to addr:port (addr "" = any).
// reuse_addr sets SO_REUSEADDR first (several receivers of one group). On failure *stage names
// the call that failed ("socket", "bind", ...).
int udp_open4(const char* addr, int port, int reuse_addr, const char** stage);
// SO_RCVBUF; with force, SO_RCVBUFFORCE too when the kernel capped the request (needs
// CAP_NET_ADMIN; EPERM is ignored). Returns the value the kernel stored (getsockopt: twice
// what it granted) or -errno.
int udp_set_rcvbuf(int fd, int bytes, int force);
// The bound port, or -errno.
int udp_local_port(int fd);
// IP_ADD_MEMBERSHIP (source NULL or "") or IP_ADD_SOURCE_MEMBERSHIP, always on the interface
// whose address is iface (never INADDR_ANY). -EINVAL for an address that does not parse.
int udp_join4(int fd, const char* group, const char* iface, const char* source);
// Outgoing multicast: IP_MULTICAST_IF (iface address), IP_MULTICAST_TTL, IP_MULTICAST_LOOP.
int udp_multicast_out4(int fd, const char* iface, int ttl, int loop);
int udp_set_broadcast(int fd, int on);
// Fills *sa for host:port; -EINVAL when host is not an IPv4 address.
int udp_addr4(const char* host, int port, struct sockaddr_in* sa);

int udp_rx_init(struct udp_rx* rx);
void udp_rx_free(struct udp_rx* rx);
// One recvmmsg of up to UDP_BATCH datagrams. Returns how many (0 = nothing waiting), or -errno.
// decode != 0: each is decoded as an ipcast chunk (status = IPCAST_OK or the reason).
int udp_recv_batch(int fd, struct udp_rx* rx, struct udp_dgram* out, int decode);
static inline const uint8_t* udp_rx_slot(const struct udp_rx* rx, int i) {
  return rx->slots + (size_t)i * UDP_SLOT_BYTES;
}

// One sendmmsg of n (<= UDP_BATCH) buffers to *to. Returns how many went (>= 1), or -errno for
// the first one (EAGAIN: the send buffer is full, wait for POLLOUT).
int udp_send_batch(int fd, const struct sockaddr_in* to, const uint8_t* const* bufs, const size_t* lens, int n);

#ifdef __cplusplus
}
#endif

#endif
