// The System V shared-memory ring between the receiver (writer, in the addon) and the
// sink (reader).
//
// Layout of the segment (shmget(IPC_PRIVATE, size, IPC_CREAT|0600)):
//
//   0      ipcast_ring_header (magic "CASTRING", version, slot count/bytes/stride, sem id,
//          creator and reader pids, write/read positions), padded to 4096 bytes
//   4096   slot 0: { u32 used, u32 seq, u64 reserved } + slot_bytes of data
//   ...    slot i at 4096 + i * slot_stride (stride = 16 + slot_bytes rounded up to 64)
//
// The data carried by the slots is the record byte stream of record.h: records are
// packed back to back, a record may start in one slot and end in a later one (a chunk
// larger than a slot is split; small chunks share a slot). The reader concatenates the
// `used` bytes of the slots in order and parses records out of that stream.
//
// Semaphore array (semget(IPC_PRIVATE, 3, IPC_CREAT|0600)):
//   FREE     (0) = slots the writer may fill, starts at slot_count
//   FILLED   (1) = slots the reader may read, starts at 0
//   ATTACHED (2) = 0 until the sink has attached the segment, then 1
//
// Protocol:
//   writer:  P(FREE)   (IPC_NOWAIT first; if that would block, semtimedop in 100 ms slices
//                       on a worker thread so a closed transport is noticed)
//            fill slot[write_pos % n] (used = bytes, seq), write_pos++
//            V(FILLED) (the slot is posted when full or when a write batch ends)
//   reader:  P(FILLED) (semtimedop in slices, checking parent death between them)
//            validate used <= slot_bytes, consume the bytes, read_pos++
//            V(FREE)   (a slot is reused only after the reader released it)
//   semop is a full memory barrier, so the slot contents are visible once FILLED is seen.
//
// Lifecycle: the sink attaches, then immediately marks the segment IPC_RMID (both sides
// are attached, so the kernel frees it when the last one detaches or dies) and V(ATTACHED).
// End of stream is an EOS record in the stream. The writer removes the semaphore array
// when the transport closes (a waiting reader then gets EIDRM); if the writer's process
// dies, the sink removes the semaphore array (and the segment, if not yet marked).
#define _GNU_SOURCE
#include "shm_ring.h"

#include <errno.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "sem.h"

static uint32_t stride_for(uint32_t slot_bytes) {
  uint32_t s = IPCAST_RING_SLOT_HEADER + slot_bytes;
  return (s + 63u) & ~63u;
}

int ipcast_ring_create(ipcast_ring* ring, uint32_t slots, uint32_t slot_bytes) {
  memset(ring, 0, sizeof *ring);
  ring->shm_id = ring->sem_id = -1;
  if (slots < 1 || slots > IPCAST_RING_MAX_SLOTS) return -EINVAL;
  if (slot_bytes < IPCAST_RING_MIN_SLOT_BYTES || slot_bytes > IPCAST_RING_MAX_SLOT_BYTES) return -EINVAL;
  uint32_t stride = stride_for(slot_bytes);
  unsigned long long size = IPCAST_RING_HEADER_BYTES + (unsigned long long)slots * stride;
  if (size > IPCAST_RING_MAX_BYTES) return -EINVAL;

  unsigned short init[IPCAST_SEM_COUNT] = {(unsigned short)slots, 0, 0};
  int semid = ipcast_sem_create(IPCAST_SEM_COUNT, init);
  if (semid < 0) return semid;
  int shmid = shmget(IPC_PRIVATE, (size_t)size, IPC_CREAT | 0600);
  if (shmid < 0) {
    int e = errno;
    ipcast_sem_remove(semid);
    return -e;
  }
  void* base = shmat(shmid, NULL, 0);
  if (base == (void*)-1) {
    int e = errno;
    shmctl(shmid, IPC_RMID, NULL);
    ipcast_sem_remove(semid);
    return -e;
  }
  // Touch every page now: a page's first touch (allocation and zeroing in the guest, and on a
  // VM often a fault in the host too) otherwise lands in the hand-off of the first records
  // through it (paced 64 KiB: p50 278 -> 110 us here, docs/benchmarks.md).
  memset(base, 0, (size_t)size);
  ring->shm_id = shmid;
  ring->sem_id = semid;
  ring->base = (uint8_t*)base;
  ring->size = (size_t)size;
  ring->slot_count = slots;
  ring->slot_bytes = slot_bytes;
  ring->slot_stride = stride;
  ipcast_ring_header* h = ipcast_ring_hdr(ring);
  struct timeval tv;
  gettimeofday(&tv, NULL);
  h->version = IPCAST_RING_VERSION;
  h->header_bytes = IPCAST_RING_HEADER_BYTES;
  h->slot_count = ring->slot_count;
  h->slot_bytes = slot_bytes;
  h->slot_stride = stride;
  h->sem_id = semid;
  h->creator_pid = (int32_t)getpid();
  h->reader_pid = 0;
  h->write_pos = h->read_pos = 0;
  h->created_unix_ms = (uint64_t)tv.tv_sec * 1000u + (uint64_t)tv.tv_usec / 1000u;
  __atomic_store_n(&h->magic, IPCAST_RING_MAGIC, __ATOMIC_RELEASE);
  return 0;
}

