/*
 * hash: the two hash functions the rings are built on (message.md §4).
 *
 * - murmur3_x86_128: Appleby's MurmurHash3_x86_128 (§4.3). The comet ring and the comet
 *   channel buckets use only the first word, h1 (murmur3_h1).
 * - sha1_point: SHA-1 digest bytes 16..19 read big-endian (§4.1), the storage ring hash.
 *
 * Pure functions over bytes: no state, no allocation, safe from any thread.
 */
#pragma once

#include <cstdint>
#include <string_view>

namespace appmsg {

struct Murmur128 {
  uint32_t h1, h2, h3, h4;
};

// MurmurHash3_x86_128 of `data`, all four words.
Murmur128 murmur3_x86_128(std::string_view data, uint32_t seed = 0);

// The first word of murmur3_x86_128(data, 0): the comet ring hash and the bucket hash.
uint32_t murmur3_h1(std::string_view data);

// SHA-1(data), digest bytes 16,17,18,19 as a big-endian uint32: the storage ring hash.
uint32_t sha1_point(std::string_view data);

}  // namespace appmsg
