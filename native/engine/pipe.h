// The pipe transport: a real anonymous pipe (not the socketpair Node's spawn makes) whose
// read end becomes the child's fd 0.
#ifndef IPCAST_PIPE_H
#define IPCAST_PIPE_H

#ifdef __cplusplus
extern "C" {
#endif

/* pipe2(O_CLOEXEC), write end O_NONBLOCK, capacity raised (or lowered) towards `want`
   bytes with F_SETPIPE_SZ, halving on EPERM/EBUSY down to the page size. fds[0] = read,
   fds[1] = write; *capacity = F_GETPIPE_SZ. 0 or -errno; on failure both fds are -1
   and nothing is left open (the caller closes nothing). */
int ipcast_pipe_create(int fds[2], int want, int* capacity);

#ifdef __cplusplus
}
#endif

#endif
