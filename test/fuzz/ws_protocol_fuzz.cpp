/*
 * ws_protocol_fuzz: libFuzzer target for the comet's WebSocket codec (ws_protocol).
 *
 * Input: byte 0 picks the limits (and whether the handshake input starts with "GET /sub?", so
 * that the fuzzer reaches the header and query parsing quickly), byte 1 seeds the chunk sizes,
 * the rest is the client's byte stream.
 *  - WsHandshakeParser gets the stream in random chunks and whole. Aborts when: the two
 *    disagree, `used` is out of range, need_more does not consume everything, more than the
 *    limit is consumed before done, done does not end exactly at the first blank line, or a
 *    done request is not a /sub upgrade with a 28-character accept key.
 *  - WsFrameDecoder gets the stream in random chunks; its frames, where each one ends, and
 *    whether it fails are compared with a plain whole-buffer model of RFC 6455 client framing
 *    below (same limits; an error may be found up to one frame header later than the model
 *    finds it, as a larger chunk brings in the mask with the header). That bounds its buffers:
 *    it can never take a frame the model rejects (an over-long data message, a control frame
 *    over 125 bytes), so it never buffers more than one frame of at most 14 + limit bytes.
 *  - Each frame payload is re-encoded with append_ws_frame and checked byte for byte.
 * Besides crashing (ASan/UBSan, or an exception escaping), those are the failures.
 */
// Run: scripts/fuzz ws_protocol_fuzz [SECONDS]
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "comet/ws_protocol.hpp"

