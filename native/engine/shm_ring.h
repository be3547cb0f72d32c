// The shared-memory ring: a System V segment of fixed-size slots guarded by a System V
// semaphore array. See shm_ring.c for the layout and the semaphore protocol.
#ifndef IPCAST_SHM_RING_H
#define IPCAST_SHM_RING_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define IPCAST_RING_MAGIC 0x474e495254534143ull /* bytes "CASTRING" */
#define IPCAST_RING_VERSION 1u
#define IPCAST_RING_HEADER_BYTES 4096u
#define IPCAST_RING_SLOT_HEADER 16u
#define IPCAST_RING_DEFAULT_SLOTS 64u
#define IPCAST_RING_DEFAULT_SLOT_BYTES (64u * 1024u)
#define IPCAST_RING_MAX_SLOTS 32767u /* SEMVMX: a semaphore counts the free slots */
#define IPCAST_RING_MIN_SLOT_BYTES 64u
#define IPCAST_RING_MAX_SLOT_BYTES (16u * 1024u * 1024u)
#define IPCAST_RING_MAX_BYTES (1024ull * 1024u * 1024u) /* 1 GiB per ring, a sanity bound */

/* Semaphore numbers in the array. */
enum { IPCAST_SEM_FREE = 0, IPCAST_SEM_FILLED = 1, IPCAST_SEM_ATTACHED = 2, IPCAST_SEM_COUNT = 3 };

/* Ring header at offset 0 of the segment. Positions are informational (stats, ipcast ipcs):
   the semaphores, not these fields, order the writer and the reader. */
typedef struct {
  uint64_t magic;         /* IPCAST_RING_MAGIC: how `ipcast ipcs` recognises our segments */
  uint32_t version;       /* IPCAST_RING_VERSION */
  uint32_t header_bytes;  /* offset of slot 0 (IPCAST_RING_HEADER_BYTES) */
  uint32_t slot_count;
  uint32_t slot_bytes;    /* data bytes per slot */
  uint32_t slot_stride;   /* bytes from one slot to the next (slot header + data, 64-aligned) */
  int32_t sem_id;         /* the semaphore array that guards this ring */
  int32_t creator_pid;    /* the writer */
  int32_t reader_pid;     /* the sink, once attached (0 before) */
  uint64_t write_pos;     /* slots posted by the writer so far */
  uint64_t read_pos;      /* slots released by the reader so far */
  uint64_t created_unix_ms;
} ipcast_ring_header;

/* Each slot starts with this, then slot_bytes of data. */
typedef struct {
  uint32_t used; /* data bytes in this slot (<= slot_bytes, validated by the reader) */
  uint32_t seq;  /* low 32 bits of the slot's position, for a sanity check */
  uint64_t reserved;
} ipcast_ring_slot;

typedef struct {
  int shm_id;
  int sem_id;
  uint8_t* base;
  size_t size;
  uint32_t slot_count;
  uint32_t slot_bytes;
  uint32_t slot_stride;
} ipcast_ring;

/* Writer: creates segment + semaphores, attaches, writes the header. 0 or -errno
   (-EINVAL for out-of-range sizes). On failure nothing is left behind. */
int ipcast_ring_create(ipcast_ring* ring, uint32_t slots, uint32_t slot_bytes);
/* Reader: attaches shm_id, validates the header against the segment's real size and
   sem_id. 0, -errno, or -EPROTO for a header that is not a valid ipcast ring. */
int ipcast_ring_attach(ipcast_ring* ring, int shm_id, int sem_id);
/* Reads the header of any segment read-only (for `ipcast ipcs`). 0 or -errno. */
int ipcast_ring_peek(int shm_id, ipcast_ring_header* out, size_t* seg_size);
void ipcast_ring_detach(ipcast_ring* ring);

static inline ipcast_ring_header* ipcast_ring_hdr(const ipcast_ring* r) { return (ipcast_ring_header*)r->base; }
static inline ipcast_ring_slot* ipcast_ring_slot_at(const ipcast_ring* r, uint64_t pos) {
  return (ipcast_ring_slot*)(r->base + IPCAST_RING_HEADER_BYTES + (size_t)(pos % r->slot_count) * r->slot_stride);
}
static inline uint8_t* ipcast_ring_slot_data(ipcast_ring_slot* s) { return (uint8_t*)s + IPCAST_RING_SLOT_HEADER; }

#ifdef __cplusplus
}
#endif

#endif
