// WebSocket codec for client connections (RFC 6455, spec/comet.md section 1W): the upgrade
// request and its answer, the decoding of client frames and the encoding of server frames.
//
// Pure functions over bytes: no I/O, no clocks. Our own codec instead of Beast's stream keeps
// an idle WebSocket connection as small as a TCP one: after the upgrade, a session holds a few
// bytes of frame state and nothing else.
//
// What clients may send once subscribed is tiny ("h" text messages, pings, pongs, a close), so
// data messages are limited to a few bytes and extensions are never negotiated.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace appmsg::comet {

// --- the upgrade ---------------------------------------------------------------------------

struct WsUpgrade {
  std::string path;                                        // decoded path, e.g. "/sub"
  std::vector<std::pair<std::string, std::string>> query;  // decoded
  std::string accept;                                      // Sec-WebSocket-Accept for the answer
};

// Incremental reader of the HTTP upgrade request (request line and headers, no body).
class WsHandshakeParser {
 public:
  enum class Status { need_more, done, error };
  explicit WsHandshakeParser(size_t max_bytes = 8192) : max_bytes_(max_bytes) {}
  // Consumes bytes up to the end of the headers; `used` tells how many (the rest are frames).
  Status feed(std::string_view data, size_t& used);
  // Once done: the request, or an HTTP status to answer (404 wrong path, 400 not an upgrade,
  // 426 wrong version) when it is not a valid WebSocket upgrade.
  const std::optional<WsUpgrade>& upgrade() const { return upgrade_; }
  int error_status() const { return error_status_; }

 private:
  void interpret();
  size_t max_bytes_;
  std::string head_;
  Status status_ = Status::need_more;
  std::optional<WsUpgrade> upgrade_;
  int error_status_ = 400;
};

std::string ws_accept_key(std::string_view client_key);  // base64(SHA-1(key + GUID))
std::string ws_upgrade_response(std::string_view accept);
std::string http_error_response(int status);  // a short text/plain answer that closes

// --- frames --------------------------------------------------------------------------------

enum class WsOpcode : uint8_t {
  continuation = 0,
  text = 1,
  binary = 2,
  close = 8,
  ping = 9,
  pong = 10
};

struct WsFrame {
  WsOpcode opcode = WsOpcode::text;
  std::string payload;  // unmasked; for a data message, the whole message
};

// Decodes client frames (which must be masked). Data messages may be fragmented but must fit in
// `max_message_bytes`; control frames carry at most 125 bytes and are never fragmented.
class WsFrameDecoder {
 public:
  enum class Status { need_more, frame, error };
  explicit WsFrameDecoder(size_t max_message_bytes = 64) : max_message_(max_message_bytes) {}
  // Consumes bytes; on `frame`, take() gives the frame and `used` says where it ended.
  Status feed(std::string_view data, size_t& used);
  WsFrame take();

 private:
  size_t max_message_;
  std::string partial_;  // bytes of an incomplete frame
  std::string message_;  // a fragmented data message so far
  WsOpcode message_op_ = WsOpcode::text;
  bool in_message_ = false;
  WsFrame ready_;
};

// Appends one unmasked server frame with FIN set.
void append_ws_frame(std::string& out, WsOpcode opcode, std::string_view payload);

}  // namespace appmsg::comet
