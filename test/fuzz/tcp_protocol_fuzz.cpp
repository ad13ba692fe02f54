/*
 * tcp_protocol_fuzz: libFuzzer target for the comet's client protocol codecs.
 *
 * Input: byte 0 picks the limits, byte 1 seeds the chunk sizes, the rest is the client's byte
 * stream. The stream is fed to CommandParser in random chunks, command after command (reset
 * after each), and each command's result is checked against a single whole feed of the same
 * bytes; parsed commands go to parse_sub and parse_sub_query. The stream is also a push body
 * for is_json, strip_whitespace and both payload encoders. Besides crashing (ASan/UBSan), it
 * aborts when: chunked and whole parsing disagree, `used` is out of range, a limit is
 * exceeded, a payload holds CR or LF, stripping is not idempotent, or a body is_json accepts
 * is not the same value to nlohmann::json (itself, stripped, and inside the payload).
 */
// Run: scripts/fuzz tcp_protocol_fuzz [SECONDS]
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "comet/tcp_protocol.hpp"
#include "common/json_text.hpp"

namespace {

using appmsg::comet::CommandLimits;
using appmsg::comet::CommandParser;

void check(bool ok) {
  if (!ok) std::abort();
}

CommandLimits pick_limits(uint8_t selector) {
  CommandLimits limits;
  switch (selector % 3) {
    case 1:  // the original's count range
      limits.max_args = 5;
      break;
    case 2:  // small limits, so that short inputs reach every limit
      limits.max_line_bytes = 8 + selector % 8;
      limits.max_arg_bytes = selector % 7;
      limits.max_command_bytes = 16 + selector % 32;
      limits.max_args = 1 + selector % 6;
      break;
    default:
      break;
  }
  return limits;
}

void check_payloads(std::string_view body) {
  const auto line_free = [](std::string_view s) {
    return s.find('\n') == std::string_view::npos && s.find('\r') == std::string_view::npos;
  };
  check(line_free(appmsg::encode_old(body, 1)));
  if (!appmsg::is_json(body)) return;
  const std::string stripped = appmsg::strip_whitespace(body);
  check(line_free(stripped) && appmsg::is_json(stripped));
  check(appmsg::strip_whitespace(stripped) == stripped);
  // The same value as a full parser reads, in the body and inside the new-format payload.
  const auto value = nlohmann::json::parse(body, nullptr, false);
  check(!value.is_discarded());
  check(nlohmann::json::parse(stripped) == value);
  const std::string payload = appmsg::encode_new(body, INT64_MAX);
  check(line_free(payload));
  const auto parsed = nlohmann::json::parse(payload);
  check(parsed["msg"] == value && parsed["mid"] == INT64_MAX && parsed["gid"] == 0);
  std::string frame;
  appmsg::comet::append_tcp_frame(frame, payload);
  check(frame.size() > payload.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const CommandLimits limits = pick_limits(data[0]);
  uint32_t rng = data[1] * 2654435761u + 1;
  const std::string_view stream(reinterpret_cast<const char*>(data) + 2, size - 2);

  CommandParser chunked(limits);
  size_t pos = 0, start = 0;  // start: where the current command began
  while (pos < stream.size()) {
    rng = rng * 1103515245u + 12345u;
    const size_t chunk = 1 + (rng >> 16) % 64;
    const std::string_view piece = stream.substr(pos, chunk);
    size_t used = SIZE_MAX;
    const auto status = chunked.feed(piece, used);
    check(used <= piece.size());
    check(status != CommandParser::Status::need_more || used == piece.size());
    pos += used;
    if (status == CommandParser::Status::need_more) continue;

    // The same command fed whole must give the same result at the same byte.
    CommandParser whole(limits);
    size_t whole_used = SIZE_MAX;
    check(whole.feed(stream.substr(start), whole_used) == status);
    check(whole_used == pos - start);
    check(whole.args() == chunked.args());
    if (status == CommandParser::Status::error) return 0;

    const auto& args = chunked.args();
    check(pos - start <= limits.max_command_bytes);
    check(args.size() >= 1 && static_cast<int>(args.size()) <= limits.max_args);
    for (const auto& a : args) check(a.size() <= limits.max_arg_bytes);
    if (const auto sub = appmsg::comet::parse_sub(args)) {
      check(!sub->key.empty() && sub->heartbeat >= 30 && sub->heartbeat <= 3600);
      check(!sub->resume_mid || *sub->resume_mid >= 0);
    }
    std::vector<std::pair<std::string, std::string>> query;
    for (size_t i = 0; i + 1 < args.size(); i += 2) query.emplace_back(args[i], args[i + 1]);
    (void)appmsg::comet::parse_sub_query(query);

    chunked.reset();
    start = pos;
  }
  // Whatever is left is an incomplete command, whole as well.
  CommandParser whole(limits);
  size_t whole_used = SIZE_MAX;
  check(whole.feed(stream.substr(start), whole_used) == CommandParser::Status::need_more);
  check(whole_used == stream.size() - start);

  check_payloads(stream);
  return 0;
}
