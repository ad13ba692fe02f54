// WebSocket codec: upgrade request, accept key, client frame decoding, server frame encoding.
#include "comet/ws_protocol.hpp"

#include <openssl/evp.h>
#include <openssl/sha.h>
#include <strings.h>

#include "common/http.hpp"

namespace appmsg::comet {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
}

// True when the comma-separated header value holds `token` (case-insensitive).
bool has_token(std::string_view value, std::string_view token) {
  while (!value.empty()) {
    auto comma = value.find(',');
    if (iequals(trim(value.substr(0, comma)), token)) return true;
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return false;
}

}  // namespace

// --- upgrade -------------------------------------------------------------------------------

WsHandshakeParser::Status WsHandshakeParser::feed(std::string_view data, size_t& used) {
  used = 0;
  if (status_ != Status::need_more) return status_;
  // Look for the blank line, allowing it to straddle two reads.
  size_t before = head_.size();
  head_.append(data);
  auto end = head_.find("\r\n\r\n", before >= 3 ? before - 3 : 0);
  if (end == std::string::npos) {
    used = data.size();
    if (head_.size() > max_bytes_) {
      error_status_ = 431;
      return status_ = Status::error;
    }
    return status_;
  }
  used = end + 4 - before;
  head_.resize(end + 4);
  if (head_.size() > max_bytes_) {
    error_status_ = 431;
    return status_ = Status::error;
  }
  interpret();
  return status_ = upgrade_ ? Status::done : Status::error;
}

void WsHandshakeParser::interpret() {
  std::string_view head(head_);
  auto line_end = head.find("\r\n");
  std::string_view request_line = head.substr(0, line_end);
  auto sp1 = request_line.find(' ');
  auto sp2 = request_line.rfind(' ');
  if (sp1 == std::string_view::npos || sp2 == sp1) return;  // 400
  std::string_view method = request_line.substr(0, sp1);
  std::string_view target = request_line.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string_view version = request_line.substr(sp2 + 1);
  if (method != "GET" || (version != "HTTP/1.1" && version != "HTTP/1.0")) return;
  std::string_view upgrade, connection, key, ws_version;
  size_t pos = line_end + 2;
  while (pos < head.size()) {
    auto next = head.find("\r\n", pos);
    std::string_view line = head.substr(pos, next - pos);
    pos = next + 2;
    if (line.empty()) break;
    auto colon = line.find(':');
    if (colon == std::string_view::npos) return;
    auto name = line.substr(0, colon);
    auto value = trim(line.substr(colon + 1));
    if (iequals(name, "Upgrade"))
      upgrade = value;
    else if (iequals(name, "Connection"))
      connection = value;
    else if (iequals(name, "Sec-WebSocket-Key"))
      key = value;
    else if (iequals(name, "Sec-WebSocket-Version"))
      ws_version = value;
  }
  auto q = target.find('?');
  std::string path = url_decode(target.substr(0, q));
  if (path != "/sub") {
    error_status_ = 404;
    return;
  }
  if (!has_token(upgrade, "websocket") || !has_token(connection, "upgrade") || key.empty() ||
      key.size() > 64) {
    return;  // 400
  }
  if (ws_version != "13") {
    error_status_ = 426;
    return;
  }
  WsUpgrade u;
  u.path = std::move(path);
  if (q != std::string_view::npos) u.query = parse_query(target.substr(q + 1));
  u.accept = ws_accept_key(key);
  upgrade_ = std::move(u);
}

std::string ws_accept_key(std::string_view client_key) {
  std::string in(client_key);
  in += "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(in.data()), in.size(), digest);
  unsigned char out[4 * ((SHA_DIGEST_LENGTH + 2) / 3) + 1];
  int n = EVP_EncodeBlock(out, digest, SHA_DIGEST_LENGTH);
  return std::string(reinterpret_cast<char*>(out), static_cast<size_t>(n));
}

std::string ws_upgrade_response(std::string_view accept) {
  std::string r =
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Accept: ";
  r.append(accept);
  r += "\r\n\r\n";
  return r;
}

