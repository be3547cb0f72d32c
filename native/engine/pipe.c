#define _GNU_SOURCE
#include "pipe.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

int ipcast_pipe_create(int fds[2], int want, int* capacity) {
  fds[0] = fds[1] = -1;
  int p[2];
  if (pipe2(p, O_CLOEXEC) < 0) return -errno;
  int fl = fcntl(p[1], F_GETFL);
  if (fl < 0 || fcntl(p[1], F_SETFL, fl | O_NONBLOCK) < 0) {
    int e = errno;
    close(p[0]);
    close(p[1]);
    return -e;  // fds stay -1: nothing for the caller to close again
  }
  for (int size = want; size >= 4096; size /= 2) {
    if (fcntl(p[1], F_SETPIPE_SZ, size) >= 0) break;
    if (errno != EPERM && errno != EBUSY && errno != EINVAL) break;
  }
  fds[0] = p[0];
  fds[1] = p[1];
  *capacity = fcntl(p[1], F_GETPIPE_SZ);
  return 0;
}
