// fork + exec with the parent-death signal, the one way the engine's programs start a
// child (ipcast-baseline its sink, ipcast-sink its decoder, ipcast-sink --wrap in place).
#ifndef IPCAST_SPAWN_H
#define IPCAST_SPAWN_H

#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  int stdin_fd;  /* becomes fd 0 (-1: /dev/null) */
  int fd3;       /* becomes fd 3 (-1: none) */
  int search_path; /* execvp instead of execv */
} ipcast_spawn_options;

/* In the calling process: sets PR_SET_PDEATHSIG (SIGTERM; kept across execve), then re-checks
   getppid() == parent, because a parent that died before prctl took effect sends no signal.
   Returns 0, or -1 when the parent is already gone. */
int ipcast_die_with_parent(pid_t parent);

/* Forks a child that resets SIGINT/SIGTERM/SIGPIPE to their defaults, dies with the caller
   (ipcast_die_with_parent, exit IPCAST_EXIT_PARENT_DIED otherwise), sets up fds 0 and 3 and
   execs argv (exit IPCAST_EXIT_EXEC_FAILED with one line on stderr if it cannot).
   Returns the child's pid or -errno. */
pid_t ipcast_spawn(char* const argv[], const ipcast_spawn_options* o);

/* ipcast_die_with_parent, then exec argv in place (execvp). Returns only on failure:
   IPCAST_EXIT_PARENT_DIED or IPCAST_EXIT_EXEC_FAILED (with one line on stderr). */
int ipcast_exec_with_parent(pid_t parent, char* const argv[], const char* who);

#ifdef __cplusplus
}
#endif

#endif
