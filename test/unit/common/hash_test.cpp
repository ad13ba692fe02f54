/*
 * hash_test: MurmurHash3_x86_128 and the SHA-1 ring point against the real outputs in
 * message.md §8.1 and §8.3 and web-core.md §12.3.
 */
#include "common/hash.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

namespace appmsg {
namespace {

struct MurmurVector {
  const char* input;
  uint32_t h1_decimal;
  Murmur128 words;
};

// message.md §8.1.
const MurmurVector kMurmurVectors[] = {
    {"", 0u, {0x00000000, 0x00000000, 0x00000000, 0x00000000}},
    {"a", 2811532092u, {0xa794933c, 0x5556b01b, 0x5556b01b, 0x5556b01b}},
    {"abc", 1976420049u, {0x75cdc6d1, 0xa2b006a5, 0xa2b006a5, 0xa2b006a5}},
    {"test", 1862463280u, {0x6f02ef30, 0x550c7d68, 0x550c7d68, 0x550c7d68}},
    {"hello", 723797152u, {0x2b2444a0, 0xdb91def7, 0x9adb31b6, 0x9adb31b6}},
    {"node1#0", 2543665391u, {0x979d40ef, 0xc9956c2b, 0x48f723c4, 0x48f723c4}},
    {"node1#254", 4137680728u, {0xf69fff58, 0x881d855a, 0xffd43208, 0x0229037b}},
    {"Terry-Mao332", 543825456u, {0x206a1e30, 0xf866e173, 0x5465b5b2, 0x012fa2d9}},
    {"0123456789abcdef", 4219290633u, {0xfb7d4409, 0x36aed30a, 0x48ad1d9b, 0x572b3bfd}},
    {"0123456789abcdefX", 474855287u, {0x1c4db777, 0x1a9aa2d3, 0xc20e1624, 0x5b179223}},
    {"10001@user", 224255948u, {0x0d5ddfcc, 0xdf9ff7db, 0xcfd6434f, 0xb3ae354f}},
    {"10001_chrome-39-123@user", 4126850350u, {0xf5fabd2e, 0x10afc735, 0xd8c194f7, 0x4083ea6e}},
    {"The quick brown fox jumps over the lazy dog",
     789939139u,
     {0x2f1583c3, 0xecee2c67, 0x5d7bf66c, 0xe5e91d2c}},
};

TEST(Murmur3, x86_128_matches_message_spec_vectors) {
  for (const auto& v : kMurmurVectors) {
    SCOPED_TRACE(v.input);
    const Murmur128 got = murmur3_x86_128(v.input);
    EXPECT_EQ(got.h1, v.words.h1);
    EXPECT_EQ(got.h2, v.words.h2);
    EXPECT_EQ(got.h3, v.words.h3);
    EXPECT_EQ(got.h4, v.words.h4);
    EXPECT_EQ(got.h1, v.h1_decimal);
    EXPECT_EQ(murmur3_h1(v.input), v.h1_decimal);
  }
}

TEST(Murmur3, h1_matches_web_core_spec_vectors) {
  EXPECT_EQ(murmur3_h1(""), 0u);
  EXPECT_EQ(murmur3_h1("a"), 2811532092u);
  EXPECT_EQ(murmur3_h1("a"), 0xa794933cu);
  EXPECT_EQ(murmur3_h1("abc"), 1976420049u);
  EXPECT_EQ(murmur3_h1("abc"), 0x75cdc6d1u);
  EXPECT_EQ(murmur3_h1("hello"), 723797152u);
  EXPECT_EQ(murmur3_h1("hello"), 0x2b2444a0u);
  EXPECT_EQ(murmur3_h1("node1#0"), 2543665391u);
  EXPECT_EQ(murmur3_h1("node1#1"), 653043903u);
  EXPECT_EQ(murmur3_h1("node2#0"), 2069645459u);
  EXPECT_EQ(murmur3_h1("1234567890abcdef"), 2039525784u);
  EXPECT_EQ(murmur3_h1("1234567890abcdefg"), 2430451167u);
  EXPECT_EQ(murmur3_h1("u1@user"), 3615669171u);
  EXPECT_EQ(murmur3_h1("u1_iOS-dev1@user"), 1022127198u);
}

TEST(Murmur3, comet_bucket_is_h1_masked_to_16_buckets) {
  EXPECT_EQ(murmur3_h1("10001@user") & 15u, 12u);
  EXPECT_EQ(murmur3_h1("10001_chrome-39-123@user") & 15u, 14u);
  EXPECT_EQ(murmur3_h1("test") & 15u, 0u);
}

TEST(Murmur3, seed_changes_the_hash) {
  const Murmur128 seeded = murmur3_x86_128("test", 1);
  EXPECT_NE(seeded.h1, murmur3_h1("test"));
  EXPECT_EQ(murmur3_x86_128("", 0).h1, 0u);
}

TEST(Murmur3, unaligned_input_hashes_like_aligned_input) {
  const std::string text = "The quick brown fox jumps over the lazy dog";
  for (size_t offset = 1; offset < 8; ++offset) {
    std::string buffer(offset, '\0');
    buffer += text;
    const Murmur128 got = murmur3_x86_128(std::string_view(buffer).substr(offset));
    EXPECT_EQ(got.h1, 789939139u);
    EXPECT_EQ(got.h4, 0xe5e91d2cu);
  }
}

TEST(Murmur3, every_tail_length_differs_from_its_neighbours) {
  // Exercise tails of 0..15 bytes after one and two blocks; each length gives a new value.
  const std::string text = "0123456789abcdef0123456789abcdefXYZWVUTSRQPONMLK";
  for (size_t len = 1; len <= text.size(); ++len) {
    EXPECT_NE(murmur3_h1(std::string_view(text).substr(0, len)),
              murmur3_h1(std::string_view(text).substr(0, len - 1)))
        << len;
  }
}

struct Sha1Vector {
  const char* input;
  const char* sha1_hex;
  uint32_t point;
};

// message.md §8.3.
const Sha1Vector kSha1Vectors[] = {
    {"", "da39a3ee5e6b4b0d3255bfef95601890afd80709", 2950170377u},
    {"a", "86f7e437faa5a7fce15d1ddcb9eaeaea377667b8", 930506680u},
    {"test", "a94a8fe5ccb19ba61c4c0873d391e987982fbbd3", 2553265107u},
    {"node1:1", "4d4ad1f59dc6fb2e611df79ac51eeae03efe7213", 1056862739u},
    {"node1:255", "8341b0562f5fea625b8fdd6e2d38879587c4b708", 2277816072u},
    {"node2:1", "a85c4f687e18a249b00596e27d2c0e949c8167ee", 2625726446u},
    {"10001@user", "6d142b368275021e6934d2fd270e9ab578de85c6", 2027849158u},
};

TEST(Sha1Point, matches_message_spec_vectors) {
  for (const auto& v : kSha1Vectors) {
    SCOPED_TRACE(v.input);
    EXPECT_EQ(sha1_point(v.input), v.point);
    // The point is the digest's last 4 bytes, big-endian: the last 8 hex digits.
    const std::string tail(v.sha1_hex + 32, 8);
    EXPECT_EQ(sha1_point(v.input), std::strtoul(tail.c_str(), nullptr, 16));
  }
  EXPECT_EQ(sha1_point(""), 0xafd80709u);
}

}  // namespace
}  // namespace appmsg
