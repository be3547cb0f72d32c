#define _GNU_SOURCE
#include "spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "exit_codes.h"

int ipcast_die_with_parent(pid_t parent) {
  prctl(PR_SET_PDEATHSIG, SIGTERM);
  return getppid() == parent ? 0 : -1;
}

pid_t ipcast_spawn(char* const argv[], const ipcast_spawn_options* o) {
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) return -errno;
  if (pid > 0) return pid;
  signal(SIGINT, SIG_DFL);
  signal(SIGTERM, SIG_DFL);
  signal(SIGPIPE, SIG_DFL);
  if (ipcast_die_with_parent(parent) < 0) _exit(IPCAST_EXIT_PARENT_DIED);
  int in = o->stdin_fd >= 0 ? o->stdin_fd : open("/dev/null", O_RDONLY);
  if (in >= 0 && in != 0 && dup2(in, 0) < 0) _exit(IPCAST_EXIT_EXEC_FAILED);
  if (in == 0) fcntl(0, F_SETFD, 0);  // keep it across exec
  if (o->fd3 >= 0 && o->fd3 != 3 && dup2(o->fd3, 3) < 0) _exit(IPCAST_EXIT_EXEC_FAILED);  // dup2 clears FD_CLOEXEC
  if (o->fd3 == 3) fcntl(3, F_SETFD, 0);
  if (o->search_path) execvp(argv[0], argv);
  else execv(argv[0], argv);
  fprintf(stderr, "ipcast: cannot run %s: %s\n", argv[0], strerror(errno));
  _exit(IPCAST_EXIT_EXEC_FAILED);
}

int ipcast_exec_with_parent(pid_t parent, char* const argv[], const char* who) {
  if (ipcast_die_with_parent(parent) < 0) return IPCAST_EXIT_PARENT_DIED;
  execvp(argv[0], argv);
  fprintf(stderr, "%s: cannot run %s: %s\n", who, argv[0], strerror(errno));
  return IPCAST_EXIT_EXEC_FAILED;
}
