// The ipcast wire chunk: a 32-byte packed header in network byte order, then the payload.
// docs/protocol.md specifies every byte and holds the golden vectors that both this code
// and src/shared/protocol.ts are tested against. Every field is read through an explicit
// big-endian accessor; nothing here trusts a length it has not checked.
//
//  off size field
//   0   4   magic        0x49504331 ("IPC1")
//   4   1   version      1
//   5   1   kind         1 data, 2 guide, 3 end of stream, 4 heartbeat
//   6   2   channel      0 = channel guide, 1..65535 = media channels
//   8   4   length       payload bytes that follow the header
//  12   4   sequence     per channel, wraps at 2^32
//  16   8   timestamp    sender clock, microseconds since the Unix epoch
//  24   4   flags        0 (reserved; a decoder ignores unknown bits)
//  28   4   checksum     CRC-32C of header (checksum field as zero) + payload
#ifndef IPCAST_WIRE_H
#define IPCAST_WIRE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define IPCAST_MAGIC 0x49504331u
#define IPCAST_VERSION 1
#define IPCAST_HEADER_BYTES 32
#define IPCAST_DEFAULT_PAYLOAD 1316 /* 7 MPEG-TS packets of 188 bytes */
#define IPCAST_MAX_DATAGRAM_PAYLOAD (65507 - IPCAST_HEADER_BYTES)
#define IPCAST_DEFAULT_MAX_FRAME (1024 * 1024)

enum ipcast_kind { IPCAST_KIND_DATA = 1, IPCAST_KIND_GUIDE = 2, IPCAST_KIND_EOS = 3, IPCAST_KIND_HEARTBEAT = 4 };

// Stable rejection reasons; the names (ipcast_reason_name) become metric labels.
enum ipcast_reason {
  IPCAST_OK = 0,
  IPCAST_TOO_SHORT = 1,
  IPCAST_BAD_MAGIC = 2,
  IPCAST_BAD_VERSION = 3,
  IPCAST_UNKNOWN_KIND = 4,
  IPCAST_LENGTH_MISMATCH = 5,
  IPCAST_CHECKSUM_MISMATCH = 6,
  IPCAST_FRAME_TOO_LARGE = 7
};

struct ipcast_header {
  uint32_t magic;
  uint8_t version;
  uint8_t kind;
  uint16_t channel;
  uint32_t length;
  uint32_t sequence;
  uint64_t timestamp_us;
  uint32_t flags;
  uint32_t checksum;
};

const char* ipcast_reason_name(int reason);

// Writes the 32 header bytes for `h` and `payload` (h->length bytes) into `out`,
// computing the checksum; h->magic/version are set by the caller or left 0 to use defaults.
void ipcast_encode_header(const struct ipcast_header* h, const uint8_t* payload, uint8_t out[IPCAST_HEADER_BYTES]);

// Decodes one datagram of exactly `len` bytes. Returns IPCAST_OK and fills `h`, or a reason.
int ipcast_decode(const uint8_t* buf, size_t len, struct ipcast_header* h);

// A channel guide's payload (kind 2 on channel 0): its first channel id (0 when it lists
// none), or -1 when it is malformed (the bad_guide reason).
int ipcast_guide_first_id(const uint8_t* b, uint32_t len);

#ifdef __cplusplus
}
#endif

#endif