static int validate(const ipcast_ring_header* h, size_t seg_size, int sem_id) {
  if (seg_size < IPCAST_RING_HEADER_BYTES) return -EPROTO;
  if (h->magic != IPCAST_RING_MAGIC || h->version != IPCAST_RING_VERSION) return -EPROTO;
  if (h->header_bytes != IPCAST_RING_HEADER_BYTES) return -EPROTO;
  if (h->slot_count < 1 || h->slot_count > IPCAST_RING_MAX_SLOTS) return -EPROTO;
  if (h->slot_bytes < IPCAST_RING_MIN_SLOT_BYTES || h->slot_bytes > IPCAST_RING_MAX_SLOT_BYTES) return -EPROTO;
  if (h->slot_stride != stride_for(h->slot_bytes)) return -EPROTO;
  unsigned long long need = IPCAST_RING_HEADER_BYTES + (unsigned long long)h->slot_count * h->slot_stride;
  if (need > seg_size) return -EPROTO;
  if (sem_id >= 0 && h->sem_id != sem_id) return -EPROTO;
  return 0;
}

int ipcast_ring_attach(ipcast_ring* ring, int shm_id, int sem_id) {
  memset(ring, 0, sizeof *ring);
  ring->shm_id = shm_id;
  ring->sem_id = sem_id;
  struct shmid_ds ds;
  if (shmctl(shm_id, IPC_STAT, &ds) < 0) return -errno;
  void* base = shmat(shm_id, NULL, 0);
  if (base == (void*)-1) return -errno;
  ipcast_ring_header copy;
  memcpy(&copy, base, sizeof copy);  // validate a private copy: the peer may change it meanwhile
  int r = validate(&copy, ds.shm_segsz, sem_id);
  if (r < 0) {
    shmdt(base);
    return r;
  }
  ring->base = (uint8_t*)base;
  ring->size = ds.shm_segsz;
  // Map every page now (the writer has touched them): no minor fault per page in the hand-off.
  volatile const uint8_t* pages = (volatile const uint8_t*)base;
  uint8_t sum = 0;
  for (size_t o = 0; o < ds.shm_segsz; o += 4096) sum ^= pages[o];
  (void)sum;
  ring->slot_count = copy.slot_count;
  ring->slot_bytes = copy.slot_bytes;
  ring->slot_stride = copy.slot_stride;
  return 0;
}

int ipcast_ring_peek(int shm_id, ipcast_ring_header* out, size_t* seg_size) {
  struct shmid_ds ds;
  if (shmctl(shm_id, IPC_STAT, &ds) < 0) return -errno;
  *seg_size = ds.shm_segsz;
  if (ds.shm_segsz < sizeof *out) return -EPROTO;
  void* base = shmat(shm_id, NULL, SHM_RDONLY);
  if (base == (void*)-1) return -errno;
  memcpy(out, base, sizeof *out);
  shmdt(base);
  return validate(out, ds.shm_segsz, -1);
}

void ipcast_ring_detach(ipcast_ring* ring) {
  if (ring->base) shmdt(ring->base);
  ring->base = NULL;
}
