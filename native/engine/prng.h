// The benchmark's payload stream, one definition for C (ipcast-baseline) and TypeScript
// (src/bench/stream.ts mirrors it; test/unit/bench/stream.test.ts runs both and compares).
// mulberry32, four little-endian bytes per step, from `seed`.
#ifndef IPCAST_PRNG_H
#define IPCAST_PRNG_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define IPCAST_STREAM_POOL_BYTES (4u * 1024u * 1024u)

void ipcast_prng_fill(uint8_t* out, size_t n, uint32_t seed);
/* Chunks in the pool: chunk i of the stream is bytes [(i mod P) * chunk, + chunk) of a pool of
   max(4 MiB, chunk) bytes filled from the seed, P = max(1, floor(4 MiB / chunk)). */
uint64_t ipcast_stream_pool_chunks(size_t chunk);

#ifdef __cplusplus
}
#endif

#endif
