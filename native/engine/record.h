// The record: how one chunk travels from the receiver (writer) to the sink (reader) over
// any of the three IPC transports. Both ends run on the same machine, but the header is
// still read and written with explicit little-endian accessors and every field is
// validated by the reader before use (the reader never trusts its peer).
//
//   offset size field
//   0      4    magic        IPCAST_RECORD_MAGIC ("IPRC" little-endian)
//   4      2    flags        bit 0: end of stream (the record may carry a payload; usually 0 bytes)
//   6      2    header_len   IPCAST_RECORD_HEADER (40); a reader rejects any other value
//   8      4    length       payload bytes that follow the header (<= IPCAST_RECORD_MAX_PAYLOAD)
//   12     4    crc          CRC-32C of the payload
//   16     8    sequence     record number, 0, 1, 2, ... per transport (the EOS record included)
//   24     8    handoff_ns   CLOCK_MONOTONIC ns when the writer put the record into the transport
//   32     8    sender_us    sender's timestamp, µs since the epoch (CLOCK_REALTIME); 0 = unknown
//   40     ...  payload
//
// Records form a byte stream: in a pipe they follow each other, in the shm ring they are
// packed into (and split across) slots, in the message queue into (and across) messages.
// The same incremental parser (engine/reader.c) reads all three.
#ifndef IPCAST_IPC_RECORD_H
#define IPCAST_IPC_RECORD_H

#include <stdint.h>
#include <string.h>

#define IPCAST_RECORD_MAGIC 0x43525049u  /* bytes "IPRC" */
#define IPCAST_RECORD_HEADER 40u
#define IPCAST_RECORD_FLAG_EOS 0x0001u
#define IPCAST_RECORD_KNOWN_FLAGS 0x0001u
/* A receiver never hands off more than this in one record (the wire chunk limit is far below). */
#define IPCAST_RECORD_MAX_PAYLOAD (16u * 1024u * 1024u)

typedef struct {
  uint16_t flags;
  uint32_t length;
  uint32_t crc;
  uint64_t sequence;
  uint64_t handoff_ns;
  uint64_t sender_us;
} ipcast_record;

static inline void ipcast_put_le16(uint8_t* p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static inline void ipcast_put_le32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static inline void ipcast_put_le64(uint8_t* p, uint64_t v) {
  for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static inline uint16_t ipcast_get_le16(const uint8_t* p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static inline uint32_t ipcast_get_le32(const uint8_t* p) {
  return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static inline uint64_t ipcast_get_le64(const uint8_t* p) {
  return (uint64_t)ipcast_get_le32(p) | ((uint64_t)ipcast_get_le32(p + 4) << 32);
}

static inline void ipcast_record_encode(uint8_t out[IPCAST_RECORD_HEADER], const ipcast_record* r) {
  ipcast_put_le32(out, IPCAST_RECORD_MAGIC);
  ipcast_put_le16(out + 4, r->flags);
  ipcast_put_le16(out + 6, (uint16_t)IPCAST_RECORD_HEADER);
  ipcast_put_le32(out + 8, r->length);
  ipcast_put_le32(out + 12, r->crc);
  ipcast_put_le64(out + 16, r->sequence);
  ipcast_put_le64(out + 24, r->handoff_ns);
  ipcast_put_le64(out + 32, r->sender_us);
}

enum {
  IPCAST_RECORD_OK = 0,
  IPCAST_RECORD_BAD_MAGIC = 1,
  IPCAST_RECORD_BAD_HEADER_LEN = 2,
  IPCAST_RECORD_BAD_FLAGS = 3,
  IPCAST_RECORD_TOO_LONG = 4,
};

/* Validates before anything is used: magic, header length, flags, payload length. */
static inline int ipcast_record_decode(const uint8_t in[IPCAST_RECORD_HEADER], ipcast_record* r) {
  if (ipcast_get_le32(in) != IPCAST_RECORD_MAGIC) return IPCAST_RECORD_BAD_MAGIC;
  if (ipcast_get_le16(in + 6) != IPCAST_RECORD_HEADER) return IPCAST_RECORD_BAD_HEADER_LEN;
  r->flags = ipcast_get_le16(in + 4);
  if (r->flags & ~IPCAST_RECORD_KNOWN_FLAGS) return IPCAST_RECORD_BAD_FLAGS;
  r->length = ipcast_get_le32(in + 8);
  if (r->length > IPCAST_RECORD_MAX_PAYLOAD) return IPCAST_RECORD_TOO_LONG;
  r->crc = ipcast_get_le32(in + 12);
  r->sequence = ipcast_get_le64(in + 16);
  r->handoff_ns = ipcast_get_le64(in + 24);
  r->sender_us = ipcast_get_le64(in + 32);
  return IPCAST_RECORD_OK;
}

static inline const char* ipcast_record_reason(int r) {
  switch (r) {
    case IPCAST_RECORD_OK: return "ok";
    case IPCAST_RECORD_BAD_MAGIC: return "bad_magic";
    case IPCAST_RECORD_BAD_HEADER_LEN: return "bad_header_length";
    case IPCAST_RECORD_BAD_FLAGS: return "bad_flags";
    case IPCAST_RECORD_TOO_LONG: return "too_long";
    default: return "unknown";
  }
}

#endif
