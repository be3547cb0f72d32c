// The System V message queue transport. Messages carry pieces of the record byte stream
// of record.h: mtype DATA for records, mtype EOS for the message that holds the final
// end-of-stream record. A message body is at most msgmax bytes (/proc/sys/kernel/msgmax,
// typically 8192); the queue holds at most msg_qbytes (default msgmnb, typically 16384).
// Records larger than a message are split across messages; small records share one.
#ifndef IPCAST_MSG_QUEUE_H
#define IPCAST_MSG_QUEUE_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

enum { IPCAST_MTYPE_DATA = 1, IPCAST_MTYPE_EOS = 2 };
#define IPCAST_MSG_MAX_BODY (1024u * 1024u) /* never trust msgmax beyond this */

typedef struct {
  long msgmax;  /* /proc/sys/kernel/msgmax, -1 if unreadable */
  long msgmnb;  /* /proc/sys/kernel/msgmnb */
  long msgmni;  /* /proc/sys/kernel/msgmni */
} ipcast_msg_limits;

void ipcast_msg_read_limits(ipcast_msg_limits* out);
/* msgget(IPC_PRIVATE, IPC_CREAT|0600): id or -errno. */
int ipcast_msg_create(void);
/* msg_qbytes of the queue, or -errno. */
long ipcast_msg_qbytes(int qid);
int ipcast_msg_remove(int qid);
/* The message body size, the one rule writers and the sink share: msgmax (8192 if unknown),
 * at most the queue's qbytes (when > 0) and IPCAST_MSG_MAX_BODY, lowered to `wanted` when
 * 64 <= wanted < that. The sink calls it with qbytes 0 and wanted 0: the largest a writer uses. */
size_t ipcast_msg_body_bytes(const ipcast_msg_limits* limits, long qbytes, size_t wanted);

#ifdef __cplusplus
}
#endif

#endif
