#include "wire.h"

#include <string.h>

#include "crc32c.h"

static inline uint16_t rd16(const uint8_t* p) { return (uint16_t)((p[0] << 8) | p[1]); }
static inline uint32_t rd32(const uint8_t* p) {
  return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}
static inline uint64_t rd64(const uint8_t* p) { return ((uint64_t)rd32(p) << 32) | rd32(p + 4); }
static inline void wr16(uint8_t* p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static inline void wr32(uint8_t* p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}
static inline void wr64(uint8_t* p, uint64_t v) { wr32(p, (uint32_t)(v >> 32)); wr32(p + 4, (uint32_t)v); }

const char* ipcast_reason_name(int reason) {
  switch (reason) {
    case IPCAST_OK: return "ok";
    case IPCAST_TOO_SHORT: return "too_short";
    case IPCAST_BAD_MAGIC: return "bad_magic";
    case IPCAST_BAD_VERSION: return "bad_version";
    case IPCAST_UNKNOWN_KIND: return "unknown_kind";
    case IPCAST_LENGTH_MISMATCH: return "length_mismatch";
    case IPCAST_CHECKSUM_MISMATCH: return "checksum_mismatch";
    case IPCAST_FRAME_TOO_LARGE: return "frame_too_large";
    default: return "unknown";
  }
}

void ipcast_encode_header(const struct ipcast_header* h, const uint8_t* payload, uint8_t out[IPCAST_HEADER_BYTES]) {
  wr32(out + 0, h->magic ? h->magic : IPCAST_MAGIC);
  out[4] = h->version ? h->version : IPCAST_VERSION;
  out[5] = h->kind;
  wr16(out + 6, h->channel);
  wr32(out + 8, h->length);
  wr32(out + 12, h->sequence);
  wr64(out + 16, h->timestamp_us);
  wr32(out + 24, h->flags);
  wr32(out + 28, 0);
  uint32_t crc = ipcast_crc32c(0, out, IPCAST_HEADER_BYTES);
  if (h->length) crc = ipcast_crc32c(crc, payload, h->length);
  wr32(out + 28, crc);
}

int ipcast_decode(const uint8_t* buf, size_t len, struct ipcast_header* h) {
  if (len < IPCAST_HEADER_BYTES) return IPCAST_TOO_SHORT;
  h->magic = rd32(buf);
  if (h->magic != IPCAST_MAGIC) return IPCAST_BAD_MAGIC;
  h->version = buf[4];
  if (h->version != IPCAST_VERSION) return IPCAST_BAD_VERSION;
  h->kind = buf[5];
  if (h->kind < IPCAST_KIND_DATA || h->kind > IPCAST_KIND_HEARTBEAT) return IPCAST_UNKNOWN_KIND;
  h->channel = rd16(buf + 6);
  h->length = rd32(buf + 8);
  if ((uint64_t)h->length != (uint64_t)(len - IPCAST_HEADER_BYTES)) return IPCAST_LENGTH_MISMATCH;
  h->sequence = rd32(buf + 12);
  h->timestamp_us = rd64(buf + 16);
  h->flags = rd32(buf + 24);
  h->checksum = rd32(buf + 28);
  uint8_t zero[4] = {0, 0, 0, 0};
  uint32_t crc = ipcast_crc32c(0, buf, 28);
  crc = ipcast_crc32c(crc, zero, 4);
  crc = ipcast_crc32c(crc, buf + IPCAST_HEADER_BYTES, h->length);
  if (crc != h->checksum) return IPCAST_CHECKSUM_MISMATCH;
  return IPCAST_OK;
}

/* The guide's first channel id (0 for an empty guide), or -1 when it is malformed: the
   checks of decodeGuide() in src/shared/guide.ts (docs/protocol.md). */
int ipcast_guide_first_id(const uint8_t* b, uint32_t len) {
  if (len < 2) return -1;
  uint32_t count = (uint32_t)b[0] << 8 | b[1], off = 2;
  int first = 0;
  for (uint32_t i = 0; i < count; i++) {
    if (len - off < 7) return -1;
    uint32_t id = (uint32_t)b[off] << 8 | b[off + 1], name_len = b[off + 6];
    off += 7;
    if (len - off < name_len + 2) return -1;
    off += name_len;
    uint32_t desc_len = (uint32_t)b[off] << 8 | b[off + 1];
    off += 2;
    if (desc_len > 1024 || len - off < desc_len) return -1;
    off += desc_len;
    if (id == 0) return -1;
    if (i == 0) first = (int)id;
  }
  return off == len ? first : -1;
}
