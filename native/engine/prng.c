#include "prng.h"

void ipcast_prng_fill(uint8_t* p, size_t n, uint32_t seed) {
  uint32_t a = seed;
  for (size_t i = 0; i < n; i += 4) {
    a += 0x6d2b79f5u;
    uint32_t t = a;
    t = (t ^ (t >> 15)) * (t | 1u);
    t ^= t + (t ^ (t >> 7)) * (t | 61u);
    t ^= t >> 14;
    for (size_t k = 0; k < 4 && i + k < n; k++) p[i + k] = (uint8_t)(t >> (8 * k));
  }
}

uint64_t ipcast_stream_pool_chunks(size_t chunk) {
  return chunk >= IPCAST_STREAM_POOL_BYTES ? 1 : IPCAST_STREAM_POOL_BYTES / chunk;
}
