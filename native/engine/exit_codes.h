// One exit-code table for the engine's programs (ipcast-sink, ipcast-baseline) and for the
// TypeScript that reads their status (src/transport/report.ts SINK_EXIT mirrors it).
#ifndef IPCAST_EXIT_CODES_H
#define IPCAST_EXIT_CODES_H

enum {
  IPCAST_EXIT_OK = 0,           /* end of stream reached, everything verified */
  IPCAST_EXIT_RUNTIME = 1,      /* a system call failed, cannot attach or create */
  IPCAST_EXIT_USAGE = 2,        /* bad command line */
  IPCAST_EXIT_VERIFY = 3,       /* verification failed: gaps, checksum errors, malformed records */
  IPCAST_EXIT_DECODER = 4,      /* the decoder failed: non-zero exit, killed, not runnable, EPIPE */
  IPCAST_EXIT_STOPPED = 5,      /* stopped before end of stream: a signal, or the peer closed first */
  IPCAST_EXIT_PARENT_DIED = 6,  /* the writer (parent) died; its System V objects were removed */
  IPCAST_EXIT_EXEC_FAILED = 127 /* the program to exec could not be run */
};

#endif
