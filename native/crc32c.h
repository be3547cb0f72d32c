// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of the
// ipcast wire header and of every record the sink verifies. Slicing-by-8 table
// version: portable, ~1.5 GB/s, no SSE4.2 dependency.
#ifndef IPCAST_CRC32C_H
#define IPCAST_CRC32C_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// Continue a CRC: pass 0 to start. The result is the finished CRC of all bytes so far.
uint32_t ipcast_crc32c(uint32_t crc, const void* data, size_t len);

#ifdef __cplusplus
}
#endif

#endif
