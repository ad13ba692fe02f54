/*
 * tcp_protocol: the comet's client protocol codecs (comet.md §1.2-1.3, §1.6, §1W, TV1, TV3).
 *
 * Owns: the incremental parser of the client's Redis multi-bulk `sub` command, the fixed
 * replies, and the message payloads and TCP frames the server writes. The validation of the
 * command's arguments and of the WebSocket `/sub` query is in sub_request.hpp.
 *
 * Pure functions over bytes: no I/O, no Asio, no logging, no clocks. Untrusted input never
 * crashes, never throws and never makes a buffer grow past the configured limits.
 *
 * Differences from the original, on purpose:
 *  - negative lengths (`$-1`, which crashed the Go process) and lengths, lines or commands
 *    over the limits are framing errors (W1, W2), reported as soon as the bytes seen so far
 *    prove them, without waiting for the rest;
 *  - the parser stops right after the command, so pipelined heartbeats are kept (W13);
 *  - a heartbeat above the maximum is a parameter error (W3);
 *  - an optional 6th element (5th argument after `sub`) carries the client's last mid, so the
 *    count range is 1..6 instead of 1..5 (with max_args = 5 it is the original's range).
 */
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "comet/sub_request.hpp"
#include "common/json_text.hpp"
#include "common/limits.hpp"

namespace appmsg::comet {

struct CommandLimits {
  size_t max_line_bytes = 1024;     // one count/length line or data line incl. CRLF
  size_t max_arg_bytes = 512;       // one argument
  size_t max_command_bytes = 2048;  // the whole command
  int max_args = 6;  // 5 in the original (sub key heartbeat token version) + 1 optional resume mid
};

// Incremental parser of one Redis multi-bulk command (spec 1.2), byte-exact with the original's
// acceptance rules except the fixes: negative or oversized lengths are errors (W1, W2).
//
// Lines: `*<N>\r\n` then N times `$<len>\r\n<len bytes>\r\n`. A count or length line must be
// longer than 3 bytes, start with its prefix, end with CR LF, and hold an integer in Go's
// strconv.Atoi syntax (optional sign, leading zeros allowed, nothing else). A data line is
// exactly len+2 bytes and its byte `len` is CR (so an argument never holds LF).
class CommandParser {
 public:
  enum class Status { need_more, done, error };

  explicit CommandParser(CommandLimits limits = {});

  // Consumes bytes from `data` and returns how many it used in `used`; stops right after the
  // command ends, so the caller keeps the rest (pipelined heartbeats, W13).
  // On error, `used` counts the bytes up to and including the one that proved the error.
  // Once done or error, further calls return the same status and use nothing until reset().
  Status feed(std::string_view data, size_t& used);

  // The arguments parsed so far (all of them once done).
  const std::vector<std::string>& args() const { return args_; }

  // Back to the start, for a new command.
  void reset();

 private:
  enum class Stage { count, length, data };

  Status fail() { return status_ = Status::error; }
  // A complete count or length line (CR LF included) has arrived.
  Status on_size_line(std::string_view line);

  CommandLimits limits_;
  Status status_ = Status::need_more;
  Stage stage_ = Stage::count;
  std::string line_;       // the current, incomplete line
  size_t total_ = 0;       // bytes of the command in completed lines
  int64_t arg_count_ = 0;  // N from the count line
  int64_t arg_len_ = 0;    // len from the current length line
  std::vector<std::string> args_;
};

// Replies.
inline constexpr std::string_view kReplyHeartbeat = "+h\r\n", kReplyParam = "-p\r\n",
                                  kReplyAuth = "-a\r\n", kReplyChannel = "-c\r\n";

// is_json (common/json_text.hpp) checks a push body once; it is then carried as it is.
using ::appmsg::is_json;

// Message payloads (spec 1.6, TV3): common/json_text.hpp.
using ::appmsg::encode_new;
using ::appmsg::encode_old;

// TCP frame: "$<len>\r\n" + payload + "\r\n", appended to out (so several frames can share one
// write).
void append_tcp_frame(std::string& out, std::string_view payload);

}  // namespace appmsg::comet
