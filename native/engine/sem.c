#define _GNU_SOURCE
#include "sem.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/ipc.h>
#include <sys/sem.h>
#include <time.h>

union ipcast_semun {
  int val;
  struct semid_ds* buf;
  unsigned short* array;
};

int ipcast_sem_create(int n, const unsigned short* values) {
  int id = semget(IPC_PRIVATE, n, IPC_CREAT | 0600);
  if (id < 0) return -errno;
  union ipcast_semun arg;
  arg.array = (unsigned short*)values;
  if (semctl(id, 0, SETALL, arg) < 0) {
    int e = errno;
    semctl(id, 0, IPC_RMID);
    return -e;
  }
  return id;
}

int ipcast_sem_op(int semid, unsigned short num, short delta, int timeout_ms) {
  struct sembuf op = {num, delta, 0};
  int r;
  if (timeout_ms < 0) {
    op.sem_flg = IPC_NOWAIT;
    r = semop(semid, &op, 1);
  } else {
    struct timespec ts = {timeout_ms / 1000, (long)(timeout_ms % 1000) * 1000000L};
    r = semtimedop(semid, &op, 1, &ts);
  }
  return r < 0 ? -errno : 0;
}

int ipcast_sem_get(int semid, int num) {
  int v = semctl(semid, num, GETVAL);
  return v < 0 ? -errno : v;
}

int ipcast_sem_remove(int semid) { return semctl(semid, 0, IPC_RMID) < 0 ? -errno : 0; }
