/*
 * tcp_protocol: the comet's client protocol codecs (comet.md §1.2-1.3, §1.6, §1W, TV1, TV3).
 *
 * Owns: the incremental parser of the client's Redis multi-bulk `sub` command, the validation
 * of its arguments (and of the equivalent WebSocket `/sub` query), the fixed replies, and the
 * message payloads and TCP frames the server writes.
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

struct SubLimits {
  int min_heartbeat = 30;                       // the original's minimum, in seconds
  int max_heartbeat = 3600;                     // W3: a dead socket is held at most an hour
  size_t max_key_bytes = limits::kMaxKeyBytes;  // session ids are <= 64 chars (W16)
  size_t max_token_bytes = 256;                 // tokens are short random strings
  size_t max_version_bytes = 32;                // versions look like "1.0.4"
};

struct SubRequest {
  std::string key;
  int heartbeat = 0;  // seconds, as sent (the server adds its grace)
  std::string token;
  std::string version;                // empty: old message format
  std::optional<int64_t> resume_mid;  // the client's last mid, when it asks to resume
};

// Validates the parsed arguments of a command (spec 1.3): args[0] must be exactly "sub", key
// non-empty and at most max_key_bytes, heartbeat decimal (optional sign as the original) within
// [min,max] (above max is -p: W3), token/version optional, and an optional 5th argument (after
// the version) that is the client's last mid for resume (decimal int64 >= 0; malformed -> -p).
// Returns nullopt for a -p reply.
std::optional<SubRequest> parse_sub(const std::vector<std::string>& args,
                                    const SubLimits& limits = {});

// The same from a WebSocket /sub query (already decoded pairs; parameters key, heartbeat, token,
// ver, and mid for resume): nullopt means -p. As Go's Query().Get, the first occurrence of a
// parameter wins and unknown parameters are ignored; a `mid` that is present must be valid.
std::optional<SubRequest> parse_sub_query(
    const std::vector<std::pair<std::string, std::string>>& query, const SubLimits& limits = {});

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
