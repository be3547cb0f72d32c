// See udp_io.h.
#define _GNU_SOURCE
#include "udp_io.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "wire.h"

int udp_addr4(const char* host, int port, struct sockaddr_in* sa) {
  memset(sa, 0, sizeof *sa);
  sa->sin_family = AF_INET;
  sa->sin_port = htons((uint16_t)port);
  if (host == NULL || host[0] == '\0') {
    sa->sin_addr.s_addr = htonl(INADDR_ANY);
    return 0;
  }
  return inet_pton(AF_INET, host, &sa->sin_addr) == 1 ? 0 : -EINVAL;
}

int udp_open4(const char* addr, int port, int reuse_addr, const char** stage) {
  struct sockaddr_in sa;
  *stage = "bind";
  int r = udp_addr4(addr, port, &sa);
  if (r < 0) return r;
  *stage = "socket";
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  int one = 1;
  *stage = "setsockopt(SO_REUSEADDR)";
  if (reuse_addr && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0) goto fail;
  *stage = "bind";
  if (bind(fd, (struct sockaddr*)&sa, sizeof sa) < 0) goto fail;
  return fd;
fail:
  r = -errno;
  close(fd);
  return r;
}

int udp_set_rcvbuf(int fd, int bytes, int force) {
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes) < 0) return -errno;
  int got = 0;
  socklen_t len = sizeof got;
  if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &got, &len) < 0) return -errno;
  // The kernel caps SO_RCVBUF at net.core.rmem_max; a process with CAP_NET_ADMIN may go past
  // it with SO_RCVBUFFORCE. Without the capability that fails with EPERM: keep what we got.
  if (force && got / 2 < bytes && setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof bytes) == 0) {
    len = sizeof got;
    if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &got, &len) < 0) return -errno;
  }
  return got;
}

int udp_local_port(int fd) {
  struct sockaddr_in sa;
  socklen_t len = sizeof sa;
  if (getsockname(fd, (struct sockaddr*)&sa, &len) < 0) return -errno;
  return ntohs(sa.sin_port);
}

int udp_join4(int fd, const char* group, const char* iface, const char* source) {
  struct in_addr g, i, s;
  if (inet_pton(AF_INET, group, &g) != 1 || iface == NULL || inet_pton(AF_INET, iface, &i) != 1) return -EINVAL;
  if (source != NULL && source[0] != '\0') {
    if (inet_pton(AF_INET, source, &s) != 1) return -EINVAL;
    struct ip_mreq_source m = {.imr_multiaddr = g, .imr_interface = i, .imr_sourceaddr = s};
    return setsockopt(fd, IPPROTO_IP, IP_ADD_SOURCE_MEMBERSHIP, &m, sizeof m) < 0 ? -errno : 0;
  }
  struct ip_mreq m = {.imr_multiaddr = g, .imr_interface = i};
  return setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &m, sizeof m) < 0 ? -errno : 0;
}

int udp_multicast_out4(int fd, const char* iface, int ttl, int loop) {
  struct in_addr i;
  if (iface == NULL || inet_pton(AF_INET, iface, &i) != 1) return -EINVAL;
  if (setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &i, sizeof i) < 0) return -errno;
  unsigned char t = (unsigned char)ttl, l = loop ? 1 : 0;
  if (setsockopt(fd, IPPROTO_IP, IP_MULTICAST_TTL, &t, sizeof t) < 0) return -errno;
  if (setsockopt(fd, IPPROTO_IP, IP_MULTICAST_LOOP, &l, sizeof l) < 0) return -errno;
  return 0;
}

int udp_set_broadcast(int fd, int on) {
  return setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &on, sizeof on) < 0 ? -errno : 0;
}

int udp_rx_init(struct udp_rx* rx) {
  // Reserved, not committed: only the pages datagrams are written to become resident.
  void* p = mmap(NULL, (size_t)UDP_BATCH * UDP_SLOT_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return -errno;
  rx->slots = (uint8_t*)p;
  return 0;
}

void udp_rx_free(struct udp_rx* rx) {
  if (rx->slots) munmap(rx->slots, (size_t)UDP_BATCH * UDP_SLOT_BYTES);
  rx->slots = NULL;
}

int udp_recv_batch(int fd, struct udp_rx* rx, struct udp_dgram* out, int decode) {
  struct mmsghdr msgs[UDP_BATCH];
  struct iovec iov[UDP_BATCH];
  memset(msgs, 0, sizeof msgs);
  for (int i = 0; i < UDP_BATCH; i++) {
    iov[i].iov_base = rx->slots + (size_t)i * UDP_SLOT_BYTES;
    iov[i].iov_len = UDP_SLOT_BYTES;
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }
  int n;
  do n = recvmmsg(fd, msgs, UDP_BATCH, MSG_DONTWAIT, NULL);
  while (n < 0 && errno == EINTR);
  if (n < 0) return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -errno;
  for (int i = 0; i < n; i++) {
    struct udp_dgram* d = &out[i];
    memset(d, 0, sizeof *d);
    d->len = msgs[i].msg_len;
    if (!decode) continue;
    struct ipcast_header h;
    d->status = ipcast_decode(udp_rx_slot(rx, i), d->len, &h);
    if (d->status != IPCAST_OK) continue;
    d->kind = h.kind;
    d->channel = h.channel;
    d->sequence = h.sequence;
    d->timestamp_us = h.timestamp_us;
    d->flags = h.flags;
    d->checksum = h.checksum;
  }
  return n;
}

int udp_send_batch(int fd, const struct sockaddr_in* to, const uint8_t* const* bufs, const size_t* lens, int n) {
  struct mmsghdr msgs[UDP_BATCH];
  struct iovec iov[UDP_BATCH];
  if (n > UDP_BATCH) n = UDP_BATCH;
  memset(msgs, 0, sizeof(struct mmsghdr) * (size_t)n);
  for (int i = 0; i < n; i++) {
    iov[i].iov_base = (void*)bufs[i];
    iov[i].iov_len = lens[i];
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
    msgs[i].msg_hdr.msg_name = (void*)to;
    msgs[i].msg_hdr.msg_namelen = sizeof *to;
  }
  int r;
  do r = sendmmsg(fd, msgs, (unsigned)n, MSG_DONTWAIT);
  while (r < 0 && errno == EINTR);
  return r < 0 ? -errno : r;
}
