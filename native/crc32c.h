// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of the
// ipcast wire header and of every record the sink verifies. Uses the SSE4.2 crc32
// instruction when the CPU has it (checked once at load), else slicing-by-8 tables
// (~1.5 GB/s). IPCAST_CRC32C=portable in the environment forces the tables.
#ifndef IPCAST_CRC32C_H
#define IPCAST_CRC32C_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// Continue a CRC: pass 0 to start. The result is the finished CRC of all bytes so far.
uint32_t ipcast_crc32c(uint32_t crc, const void* data, size_t len);
// The table version, always available (the reference the hardware path is tested against).
uint32_t ipcast_crc32c_portable(uint32_t crc, const void* data, size_t len);
// "sse4.2" or "portable": what ipcast_crc32c uses in this process.
const char* ipcast_crc32c_impl(void);

#ifdef __cplusplus
}
#endif

#endif
