/*
 * tcp_protocol: see tcp_protocol.hpp. The parser keeps at most one incomplete line
 * (<= max_line_bytes) plus the arguments (<= max_command_bytes in all); every limit is checked
 * against the smallest size the command can still have, so an oversized command fails on the
 * byte that proves it.
 */
#include "comet/tcp_protocol.hpp"

#include <algorithm>
#include <limits>
#include <nlohmann/json.hpp>

#include "common/http.hpp"
#include "common/json_text.hpp"

namespace appmsg::comet {
namespace {

// The smallest element: "$0\r\n" (a size line must be longer than 3 bytes) and "\r\n".
constexpr size_t kMinElementBytes = 6;
constexpr size_t kMinDataLineBytes = 2;

}  // namespace

CommandParser::CommandParser(CommandLimits limits) : limits_(limits) {}

void CommandParser::reset() {
  status_ = Status::need_more;
  stage_ = Stage::count;
  line_.clear();
  total_ = 0;
  arg_count_ = 0;
  arg_len_ = 0;
  args_.clear();
}

CommandParser::Status CommandParser::feed(std::string_view data, size_t& used) {
  used = 0;
  while (status_ == Status::need_more && used < data.size()) {
    const std::string_view rest = data.substr(used);

    // The longest the current line may be, CR LF included.
    size_t cap;
    if (stage_ == Stage::data) {
      const auto len = static_cast<size_t>(arg_len_);
      cap = len + 2;  // checked against every limit already
      // Byte `len` of the data line must be CR: fail on it rather than on the LF that follows
      // (an earlier LF is found below).
      if (line_.size() <= len) {
        const size_t at = len - line_.size();
        if (at < rest.size() && rest[at] != '\r' &&
            rest.substr(0, at).find('\n') == std::string_view::npos) {
          used += at + 1;
          return fail();
        }
      }
    } else {
      if (line_.empty() && rest[0] != (stage_ == Stage::count ? '*' : '$')) {
        used += 1;
        return fail();
      }
      // What the command needs after this line, at the least.
      size_t after = 0;
      if (stage_ == Stage::length) {
        after = kMinDataLineBytes +
                kMinElementBytes *
                    static_cast<size_t>(arg_count_ - 1 - static_cast<int64_t>(args_.size()));
      }
      const size_t budget = total_ + after < limits_.max_command_bytes
                                ? limits_.max_command_bytes - total_ - after
                                : 0;
      cap = std::min(limits_.max_line_bytes, budget);
      if (cap <= line_.size()) {  // only with limits too small for any command
        used += 1;
        return fail();
      }
    }

    // Up to `room` more bytes may belong to this line; the last of them must be LF.
    const size_t room = cap - line_.size();
    const size_t lf = rest.substr(0, room).find('\n');
    if (lf == std::string_view::npos) {
      if (rest.size() >= room) {  // the line is longer than allowed (or than len+2)
        used += room;
        return fail();
      }
      line_.append(rest);
      used += rest.size();
      return status_;
    }
    used += lf + 1;
    std::string_view line = rest.substr(0, lf + 1);
    if (!line_.empty()) {
      line_.append(line);
      line = line_;
    }

    if (stage_ != Stage::data) {
      on_size_line(line);
    } else if (line.size() != cap || line[line.size() - 2] != '\r') {
      fail();  // LF inside the data, or no CR before the LF
    } else {
      total_ += line.size();
      args_.emplace_back(line.substr(0, line.size() - 2));
      if (static_cast<int64_t>(args_.size()) == arg_count_) {
        status_ = Status::done;
      } else {
        stage_ = Stage::length;
      }
    }
    line_.clear();
  }
  return status_;
}

CommandParser::Status CommandParser::on_size_line(std::string_view line) {
  const size_t n = line.size();
  // The prefix was checked on the line's first byte.
  if (n <= 3 || line[n - 2] != '\r') return fail();
  const auto value = parse_go_int(line.substr(1, n - 3));
  if (!value) return fail();
  total_ += n;
  if (stage_ == Stage::count) {
    if (*value < 1 || *value > limits_.max_args) return fail();
    if (total_ + kMinElementBytes * static_cast<size_t>(*value) > limits_.max_command_bytes) {
      return fail();
    }
    arg_count_ = *value;
    args_.reserve(static_cast<size_t>(*value));
    stage_ = Stage::length;
    return status_;
  }
  // W1: a negative length crashed the original; W2: lengths are bounded.
  if (*value < 0) return fail();
  const auto len = static_cast<uint64_t>(*value);
  if (len > limits_.max_arg_bytes || len + 2 > limits_.max_line_bytes) return fail();
  const size_t later = static_cast<size_t>(arg_count_ - 1 - static_cast<int64_t>(args_.size()));
  if (total_ + len + 2 + kMinElementBytes * later > limits_.max_command_bytes) return fail();
  arg_len_ = *value;
  stage_ = Stage::data;
  return status_;
}

void append_tcp_frame(std::string& out, std::string_view payload) {
  out += '$';
  out += std::to_string(payload.size());
  out += "\r\n";
  out += payload;
  out += "\r\n";
}

}  // namespace appmsg::comet
