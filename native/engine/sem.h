// System V semaphore array helpers shared by the addon (writer) and the sink (reader).
// Every call returns 0 or -errno; nothing here blocks without a timeout.
#ifndef IPCAST_SEM_H
#define IPCAST_SEM_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* semget(IPC_PRIVATE, n, IPC_CREAT|0600) and SETALL to `values`. Returns the id or -errno. */
int ipcast_sem_create(int n, const unsigned short* values);
/* Adds `delta` to semaphore `num`. timeout_ms < 0: IPC_NOWAIT; 0: ...never used; > 0: semtimedop.
   Returns 0, -EAGAIN (would block / timed out), -EINTR, -EIDRM/-EINVAL (array removed), other -errno. */
int ipcast_sem_op(int semid, unsigned short num, short delta, int timeout_ms);
/* Current value of one semaphore, or -errno. */
int ipcast_sem_get(int semid, int num);
/* IPC_RMID; 0 or -errno. */
int ipcast_sem_remove(int semid);

#ifdef __cplusplus
}
#endif

#endif
