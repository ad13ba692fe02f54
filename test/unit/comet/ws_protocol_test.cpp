/*
 * ws_protocol_test: the comet's WebSocket codec against comet.md §1W (the byte-exact example),
 * RFC 6455 (the accept-key example, framing rules), W2 (message and header limits) and W24 (no
 * Origin needed). Requests and frame streams are fed whole and one byte at a time; both must
 * agree.
 */
#include "comet/ws_protocol.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace appmsg::comet {
namespace {

using namespace std::string_literals;
using HsStatus = WsHandshakeParser::Status;
using FrameStatus = WsFrameDecoder::Status;
using Query = std::vector<std::pair<std::string, std::string>>;

std::string bytes(std::initializer_list<int> list) {
  std::string out;
  for (int b : list) out += static_cast<char>(b);
  return out;
}

// --- handshake helpers ---------------------------------------------------------------------

// The request of the §1W example.
const std::string kSpecRequest =
    "GET /sub?key=1001_chrome-38-123@user&heartbeat=60&ver=1 HTTP/1.1\r\n"
    "Host: 10.0.0.1:6968\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
    "Origin: http://10.0.0.1\r\n\r\n";

// A valid upgrade request for `target` with extra header lines (each ending in CRLF).
std::string request(const std::string& target, const std::string& extra = "",
                    const std::string& version = "13") {
  return "GET " + target +
         " HTTP/1.1\r\nHost: comet\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: " +
         version + "\r\n" + extra + "\r\n";
}

struct Handshake {
  HsStatus status;
  size_t used;
  int error_status;
  std::optional<WsUpgrade> upgrade;
};

Handshake handshake_whole(std::string_view in, size_t max_bytes = 8192) {
  WsHandshakeParser p(max_bytes);
  size_t used = 99999;
  const HsStatus s = p.feed(in, used);
  return {s, used, p.error_status(), p.upgrade()};
}

// One byte per feed, stopping at the first status other than need_more, as a session would.
Handshake handshake_bytewise(std::string_view in, size_t max_bytes = 8192) {
  WsHandshakeParser p(max_bytes);
  size_t total = 0;
  HsStatus s = HsStatus::need_more;
  for (size_t i = 0; i < in.size() && s == HsStatus::need_more; ++i) {
    size_t used = 99999;
    s = p.feed(in.substr(i, 1), used);
    EXPECT_EQ(used, 1u) << "at byte " << i;
    total += used;
  }
  return {s, total, p.error_status(), p.upgrade()};
}

// Both ways; they must agree. Returns the whole-feed result.
Handshake handshake(std::string_view in, size_t max_bytes = 8192) {
  const Handshake whole = handshake_whole(in, max_bytes);
  const Handshake bytewise = handshake_bytewise(in, max_bytes);
  EXPECT_EQ(whole.status, bytewise.status) << in;
  EXPECT_EQ(whole.used, bytewise.used) << in;
  if (whole.status == HsStatus::error) {
    EXPECT_EQ(whole.error_status, bytewise.error_status) << in;
  }
  EXPECT_EQ(whole.upgrade.has_value(), bytewise.upgrade.has_value()) << in;
  return whole;
}

// --- frame helpers -------------------------------------------------------------------------

constexpr std::array<uint8_t, 4> kSpecMask = {0x37, 0xFA, 0x21, 0x3D};

// A client frame: b0 as given (FIN, RSV, opcode), the shortest length form unless `len_form`
// forces 126 or 127, masked with `mask`.
std::string client_frame(uint8_t b0, std::string_view payload, int len_form = 0,
                         std::array<uint8_t, 4> mask = kSpecMask) {
  std::string out;
  out += static_cast<char>(b0);
  const uint64_t n = payload.size();
  if (len_form == 127 || (len_form == 0 && n > 0xffff)) {
    out += static_cast<char>(0x80 | 127);
    for (int i = 7; i >= 0; --i) out += static_cast<char>((n >> (8 * i)) & 0xff);
  } else if (len_form == 126 || (len_form == 0 && n >= 126)) {
    out += static_cast<char>(0x80 | 126);
    out += static_cast<char>((n >> 8) & 0xff);
    out += static_cast<char>(n & 0xff);
  } else {
    out += static_cast<char>(0x80 | n);
  }
  for (uint8_t m : mask) out += static_cast<char>(m);
  for (size_t i = 0; i < payload.size(); ++i) {
    out += static_cast<char>(static_cast<uint8_t>(payload[i]) ^ mask[i % 4]);
  }
  return out;
}

struct Decoded {
  std::vector<WsFrame> frames;
  bool error = false;
  size_t used = 0;  // bytes consumed up to the last frame, or up to the error
};

// Feeds `in` in chunks of `chunk` bytes (0: whole), collecting frames until an error.
Decoded decode_chunked(std::string_view in, size_t chunk, size_t max_message = 64) {
  WsFrameDecoder d(max_message);
  Decoded out;
  size_t pos = 0;
  while (pos < in.size()) {
    std::string_view piece = in.substr(pos, chunk == 0 ? in.size() : chunk);
    while (!piece.empty()) {
      size_t used = 99999;
      const FrameStatus s = d.feed(piece, used);
      EXPECT_LE(used, piece.size());
      if (used > piece.size()) return out;
      piece.remove_prefix(used);
      pos += used;
      if (s == FrameStatus::error) {
        out.error = true;
        out.used = pos;
        return out;
      }
      if (s == FrameStatus::need_more) {
        EXPECT_TRUE(piece.empty()) << "need_more with bytes left";
        break;
      }
      out.frames.push_back(d.take());
      out.used = pos;
    }
  }
  return out;
}

// Whole and one byte at a time; they must agree on the frames and on the error. Returns the
// whole-feed result.
Decoded decode(std::string_view in, size_t max_message = 64) {
  const Decoded whole = decode_chunked(in, 0, max_message);
  const Decoded bytewise = decode_chunked(in, 1, max_message);
  EXPECT_EQ(whole.error, bytewise.error);
  // On an error the two may stop at different bytes (a whole feed may take the mask first).
  if (!whole.error) {
    EXPECT_EQ(whole.used, bytewise.used);
  }
  EXPECT_EQ(whole.frames.size(), bytewise.frames.size());
  for (size_t i = 0; i < std::min(whole.frames.size(), bytewise.frames.size()); ++i) {
    EXPECT_EQ(whole.frames[i].opcode, bytewise.frames[i].opcode) << "frame " << i;
    EXPECT_EQ(whole.frames[i].payload, bytewise.frames[i].payload) << "frame " << i;
  }
  return whole;
}

// ---------------------------------------------------------------------------------------------
// Accept key and the upgrade answer

TEST(WsAcceptKey, rfc6455_example) {
  EXPECT_EQ(ws_accept_key("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST(WsUpgradeResponse, byte_exact_answer_of_section_1w) {
  EXPECT_EQ(ws_upgrade_response("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="),
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n");
}

TEST(WsUpgradeResponse, error_answers_close_and_carry_their_status) {
  for (int status : {400, 404, 426, 431}) {
    SCOPED_TRACE(status);
    const std::string r = http_error_response(status);
    EXPECT_EQ(r.rfind("HTTP/1.1 " + std::to_string(status) + " ", 0), 0u) << r;
    EXPECT_NE(r.find("\r\nConnection: close\r\n"), std::string::npos) << r;
    const auto body_at = r.find("\r\n\r\n");
    ASSERT_NE(body_at, std::string::npos);
    const std::string body = r.substr(body_at + 4);
    EXPECT_NE(r.find("\r\nContent-Length: " + std::to_string(body.size()) + "\r\n"),
              std::string::npos)
        << r;
  }
  EXPECT_EQ(http_error_response(404).rfind("HTTP/1.1 404 Not Found\r\n", 0), 0u);
  EXPECT_NE(http_error_response(426).find("\r\nSec-WebSocket-Version: 13\r\n"), std::string::npos);
}

// ---------------------------------------------------------------------------------------------
// The upgrade request

TEST(WsHandshake, spec_example_whole_and_byte_by_byte) {
  const Handshake h = handshake(kSpecRequest);
  ASSERT_EQ(h.status, HsStatus::done);
  EXPECT_EQ(h.used, kSpecRequest.size());
  ASSERT_TRUE(h.upgrade);
  EXPECT_EQ(h.upgrade->path, "/sub");
  EXPECT_EQ(h.upgrade->query,
            (Query{{"key", "1001_chrome-38-123@user"}, {"heartbeat", "60"}, {"ver", "1"}}));
  EXPECT_EQ(h.upgrade->accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");

  // Byte by byte, the parser needs every byte up to the blank line.
  WsHandshakeParser p;
  for (size_t i = 0; i + 1 < kSpecRequest.size(); ++i) {
    size_t used = 0;
    ASSERT_EQ(p.feed(kSpecRequest.substr(i, 1), used), HsStatus::need_more) << "at " << i;
  }
  size_t used = 0;
  EXPECT_EQ(p.feed(kSpecRequest.substr(kSpecRequest.size() - 1), used), HsStatus::done);
  EXPECT_EQ(used, 1u);
}

TEST(WsHandshake, query_is_url_decoded) {
  const Handshake h = handshake(request("/sub?key=a%2Bb+c%40d&heartbeat=30&token=t%26x&ver="));
  ASSERT_EQ(h.status, HsStatus::done);
  EXPECT_EQ(h.upgrade->query,
            (Query{{"key", "a+b c@d"}, {"heartbeat", "30"}, {"token", "t&x"}, {"ver", ""}}));
}

TEST(WsHandshake, no_origin_is_accepted) {
  const std::string r = request("/sub?key=k&heartbeat=30");
  ASSERT_EQ(r.find("Origin"), std::string::npos);
  const Handshake h = handshake(r);
  ASSERT_EQ(h.status, HsStatus::done);
  EXPECT_EQ(h.upgrade->path, "/sub");
  // An Origin from any other site is accepted too.
  EXPECT_EQ(
      handshake(request("/sub?key=k&heartbeat=30", "Origin: https://evil.example\r\n")).status,
      HsStatus::done);
}

TEST(WsHandshake, header_names_and_tokens_are_case_insensitive) {
  const std::string r =
      "GET /sub?key=k&heartbeat=30 HTTP/1.1\r\nhost: x\r\nUPGRADE: WebSocket\r\n"
      "connection: keep-alive, Upgrade\r\nsec-websocket-key:   abc==  \r\n"
      "SEC-WEBSOCKET-VERSION: 13\r\n\r\n";
  const Handshake h = handshake(r);
  ASSERT_EQ(h.status, HsStatus::done);
  EXPECT_EQ(h.upgrade->accept, ws_accept_key("abc=="));
}

TEST(WsHandshake, path_without_query) {
  const Handshake h = handshake(request("/sub"));
  ASSERT_EQ(h.status, HsStatus::done);
  EXPECT_TRUE(h.upgrade->query.empty());
}

TEST(WsHandshake, wrong_path_is_404_even_for_an_upgrade) {
  for (const char* target : {"/other", "/sub/", "/", "/Sub?key=k&heartbeat=30", "/subx"}) {
    SCOPED_TRACE(target);
    const Handshake h = handshake(request(target));
    EXPECT_EQ(h.status, HsStatus::error);
    EXPECT_EQ(h.error_status, 404);
    EXPECT_FALSE(h.upgrade);
  }
}

TEST(WsHandshake, not_an_upgrade_is_400) {
  const std::string plain = "GET /sub?key=k&heartbeat=30 HTTP/1.1\r\nHost: x\r\n\r\n";
  const std::vector<std::string> cases = {
      plain,
      // Each required header missing or wrong in turn.
      "GET /sub HTTP/1.1\r\nConnection: Upgrade\r\nSec-WebSocket-Key: a\r\n"
      "Sec-WebSocket-Version: 13\r\n\r\n",
      "GET /sub HTTP/1.1\r\nUpgrade: websocket\r\nSec-WebSocket-Key: a\r\n"
      "Sec-WebSocket-Version: 13\r\n\r\n",
      "GET /sub HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Version: 13\r\n\r\n",
      "GET /sub HTTP/1.1\r\nUpgrade: h2c\r\nConnection: Upgrade\r\nSec-WebSocket-Key: a\r\n"
      "Sec-WebSocket-Version: 13\r\n\r\n",
      "GET /sub HTTP/1.1\r\nUpgrade: websocket\r\nConnection: close\r\nSec-WebSocket-Key: a\r\n"
      "Sec-WebSocket-Version: 13\r\n\r\n",
      // Not a GET, not HTTP/1.x, a header line without a colon, no request line.
      "POST /sub HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Key: a\r\nSec-WebSocket-Version: 13\r\n\r\n",
      "GET /sub HTTP/2.0\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Key: a\r\nSec-WebSocket-Version: 13\r\n\r\n",
      "GET /sub HTTP/1.1\r\nUpgrade websocket\r\n\r\n",
      "GET\r\n\r\n",
      "\r\n\r\n",
  };
  for (const auto& r : cases) {
    SCOPED_TRACE(r);
    const Handshake h = handshake(r);
    EXPECT_EQ(h.status, HsStatus::error);
    EXPECT_EQ(h.error_status, 400);
    EXPECT_EQ(h.used, r.size());
  }
}

TEST(WsHandshake, version_other_than_13_is_426) {
  for (const char* version : {"8", "12", "14", ""}) {
    SCOPED_TRACE(version);
    const Handshake h = handshake(request("/sub?key=k&heartbeat=30", "", version));
    EXPECT_EQ(h.status, HsStatus::error);
    EXPECT_EQ(h.error_status, 426);
  }
}

TEST(WsHandshake, headers_over_the_limit_are_431) {
  // Complete but too long.
  const std::string big =
      request("/sub?key=k&heartbeat=30", "X-Pad: " + std::string(200, 'p') + "\r\n");
  Handshake h = handshake_whole(big, 128);
  EXPECT_EQ(h.status, HsStatus::error);
  EXPECT_EQ(h.error_status, 431);
  h = handshake_bytewise(big, 128);  // stops earlier: at the byte over the limit
  EXPECT_EQ(h.status, HsStatus::error);
  EXPECT_EQ(h.error_status, 431);
  EXPECT_EQ(h.used, 129u);
  // Never ending: the error comes once the limit is passed, without waiting for the blank line.
  WsHandshakeParser p(128);
  const std::string endless = "GET /sub HTTP/1.1\r\nX-Pad: " + std::string(1000, 'p');
  size_t fed = 0;
  HsStatus s = HsStatus::need_more;
  while (s == HsStatus::need_more && fed < endless.size()) {
    size_t used = 0;
    s = p.feed(endless.substr(fed, 1), used);
    fed += used;
  }
  EXPECT_EQ(s, HsStatus::error);
  EXPECT_EQ(p.error_status(), 431);
  EXPECT_LE(fed, 129u);
  // The default limit is generous enough for browsers' headers.
  h = handshake(big);
  EXPECT_EQ(h.status, HsStatus::done);
}

TEST(WsHandshake, bytes_after_the_headers_are_left_unused) {
  const std::string frame = client_frame(0x81, "h");
  const std::string in = kSpecRequest + frame;
  WsHandshakeParser p;
  size_t used = 0;
  ASSERT_EQ(p.feed(in, used), HsStatus::done);
  EXPECT_EQ(used, kSpecRequest.size());
  EXPECT_EQ(in.substr(used), frame);

  // Also when the blank line straddles two feeds.
  WsHandshakeParser q;
  const size_t split = kSpecRequest.size() - 2;  // "...\r\n" | "\r\n" + frame
  ASSERT_EQ(q.feed(std::string_view(in).substr(0, split), used), HsStatus::need_more);
  EXPECT_EQ(used, split);
  ASSERT_EQ(q.feed(std::string_view(in).substr(split), used), HsStatus::done);
  EXPECT_EQ(used, 2u);
  EXPECT_EQ(q.upgrade()->accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");

  // Once done, further bytes are not consumed.
  EXPECT_EQ(q.feed(frame, used), HsStatus::done);
  EXPECT_EQ(used, 0u);
}

TEST(WsHandshake, error_is_sticky) {
  WsHandshakeParser p;
  size_t used = 0;
  ASSERT_EQ(p.feed(request("/other"), used), HsStatus::error);
  EXPECT_EQ(p.feed(kSpecRequest, used), HsStatus::error);
  EXPECT_EQ(used, 0u);
  EXPECT_EQ(p.error_status(), 404);
}

// ---------------------------------------------------------------------------------------------
// Client frames

TEST(WsFrameDecoder, spec_client_frame_is_text_h) {
  const std::string in = bytes({0x81, 0x81, 0x37, 0xFA, 0x21, 0x3D, 0x5F});
  EXPECT_EQ(client_frame(0x81, "h"), in);
  const Decoded d = decode(in);
  ASSERT_FALSE(d.error);
  ASSERT_EQ(d.frames.size(), 1u);
  EXPECT_EQ(d.frames[0].opcode, WsOpcode::text);
  EXPECT_EQ(d.frames[0].payload, "h");
  EXPECT_EQ(d.used, in.size());
}

TEST(WsFrameDecoder, unmasked_client_frame_is_an_error) {
  const Decoded d = decode(bytes({0x81, 0x01, 'h'}));
  EXPECT_TRUE(d.error);
  EXPECT_TRUE(d.frames.empty());
  EXPECT_EQ(d.used, 2u);  // known from the header's second byte
}

TEST(WsFrameDecoder, reserved_bits_are_an_error) {
  for (uint8_t rsv : {0x40, 0x20, 0x10}) {
    SCOPED_TRACE(rsv);
    const Decoded d = decode(client_frame(0x81 | rsv, "h"));
    EXPECT_TRUE(d.error);
    EXPECT_TRUE(d.frames.empty());
  }
}

TEST(WsFrameDecoder, unknown_opcodes_are_an_error) {
  for (uint8_t op : {3, 4, 5, 6, 7, 11, 12, 13, 14, 15}) {
    SCOPED_TRACE(static_cast<int>(op));
    const Decoded d = decode(client_frame(0x80 | op, "h"));
    EXPECT_TRUE(d.error);
    EXPECT_TRUE(d.frames.empty());
  }
}

TEST(WsFrameDecoder, control_frame_over_125_bytes_or_fragmented_is_an_error) {
  for (uint8_t op : {0x8, 0x9, 0xA}) {
    SCOPED_TRACE(static_cast<int>(op));
    EXPECT_FALSE(decode(client_frame(0x80 | op, std::string(125, 'p')), 64).error);
    EXPECT_TRUE(decode(client_frame(0x80 | op, std::string(126, 'p')), 1024).error);
    EXPECT_TRUE(decode(client_frame(0x80 | op, "", 126), 1024).error);  // 126 form, even if 0
    EXPECT_TRUE(decode(client_frame(op, "p")).error);                   // FIN clear
  }
}

TEST(WsFrameDecoder, data_message_over_the_limit_is_an_error) {
  EXPECT_FALSE(decode(client_frame(0x81, std::string(64, 'x'))).error);
  EXPECT_FALSE(decode(client_frame(0x82, std::string(64, 'x'))).error);
  EXPECT_TRUE(decode(client_frame(0x81, std::string(65, 'x'))).error);
  EXPECT_TRUE(decode(client_frame(0x82, std::string(65, 'x'))).error);
  EXPECT_TRUE(decode(client_frame(0x81, std::string(1024, 'x'))).error);
  // The whole message counts, not each fragment.
  EXPECT_TRUE(
      decode(client_frame(0x01, std::string(40, 'x')) + client_frame(0x80, std::string(25, 'x')))
          .error);
  EXPECT_FALSE(
      decode(client_frame(0x01, std::string(40, 'x')) + client_frame(0x80, std::string(24, 'x')))
          .error);
}

// The declared length alone is enough: the decoder never waits for (or buffers) the payload.
TEST(WsFrameDecoder, over_long_length_is_rejected_from_the_header_alone) {
  struct Case {
    std::string header;  // up to and including the extended length, without mask or payload
  };
  const std::vector<Case> cases = {
      {bytes({0x81, 0x80 | 65})},
      {bytes({0x81, 0x80 | 126, 0x00, 0x41})},                          // 65, 16-bit form
      {bytes({0x81, 0x80 | 126, 0xFF, 0xFF})},                          // 65535
      {bytes({0x81, 0x80 | 127, 0, 0, 0, 0, 0, 0, 0, 0x41})},           // 65, 64-bit form
      {bytes({0x81, 0x80 | 127, 0, 0, 0, 0, 0x7F, 0xFF, 0xFF, 0xFF})},  // 2 GiB
      {bytes({0x82, 0x80 | 127, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF})},
      {bytes({0x82, 0x80 | 127, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF})},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(testing::PrintToString(c.header));
    const Decoded d = decode(c.header);
    EXPECT_TRUE(d.error);
    EXPECT_EQ(d.used, c.header.size());
  }
}

TEST(WsFrameDecoder, wrapping_64_bit_length_of_a_continuation_is_an_error) {
  // After a 1-byte first fragment, 1 + 0xFFFF...FF wraps to 0: it must still be too long
  // (it used to pass the limit check and then throw std::out_of_range).
  const std::string in =
      client_frame(0x01, "h") +
      bytes({0x80, 0x80 | 127, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 1, 2, 3, 4, 5, 6});
  const Decoded d = decode(in);
  EXPECT_TRUE(d.error);
  EXPECT_TRUE(d.frames.empty());
  EXPECT_LE(d.used, client_frame(0x01, "h").size() + 14);  // at most the header and mask
}

TEST(WsFrameDecoder, fragmented_h_is_one_message) {
  const std::string in = client_frame(0x01, "") + client_frame(0x80, "h");
  const Decoded d = decode(in);
  ASSERT_FALSE(d.error);
  ASSERT_EQ(d.frames.size(), 1u);
  EXPECT_EQ(d.frames[0].opcode, WsOpcode::text);
  EXPECT_EQ(d.frames[0].payload, "h");
  EXPECT_EQ(d.used, in.size());

  // Three fragments of a binary message, with a ping in between (allowed by RFC 6455 5.4).
  const std::string in2 = client_frame(0x02, "a") + client_frame(0x89, "p") +
                          client_frame(0x00, "b") + client_frame(0x80, "c");
  const Decoded d2 = decode(in2);
  ASSERT_FALSE(d2.error);
  ASSERT_EQ(d2.frames.size(), 2u);
  EXPECT_EQ(d2.frames[0].opcode, WsOpcode::ping);
  EXPECT_EQ(d2.frames[0].payload, "p");
  EXPECT_EQ(d2.frames[1].opcode, WsOpcode::binary);
  EXPECT_EQ(d2.frames[1].payload, "abc");
}

TEST(WsFrameDecoder, continuation_without_a_message_is_an_error) {
  EXPECT_TRUE(decode(client_frame(0x80, "h")).error);
  EXPECT_TRUE(decode(client_frame(0x00, "h")).error);
  // After a complete message, too.
  const Decoded d = decode(client_frame(0x81, "h") + client_frame(0x80, "h"));
  EXPECT_TRUE(d.error);
  EXPECT_EQ(d.frames.size(), 1u);
}

TEST(WsFrameDecoder, new_message_inside_a_fragmented_one_is_an_error) {
  EXPECT_TRUE(decode(client_frame(0x01, "a") + client_frame(0x81, "h")).error);
  EXPECT_TRUE(decode(client_frame(0x01, "a") + client_frame(0x02, "b")).error);
}

TEST(WsFrameDecoder, ping_pong_and_close_decode) {
  const std::string in = client_frame(0x89, "ping!") + client_frame(0x8A, "") +
                         client_frame(0x88, bytes({0x03, 0xE8}) + "bye") +
                         client_frame(0x89, std::string(125, 'z'));
  const Decoded d = decode(in);
  ASSERT_FALSE(d.error);
  ASSERT_EQ(d.frames.size(), 4u);
  EXPECT_EQ(d.frames[0].opcode, WsOpcode::ping);
  EXPECT_EQ(d.frames[0].payload, "ping!");
  EXPECT_EQ(d.frames[1].opcode, WsOpcode::pong);
  EXPECT_EQ(d.frames[1].payload, "");
  EXPECT_EQ(d.frames[2].opcode, WsOpcode::close);
  EXPECT_EQ(d.frames[2].payload, bytes({0x03, 0xE8}) + "bye");
  EXPECT_EQ(d.frames[3].opcode, WsOpcode::ping);
  EXPECT_EQ(d.frames[3].payload, std::string(125, 'z'));
}

TEST(WsFrameDecoder, one_byte_at_a_time) {
  // Every length form (with a limit that allows them), fragments, control frames and several
  // masks, fed byte by byte.
  const std::string p200(200, 'b'), p70000(70000, 'c');
  const std::string in =
      client_frame(0x81, "h", 0, {0, 0, 0, 0}) + client_frame(0x82, p200, 0, {1, 2, 3, 4}) +
      client_frame(0x82, p70000, 0, {0xFF, 0xFE, 0xFD, 0xFC}) + client_frame(0x89, "x") +
      client_frame(0x01, "") + client_frame(0x8A, "y") + client_frame(0x80, "h") +
      client_frame(0x82, std::string(64, '\0')) + client_frame(0x88, "");
  ASSERT_EQ(static_cast<uint8_t>(in[8]), 0x80 | 126);
  WsFrameDecoder d(1 << 17);
  std::vector<WsFrame> frames;
  for (size_t i = 0; i < in.size(); ++i) {
    size_t used = 0;
    const FrameStatus s = d.feed(std::string_view(in).substr(i, 1), used);
    ASSERT_NE(s, FrameStatus::error) << "at byte " << i;
    ASSERT_EQ(used, 1u) << "at byte " << i;
    if (s == FrameStatus::frame) frames.push_back(d.take());
  }
  const std::vector<std::pair<WsOpcode, std::string>> want = {
      {WsOpcode::text, "h"},
      {WsOpcode::binary, p200},
      {WsOpcode::binary, p70000},
      {WsOpcode::ping, "x"},
      {WsOpcode::pong, "y"},
      {WsOpcode::text, "h"},
      {WsOpcode::binary, std::string(64, '\0')},
      {WsOpcode::close, ""},
  };
  ASSERT_EQ(frames.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(frames[i].opcode, want[i].first) << "frame " << i;
    EXPECT_EQ(frames[i].payload, want[i].second) << "frame " << i;
  }
  // The default limit (64) takes the same "h" frames.
  const Decoded small = decode(client_frame(0x81, "h", 0, {0, 0, 0, 0}) + client_frame(0x01, "") +
                               client_frame(0x80, "h"));
  EXPECT_FALSE(small.error);
  EXPECT_EQ(small.frames.size(), 2u);
}

TEST(WsFrameDecoder, several_frames_in_one_feed_stop_at_each_frame) {
  const std::string a = client_frame(0x81, "h");
  const std::string in = a + a + bytes({0x81});  // two frames and the start of a third
  WsFrameDecoder d;
  size_t used = 0;
  ASSERT_EQ(d.feed(in, used), FrameStatus::frame);
  EXPECT_EQ(used, a.size());
  EXPECT_EQ(d.take().payload, "h");
  ASSERT_EQ(d.feed(std::string_view(in).substr(a.size()), used), FrameStatus::frame);
  EXPECT_EQ(used, a.size());
  EXPECT_EQ(d.take().payload, "h");
  ASSERT_EQ(d.feed(std::string_view(in).substr(2 * a.size()), used), FrameStatus::need_more);
  EXPECT_EQ(used, 1u);
  ASSERT_EQ(d.feed(std::string_view(a).substr(1), used), FrameStatus::frame);
  EXPECT_EQ(d.take().payload, "h");
}

TEST(WsFrameDecoder, round_trip_with_a_larger_limit) {
  for (size_t n : {0u, 1u, 125u, 126u, 65535u, 65536u, 70000u}) {
    SCOPED_TRACE(n);
    std::string payload(n, '\0');
    for (size_t i = 0; i < n; ++i) payload[i] = static_cast<char>(i * 7);
    const Decoded d = decode_chunked(client_frame(0x82, payload), 0, 1 << 20);
    ASSERT_FALSE(d.error);
    ASSERT_EQ(d.frames.size(), 1u);
    EXPECT_EQ(d.frames[0].payload, payload);
  }
}

// ---------------------------------------------------------------------------------------------
// Server frames

TEST(WsServerFrame, plus_h_of_section_1w) {
  std::string out;
  append_ws_frame(out, WsOpcode::text, "+h\r\n");
  EXPECT_EQ(out, bytes({0x81, 0x04, 0x2B, 0x68, 0x0D, 0x0A}));
  // Appends: two frames back to back.
  append_ws_frame(out, WsOpcode::text, "-p\r\n");
  EXPECT_EQ(out, bytes({0x81, 0x04, 0x2B, 0x68, 0x0D, 0x0A, 0x81, 0x04, 0x2D, 0x70, 0x0D, 0x0A}));
}

TEST(WsServerFrame, tv3_payload_header) {
  const std::string payload = R"({"msg":{"a":1},"mid":1430000000000001,"gid":0})";
  ASSERT_EQ(payload.size(), 46u);
  std::string out;
  append_ws_frame(out, WsOpcode::text, payload);
  EXPECT_EQ(out, bytes({0x81, 0x2E}) + payload);
}

TEST(WsServerFrame, length_forms) {
  std::string out;
  append_ws_frame(out, WsOpcode::text, std::string(125, 'a'));
  EXPECT_EQ(out, bytes({0x81, 125}) + std::string(125, 'a'));

  out.clear();
  append_ws_frame(out, WsOpcode::text, std::string(126, 'a'));
  EXPECT_EQ(out, bytes({0x81, 126, 0x00, 0x7E}) + std::string(126, 'a'));

  out.clear();
  append_ws_frame(out, WsOpcode::text, std::string(200, 'b'));
  EXPECT_EQ(out, bytes({0x81, 126, 0x00, 0xC8}) + std::string(200, 'b'));

  out.clear();
  append_ws_frame(out, WsOpcode::text, std::string(65535, 'c'));
  EXPECT_EQ(out.substr(0, 4), bytes({0x81, 126, 0xFF, 0xFF}));
  EXPECT_EQ(out.size(), 4u + 65535u);

  out.clear();
  append_ws_frame(out, WsOpcode::binary, std::string(70000, 'd'));
  EXPECT_EQ(out.substr(0, 10), bytes({0x82, 127, 0, 0, 0, 0, 0, 0x01, 0x11, 0x70}));
  EXPECT_EQ(out.size(), 10u + 70000u);
  EXPECT_EQ(out.substr(10), std::string(70000, 'd'));
}

TEST(WsServerFrame, control_frames_are_unmasked_with_fin) {
  std::string out;
  append_ws_frame(out, WsOpcode::pong, "p");
  append_ws_frame(out, WsOpcode::close, bytes({0x03, 0xE8}));
  EXPECT_EQ(out, bytes({0x8A, 0x01, 'p', 0x88, 0x02, 0x03, 0xE8}));
}

}  // namespace
}  // namespace appmsg::comet
