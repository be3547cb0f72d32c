#define _GNU_SOURCE
#include "msg_queue.h"

#include <errno.h>
#include <stdio.h>
#include <sys/ipc.h>
#include <sys/msg.h>

static long read_long(const char* path) {
  FILE* f = fopen(path, "re");
  if (!f) return -1;
  long v = -1;
  if (fscanf(f, "%ld", &v) != 1) v = -1;
  fclose(f);
  return v;
}

void ipcast_msg_read_limits(ipcast_msg_limits* out) {
  out->msgmax = read_long("/proc/sys/kernel/msgmax");
  out->msgmnb = read_long("/proc/sys/kernel/msgmnb");
  out->msgmni = read_long("/proc/sys/kernel/msgmni");
}

int ipcast_msg_create(void) {
  int id = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
  return id < 0 ? -errno : id;
}

long ipcast_msg_qbytes(int qid) {
  struct msqid_ds ds;
  if (msgctl(qid, IPC_STAT, &ds) < 0) return -errno;
  return (long)ds.msg_qbytes;
}

int ipcast_msg_remove(int qid) { return msgctl(qid, IPC_RMID, NULL) < 0 ? -errno : 0; }

size_t ipcast_msg_body_bytes(const ipcast_msg_limits* limits, long qbytes, size_t wanted) {
  size_t body = limits->msgmax > 0 ? (size_t)limits->msgmax : 8192;
  if (qbytes > 0 && body > (size_t)qbytes) body = (size_t)qbytes;
  if (body > IPCAST_MSG_MAX_BODY) body = IPCAST_MSG_MAX_BODY;
  if (wanted >= 64 && wanted < body) body = wanted;
  return body;
}
