#define _GNU_SOURCE
#include "pipe.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

int ipcast_pipe_create(int fds[2], int want, int* capacity) {
  if (pipe2(fds, O_CLOEXEC) < 0) return -errno;
  int fl = fcntl(fds[1], F_GETFL);
  if (fl < 0 || fcntl(fds[1], F_SETFL, fl | O_NONBLOCK) < 0) {
    int e = errno;
    close(fds[0]);
    close(fds[1]);
    return -e;
  }
  for (int size = want; size >= 4096; size /= 2) {
    if (fcntl(fds[1], F_SETPIPE_SZ, size) >= 0) break;
    if (errno != EPERM && errno != EBUSY && errno != EINVAL) break;
  }
  *capacity = fcntl(fds[1], F_GETPIPE_SZ);
  return 0;
}
