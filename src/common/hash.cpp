/*
 * hash: MurmurHash3_x86_128 (message.md §4.3) and the SHA-1 ring point (§4.1).
 *
 * Blocks are read with memcpy, never through a cast pointer, so unaligned input is fine;
 * words are little-endian on every host.
 */
#include "common/hash.hpp"

#include <openssl/sha.h>

#include <bit>
#include <cstring>

namespace appmsg {
namespace {

constexpr uint32_t kC1 = 0x239b961b;
constexpr uint32_t kC2 = 0xab0e9789;
constexpr uint32_t kC3 = 0x38b34ae5;
constexpr uint32_t kC4 = 0xa1e38b93;

uint32_t load_le32(const unsigned char* p) {
  uint32_t v;
  std::memcpy(&v, p, sizeof v);
  if constexpr (std::endian::native == std::endian::big) v = __builtin_bswap32(v);
  return v;
}

uint32_t fmix32(uint32_t h) {
  h ^= h >> 16;
  h *= 0x85ebca6b;
  h ^= h >> 13;
  h *= 0xc2b2ae35;
  h ^= h >> 16;
  return h;
}

// k *= ca; k = rotl(k, r); k *= cb: the per-word mix shared by the body and the tail.
uint32_t mix_k(uint32_t k, uint32_t ca, int r, uint32_t cb) {
  return std::rotl(k * ca, r) * cb;
}

}  // namespace

Murmur128 murmur3_x86_128(std::string_view data, uint32_t seed) {
  const auto* bytes = reinterpret_cast<const unsigned char*>(data.data());
  const size_t len = data.size();
  const size_t nblocks = len / 16;

  uint32_t h1 = seed, h2 = seed, h3 = seed, h4 = seed;

  for (size_t i = 0; i < nblocks; ++i) {
    const unsigned char* block = bytes + i * 16;
    h1 ^= mix_k(load_le32(block), kC1, 15, kC2);
    h1 = std::rotl(h1, 19) + h2;
    h1 = h1 * 5 + 0x561ccd1b;
    h2 ^= mix_k(load_le32(block + 4), kC2, 16, kC3);
    h2 = std::rotl(h2, 17) + h3;
    h2 = h2 * 5 + 0x0bcaa747;
    h3 ^= mix_k(load_le32(block + 8), kC3, 17, kC4);
    h3 = std::rotl(h3, 15) + h4;
    h3 = h3 * 5 + 0x96cd1c35;
    h4 ^= mix_k(load_le32(block + 12), kC4, 18, kC1);
    h4 = std::rotl(h4, 13) + h1;
    h4 = h4 * 5 + 0x32ac3b17;
  }

  // Tail: byte j goes into word j/4 at bit 8*(j%4); only words that got bytes are mixed.
  const unsigned char* tail = bytes + nblocks * 16;
  const size_t rest = len % 16;
  uint32_t k[4] = {0, 0, 0, 0};
  for (size_t j = 0; j < rest; ++j) k[j / 4] |= uint32_t{tail[j]} << (8 * (j % 4));
  if (rest > 12) h4 ^= mix_k(k[3], kC4, 18, kC1);
  if (rest > 8) h3 ^= mix_k(k[2], kC3, 17, kC4);
  if (rest > 4) h2 ^= mix_k(k[1], kC2, 16, kC3);
  if (rest > 0) h1 ^= mix_k(k[0], kC1, 15, kC2);

  // Finalisation. The length is mixed in mod 2^32, as in the reference.
  const auto len32 = static_cast<uint32_t>(len);
  h1 ^= len32;
  h2 ^= len32;
  h3 ^= len32;
  h4 ^= len32;
  h1 += h2 + h3 + h4;
  h2 += h1;
  h3 += h1;
  h4 += h1;
  h1 = fmix32(h1);
  h2 = fmix32(h2);
  h3 = fmix32(h3);
  h4 = fmix32(h4);
  h1 += h2 + h3 + h4;
  h2 += h1;
  h3 += h1;
  h4 += h1;
  return {h1, h2, h3, h4};
}

uint32_t murmur3_h1(std::string_view data) {
  return murmur3_x86_128(data, 0).h1;
}

uint32_t sha1_point(std::string_view data) {
  unsigned char d[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(data.data()), data.size(), d);
  return (uint32_t{d[16]} << 24) | (uint32_t{d[17]} << 16) | (uint32_t{d[18]} << 8) |
         uint32_t{d[19]};
}

}  // namespace appmsg
