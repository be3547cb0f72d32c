// ipcast-udp-baseline: the relay with no Node in it, for scripts/relay-bench.sh.
//
//   ipcast-udp-baseline PORT [--rcvbuf BYTES] [--format ipcast|raw] [--idle-ms MS] [--wait-ms MS]
//
// Binds 127.0.0.1:PORT, receives with recvmmsg in batches of 64 and writes the payload to
// stdout (writev, blocking), the way `ipcast recv` hands it to its decoder. In ipcast format
// (default) every datagram is decoded and its CRC-32C checked (native/wire.c), data chunks of
// the first data channel seen are written, and the end-of-stream chunk ends the run; in raw
// format every datagram is written whole and the run ends after --idle-ms without data.
// When stdout is a pipe it is raised to 1 MiB (F_SETPIPE_SZ, as ipcast's pipe transport does), so
// a reader that falls behind for a moment does not stop the relay at once.
// The kernel's drop count comes from SO_RXQ_OVFL. One JSON line of counts goes to stderr
// (cpuMs: this process's user + system time, getrusage):
//   {"cpuMs":N,"datagrams":N,"bytes":N,"payloadBytes":N,"seconds":S,"mbps":R,"kernelDrops":N,
//    "decodeErrors":N,"gaps":N,"eos":true|false}
// Exit 0 when the stream ended (EOS, or idle after data in raw format), 1 otherwise.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "wire.h"

#define BATCH 64
#define SLOT (64 * 1024)

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int write_all(struct iovec* iov, int n) {
  while (n > 0) {
    ssize_t w = writev(STDOUT_FILENO, iov, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    while (n > 0 && (size_t)w >= iov->iov_len) {
      w -= (ssize_t)iov->iov_len;
      iov++;
      n--;
    }
    if (n > 0) {
      iov->iov_base = (char*)iov->iov_base + w;
      iov->iov_len -= (size_t)w;
    }
  }
  return 0;
}

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s PORT [--rcvbuf BYTES] [--format ipcast|raw] [--idle-ms MS] [--wait-ms MS]\n", argv[0]);
    return 2;
  }
  int port = atoi(argv[1]);
  int rcvbuf = 4 * 1024 * 1024, idle_ms = 1000, wait_ms = 30000, raw = 0;
  for (int i = 2; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--rcvbuf")) rcvbuf = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--idle-ms")) idle_ms = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--wait-ms")) wait_ms = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--format")) raw = !strcmp(argv[i + 1], "raw");
    else {
      fprintf(stderr, "unknown option %s\n", argv[i]);
      return 2;
    }
  }
  int pipe_bytes = fcntl(STDOUT_FILENO, F_SETPIPE_SZ, 1 << 20);
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    perror("socket");
    return 1;
  }
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof one);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port), .sin_addr = {htonl(INADDR_LOOPBACK)}};
  if (bind(fd, (struct sockaddr*)&sa, sizeof sa) < 0) {
    fprintf(stderr, "bind failed: %s\n", strerror(errno));
    return 1;
  }
  int got = 0;
  socklen_t gl = sizeof got;
  getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &got, &gl);
  fprintf(stderr, "ipcast-udp-baseline: listening on 127.0.0.1:%d, rcvbuf %d (kernel value, doubled), stdout pipe %d\n", port,
          got, pipe_bytes);

  static uint8_t bufs[BATCH][SLOT];
  static char ctl[BATCH][CMSG_SPACE(sizeof(uint32_t))];
  struct mmsghdr msgs[BATCH];
  struct iovec iovs[BATCH], out[BATCH];
  uint64_t datagrams = 0, bytes = 0, payload_bytes = 0, decode_errors = 0, gaps = 0;
  uint32_t drops = 0;
  int channel = -1, have_seq = 0, eos = 0;
  uint32_t next_seq = 0;
  double first = 0, last = 0;

  while (!eos) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int r = poll(&p, 1, datagrams ? idle_ms : wait_ms);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    for (int i = 0; i < BATCH; i++) {
      iovs[i].iov_base = bufs[i];
      iovs[i].iov_len = SLOT;
      memset(&msgs[i].msg_hdr, 0, sizeof msgs[i].msg_hdr);
      msgs[i].msg_hdr.msg_iov = &iovs[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
      msgs[i].msg_hdr.msg_control = ctl[i];
      msgs[i].msg_hdr.msg_controllen = sizeof ctl[i];
    }
    int n = recvmmsg(fd, msgs, BATCH, MSG_DONTWAIT, NULL);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      fprintf(stderr, "recvmmsg failed: %s\n", strerror(errno));
      return 1;
    }
    last = now_s();
    if (!datagrams) first = last;
    int nout = 0;
    for (int i = 0; i < n; i++) {
      size_t len = msgs[i].msg_len;
      datagrams++;
      bytes += len;
      for (struct cmsghdr* c = CMSG_FIRSTHDR(&msgs[i].msg_hdr); c; c = CMSG_NXTHDR(&msgs[i].msg_hdr, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL) memcpy(&drops, CMSG_DATA(c), sizeof drops);
      }
      if (raw) {
        out[nout].iov_base = bufs[i];
        out[nout++].iov_len = len;
        payload_bytes += len;
        continue;
      }
      struct ipcast_header h;
      if (ipcast_decode(bufs[i], len, &h) != IPCAST_OK) {
        decode_errors++;
        continue;
      }
      if (h.channel == 0) continue;
      if (channel < 0 && h.kind == IPCAST_KIND_DATA) channel = h.channel;
      if ((int)h.channel != channel) continue;
      if (have_seq && h.sequence != next_seq) gaps++;
      have_seq = 1;
      next_seq = h.sequence + 1;
      if (h.kind == IPCAST_KIND_EOS) {
        eos = 1;
        break;
      }
      if (h.kind != IPCAST_KIND_DATA || h.length == 0) continue;
      out[nout].iov_base = bufs[i] + IPCAST_HEADER_BYTES;
      out[nout++].iov_len = h.length;
      payload_bytes += h.length;
    }
    if (nout && write_all(out, nout) < 0) {
      fprintf(stderr, "write failed: %s\n", strerror(errno));
      return 1;
    }
  }
  double secs = last - first;
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  double cpu_ms = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 + (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
  fprintf(stderr,
          "{\"cpuMs\":%.1f,\"datagrams\":%llu,\"bytes\":%llu,\"payloadBytes\":%llu,\"seconds\":%.6f,\"mbps\":%.1f,\"kernelDrops\":%u,"
          "\"decodeErrors\":%llu,\"gaps\":%llu,\"eos\":%s}\n",
          cpu_ms, (unsigned long long)datagrams, (unsigned long long)bytes, (unsigned long long)payload_bytes, secs,
          secs > 0 ? (double)bytes * 8 / secs / 1e6 : 0.0, drops, (unsigned long long)decode_errors,
          (unsigned long long)gaps, eos ? "true" : "false");
  close(fd);
  return (eos || (raw && datagrams)) ? 0 : 1;
}