namespace {

using appmsg::comet::WsFrame;
using appmsg::comet::WsFrameDecoder;
using appmsg::comet::WsHandshakeParser;
using appmsg::comet::WsOpcode;

void check(bool ok) {
  if (!ok) std::abort();
}

struct Rng {
  uint32_t state;
  size_t chunk() {
    state = state * 1103515245u + 12345u;
    return 1 + (state >> 16) % 48;
  }
};

// --- handshake -----------------------------------------------------------------------------

void fuzz_handshake(std::string_view in, size_t max_bytes, Rng rng) {
  WsHandshakeParser chunked(max_bytes);
  size_t pos = 0;
  auto status = WsHandshakeParser::Status::need_more;
  while (pos < in.size()) {
    const std::string_view piece = in.substr(pos, rng.chunk());
    size_t used = SIZE_MAX;
    status = chunked.feed(piece, used);
    check(used <= piece.size());
    pos += used;
    if (status != WsHandshakeParser::Status::need_more) break;
    check(used == piece.size());
    check(pos <= max_bytes);  // never holds more than the limit while waiting
  }
  // Finished parsers take nothing more.
  size_t again = SIZE_MAX;
  check(chunked.feed(in.substr(pos), again) == status);
  check(status == WsHandshakeParser::Status::need_more || again == 0);

  WsHandshakeParser whole(max_bytes);
  size_t whole_used = SIZE_MAX;
  check(whole.feed(in, whole_used) == status);
  check(whole.upgrade().has_value() == chunked.upgrade().has_value());

  const auto blank = in.find("\r\n\r\n");
  switch (status) {
    case WsHandshakeParser::Status::need_more:
      check(blank == std::string_view::npos);
      check(whole_used == in.size());
      break;
    case WsHandshakeParser::Status::done: {
      check(pos == blank + 4 && whole_used == pos);
      check(pos <= max_bytes);
      const auto& up = chunked.upgrade();
      check(up.has_value() && up->path == "/sub" && up->accept.size() == 28);
      check(up->accept == whole.upgrade()->accept && up->query == whole.upgrade()->query);
      break;
    }
    case WsHandshakeParser::Status::error: {
      const int s = chunked.error_status();
      check(s == whole.error_status());
      check(s == 400 || s == 404 || s == 426 || s == 431);
      check(!chunked.upgrade());
      // Over the limit: stopped within one chunk of it. Otherwise: at the blank line.
      if (s == 431) {
        check(pos <= max_bytes + 48);
      } else {
        check(pos == blank + 4 && whole_used == pos && pos <= max_bytes);
      }
      const std::string answer = appmsg::comet::http_error_response(s);
      check(answer.rfind("HTTP/1.1 " + std::to_string(s) + " ", 0) == 0);
      break;
    }
  }
}

// --- frames --------------------------------------------------------------------------------

struct Event {
  bool error = false;
  WsOpcode opcode = WsOpcode::text;
  std::string payload;
  size_t end = 0;  // stream offset after the frame (or where the error was found)
};

// RFC 6455 client framing over a whole buffer: masked frames, no RSV bits, known opcodes,
// control frames unfragmented and at most 125 bytes, data messages (all fragments) at most
// `max_message` bytes, rejected as soon as the header shows it, continuations only inside a
// message. Stops at the first error or where the buffer ends inside a frame.
std::vector<Event> model_frames(std::string_view in, size_t max_message) {
  std::vector<Event> events;
  std::string message;
  WsOpcode message_op = WsOpcode::text;
  bool in_message = false;
  size_t pos = 0;
  const auto error = [&](size_t at) {
    Event e;
    e.error = true;
    e.end = at;
    events.push_back(e);
    return events;
  };
  for (;;) {
    if (in.size() - pos < 2) return events;
    const auto b0 = static_cast<uint8_t>(in[pos]);
    const auto b1 = static_cast<uint8_t>(in[pos + 1]);
    const uint8_t op = b0 & 0x0f;
    const bool fin = b0 & 0x80;
    const bool known = op <= 2 || (op >= 8 && op <= 10);
    if ((b0 & 0x70) || !known || !(b1 & 0x80)) return error(pos + 2);
    const bool control = op >= 8;
    uint64_t len = b1 & 0x7f;
    if (control && (!fin || len > 125)) return error(pos + 2);
    const size_t ext = len == 126 ? 2 : len == 127 ? 8 : 0;
    if (in.size() - pos < 2 + ext) return events;
    if (ext) {
      len = 0;
      for (size_t i = 0; i < ext; ++i) len = (len << 8) | static_cast<uint8_t>(in[pos + 2 + i]);
    }
    if (!control && len > max_message - message.size()) return error(pos + 2 + ext);
    const size_t header = 2 + ext + 4;
    if (in.size() - pos < header || in.size() - pos - header < len) return events;
    std::string payload(in.substr(pos + header, static_cast<size_t>(len)));
    for (size_t i = 0; i < payload.size(); ++i) payload[i] ^= in[pos + 2 + ext + i % 4];
    pos += header + static_cast<size_t>(len);
    if (control) {
      events.push_back(Event{false, static_cast<WsOpcode>(op), std::move(payload), pos});
      continue;
    }
    if ((op == 0) != in_message) return error(pos);
    if (!in_message) message_op = static_cast<WsOpcode>(op);
    message += payload;
    in_message = !fin;
    if (fin) {
      events.push_back(Event{false, message_op, std::move(message), pos});
      message.clear();
    }
  }
}

// A server frame for `payload`, checked byte for byte.
void check_server_frame(WsOpcode op, const std::string& payload) {
  std::string out = "x";  // append_ws_frame appends
  appmsg::comet::append_ws_frame(out, op, payload);
  const size_t n = payload.size();
  const size_t header = n < 126 ? 2 : n < 65536 ? 4 : 10;
  check(out.size() == 1 + header + n);
  check(static_cast<uint8_t>(out[1]) == (0x80 | static_cast<uint8_t>(op)));
  const auto b1 = static_cast<uint8_t>(out[2]);
  check(header == 2 ? b1 == n : header == 4 ? b1 == 126 : b1 == 127);  // never masked
  uint64_t len = b1;
  if (header > 2) {
    len = 0;
    for (size_t i = 3; i < 1 + header; ++i) len = (len << 8) | static_cast<uint8_t>(out[i]);
  }
  check(len == n);
  check(out.compare(1 + header, n, payload) == 0);
}

void fuzz_frames(std::string_view in, size_t max_message, Rng rng) {
  const std::vector<Event> want = model_frames(in, max_message);
  WsFrameDecoder decoder(max_message);
  std::vector<Event> got;
  size_t pos = 0;
  bool failed = false;
  while (pos < in.size() && !failed) {
    std::string_view piece = in.substr(pos, rng.chunk());
    while (!piece.empty()) {
      size_t used = SIZE_MAX;
      const auto status = decoder.feed(piece, used);
      check(used <= piece.size());
      piece.remove_prefix(used);
      pos += used;
      if (status == WsFrameDecoder::Status::need_more) {
        check(piece.empty());
        break;
      }
      if (status == WsFrameDecoder::Status::error) {
        failed = true;
        break;
      }
      WsFrame f = decoder.take();
      const bool control = static_cast<uint8_t>(f.opcode) >= 8;
      check(f.payload.size() <= (control ? 125 : max_message));
      check_server_frame(f.opcode, f.payload);
      got.push_back(Event{false, f.opcode, std::move(f.payload), pos});
    }
  }
  // The same frames, ending at the same bytes, and the same verdict. Where an error is found
  // may differ by the bytes of one header (a larger chunk may bring in the mask with it).
  const bool want_error = !want.empty() && want.back().error;
  check(failed == want_error);
  check(got.size() == want.size() - (want_error ? 1 : 0));
  for (size_t i = 0; i < got.size(); ++i) {
    check(got[i].opcode == want[i].opcode);
    check(got[i].payload == want[i].payload);
    check(got[i].end == want[i].end);
  }
  if (want_error) {
    const size_t after = got.empty() ? 0 : got.back().end;
    check(pos > after && pos <= want.back().end + 14);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const uint8_t selector = data[0];
  const std::string_view stream(reinterpret_cast<const char*>(data) + 2, size - 2);
  // Small limits often, so that short inputs reach them; the session's values otherwise.
  const size_t max_bytes = (selector & 0x40) ? 8192 : 16 + selector % 64;
  const size_t max_message = (selector & 0x20) ? 64 : selector % 16;

  std::string request = (selector & 0x80) ? "GET /sub?" : "";
  request.append(stream);
  fuzz_handshake(request, max_bytes, Rng{data[1] * 2654435761u + 1});
  fuzz_frames(stream, max_message, Rng{data[1] * 2246822519u + 7});
  return 0;
}