std::string http_error_response(int status) {
  std::string_view reason = status == 404   ? "Not Found"
                            : status == 426 ? "Upgrade Required"
                            : status == 431 ? "Request Header Fields Too Large"
                                            : "Bad Request";
  std::string body = std::string(reason) + "\n";
  std::string r = "HTTP/1.1 " + std::to_string(status) + " " + std::string(reason) +
                  "\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n";
  if (status == 426) r += "Sec-WebSocket-Version: 13\r\n";
  r += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  return r;
}

// --- frames --------------------------------------------------------------------------------

namespace {
bool known_opcode(uint8_t op) {
  return op <= 2 || (op >= 8 && op <= 10);
}
}  // namespace

WsFrameDecoder::Status WsFrameDecoder::feed(std::string_view data, size_t& used) {
  used = 0;
  for (;;) {
    // How many bytes the frame in `partial_` needs, validating the header as it arrives.
    size_t need = 2;
    size_t header = 0;
    uint64_t len = 0;
    if (partial_.size() >= 2) {
      auto b0 = static_cast<uint8_t>(partial_[0]);
      auto b1 = static_cast<uint8_t>(partial_[1]);
      uint8_t op = b0 & 0x0f;
      bool fin = b0 & 0x80;
      if ((b0 & 0x70) || !known_opcode(op) || !(b1 & 0x80)) return Status::error;
      len = b1 & 0x7f;
      bool control = op >= 8;
      if (control && (!fin || len > 125)) return Status::error;
      header = 2 + (len == 126 ? 2 : len == 127 ? 8 : 0) + 4;
      need = header;
      if (partial_.size() >= header - 4) {
        if (len == 126) {
          len = (static_cast<uint64_t>(static_cast<uint8_t>(partial_[2])) << 8) |
                static_cast<uint8_t>(partial_[3]);
        } else if (len == 127) {
          len = 0;
          for (int i = 0; i < 8; ++i) len = (len << 8) | static_cast<uint8_t>(partial_[2 + i]);
        }
        // Never message_.size() + len: a 64-bit length would wrap (message_ <= max_message_).
        if (!control && len > max_message_ - message_.size()) return Status::error;
        need = header + static_cast<size_t>(len);
      }
    }
    if (partial_.size() < need) {
      size_t take = std::min(need - partial_.size(), data.size() - used);
      if (take == 0) return Status::need_more;
      partial_.append(data.substr(used, take));
      used += take;
      continue;  // re-evaluate with the new bytes
    }
    // A whole frame.
    auto b0 = static_cast<uint8_t>(partial_[0]);
    auto op = static_cast<WsOpcode>(b0 & 0x0f);
    bool fin = b0 & 0x80;
    const char* mask = partial_.data() + header - 4;
    std::string payload = partial_.substr(header);
    for (size_t i = 0; i < payload.size(); ++i) payload[i] ^= mask[i % 4];
    partial_.clear();
    if (static_cast<uint8_t>(op) >= 8) {
      ready_ = WsFrame{op, std::move(payload)};
      return Status::frame;
    }
    if ((op == WsOpcode::continuation) != in_message_) return Status::error;
    if (!in_message_) message_op_ = op;
    message_ += payload;
    in_message_ = !fin;
    if (fin) {
      ready_ = WsFrame{message_op_, std::move(message_)};
      message_.clear();
      return Status::frame;
    }
  }
}

WsFrame WsFrameDecoder::take() {
  return std::move(ready_);
}

void append_ws_frame(std::string& out, WsOpcode opcode, std::string_view payload) {
  out += static_cast<char>(0x80 | static_cast<uint8_t>(opcode));
  size_t n = payload.size();
  if (n < 126) {
    out += static_cast<char>(n);
  } else if (n < 65536) {
    out += static_cast<char>(126);
    out += static_cast<char>((n >> 8) & 0xff);
    out += static_cast<char>(n & 0xff);
  } else {
    out += static_cast<char>(127);
    for (int i = 7; i >= 0; --i)
      out += static_cast<char>((static_cast<uint64_t>(n) >> (8 * i)) & 0xff);
  }
  out.append(payload);
}

}  // namespace appmsg::comet
