/*
 * tcp_protocol_test: the comet's client protocol codecs against comet.md TV1 (command parsing),
 * TV3 (message payloads), §1.8 (the byte-exact example) and §1W (WebSocket query), plus the
 * fixes W1 (negative length), W2 (limits), W3 (maximum heartbeat) and W13 (leftover bytes).
 * Every command vector is fed whole and one byte at a time; both must agree.
 */
#include "comet/tcp_protocol.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace appmsg::comet {
namespace {

using Status = CommandParser::Status;
using namespace std::string_literals;

struct Parsed {
  Status status;
  size_t used;
  std::vector<std::string> args;
};

Parsed parse_whole(std::string_view bytes, CommandLimits limits = {}) {
  CommandParser parser(limits);
  size_t used = 99;
  const Status status = parser.feed(bytes, used);
  return {status, used, parser.args()};
}

// One byte per feed; stops at the first status other than need_more, like a session would.
Parsed parse_bytewise(std::string_view bytes, CommandLimits limits = {}) {
  CommandParser parser(limits);
  size_t total = 0;
  Status status = Status::need_more;
  for (size_t i = 0; i < bytes.size() && status == Status::need_more; ++i) {
    size_t used = 99;
    status = parser.feed(bytes.substr(i, 1), used);
    EXPECT_EQ(used, 1u) << "at byte " << i;
    total += used;
  }
  return {status, total, parser.args()};
}

// Parses both ways, checks they agree, and returns the whole-feed result.
Parsed parse(std::string_view bytes, CommandLimits limits = {}) {
  const Parsed whole = parse_whole(bytes, limits);
  const Parsed bytewise = parse_bytewise(bytes, limits);
  EXPECT_EQ(whole.status, bytewise.status) << bytes;
  EXPECT_EQ(whole.used, bytewise.used) << bytes;
  EXPECT_EQ(whole.args, bytewise.args) << bytes;
  return whole;
}

// ---------------------------------------------------------------------------------------------
// TV1: command parsing and the sub reply.

enum class Reply { subscribed, param, silent_close };

struct Tv1Row {
  std::string bytes;
  Reply reply;
  std::vector<std::string> args;  // when the command parses
};

const Tv1Row kTv1[] = {
    {"*3\r\n$3\r\nsub\r\n$34\r\n23370005043469383_Android-123@user\r\n$2\r\n30\r\n",
     Reply::subscribed,
     {"sub", "23370005043469383_Android-123@user", "30"}},
    {"*1\r\n$3\r\nsub\r\n", Reply::param, {"sub"}},
    {"*2\r\n$3\r\nsub\r\n$1\r\nk\r\n", Reply::param, {"sub", "k"}},
    {"*3\r\n$3\r\nsub\r\n$0\r\n\r\n$2\r\n30\r\n", Reply::param, {"sub", "", "30"}},
    {"*3\r\n$3\r\nsub\r\n$1\r\nk\r\n$2\r\n29\r\n", Reply::param, {"sub", "k", "29"}},
    {"*3\r\n$3\r\nsub\r\n$1\r\nk\r\n$3\r\n30s\r\n", Reply::param, {"sub", "k", "30s"}},
    {"*3\r\n$3\r\nSUB\r\n$1\r\nk\r\n$2\r\n30\r\n", Reply::param, {"SUB", "k", "30"}},
    {"*3\r\n$3\r\nsub\r\n$1\r\nk\r\n$3\r\n+30\r\n", Reply::subscribed, {"sub", "k", "+30"}},
    {"*1\r\n$03\r\nsub\r\n", Reply::param, {"sub"}},
    {"*0\r\n", Reply::silent_close, {}},
    {"*\r\n", Reply::silent_close, {}},
    {"*2\n", Reply::silent_close, {}},
    {"*1\r\n$4\r\nsub\r\n", Reply::silent_close, {}},
    {"*1\r\n$3\r\nsu\nb\r\n", Reply::silent_close, {}},
    {"*1\r\n$-1\r\n\n", Reply::silent_close, {}},  // W1: crashed the original
};

TEST(TcpCommandParser, tv1_rows_whole_and_byte_by_byte) {
  for (const auto& row : kTv1) {
    SCOPED_TRACE(row.bytes);
    const Parsed p = parse(row.bytes);
    if (row.reply == Reply::silent_close) {
      EXPECT_EQ(p.status, Status::error);
      continue;
    }
    ASSERT_EQ(p.status, Status::done);
    EXPECT_EQ(p.used, row.bytes.size());
    EXPECT_EQ(p.args, row.args);
    const auto sub = parse_sub(p.args);
    EXPECT_EQ(sub.has_value(), row.reply == Reply::subscribed);
  }
}

TEST(TcpCommandParser, tv1_first_row_is_an_old_format_subscription) {
  const auto p =
      parse("*3\r\n$3\r\nsub\r\n$34\r\n23370005043469383_Android-123@user\r\n$2\r\n30\r\n");
  ASSERT_EQ(p.status, Status::done);
  const auto sub = parse_sub(p.args);
  ASSERT_TRUE(sub);
  EXPECT_EQ(sub->key, "23370005043469383_Android-123@user");
  EXPECT_EQ(sub->heartbeat, 30);
  EXPECT_EQ(sub->token, "");
  EXPECT_EQ(sub->version, "");  // old format
  EXPECT_FALSE(sub->resume_mid);
}

TEST(TcpCommandParser, count_above_the_original_five_needs_the_resume_extension) {
  // The original accepts 1..5 elements; we accept a 6th (resume mid) by default.
  CommandLimits original;
  original.max_args = 5;
  EXPECT_EQ(parse("*6\r\n", original).status, Status::error);
  EXPECT_EQ(parse("*5\r\n", original).status, Status::need_more);
  EXPECT_EQ(parse("*6\r\n").status, Status::need_more);
  EXPECT_EQ(parse("*7\r\n").status, Status::error);
  EXPECT_EQ(parse("*-1\r\n").status, Status::error);
  EXPECT_EQ(parse("*99999999999999999999999\r\n").status, Status::error);
}

TEST(TcpCommandParser, integer_syntax_is_go_atoi) {
  EXPECT_EQ(parse("*+1\r\n$3\r\nsub\r\n").status, Status::done);
  EXPECT_EQ(parse("*01\r\n$-0\r\n\r\n").status, Status::done);
  EXPECT_EQ(parse("*1\r\n$+3\r\nsub\r\n").status, Status::done);
  EXPECT_EQ(parse("* 1\r\n").status, Status::error);
  EXPECT_EQ(parse("*1 \r\n").status, Status::error);
  EXPECT_EQ(parse("*+\r\n").status, Status::error);
  EXPECT_EQ(parse("*-\r\n").status, Status::error);
  EXPECT_EQ(parse("*1_0\r\n").status, Status::error);
  EXPECT_EQ(parse("*0x1\r\n").status, Status::error);
  EXPECT_EQ(parse("*1\r\n$\r\n").status, Status::error);
  EXPECT_EQ(parse("*1\r\r\n").status, Status::error);  // CR inside the number
  EXPECT_EQ(parse("*1\n").status, Status::error);      // too short, no CR
  EXPECT_EQ(parse("*12\n").status, Status::error);     // no CR before LF
}

TEST(TcpCommandParser, data_may_hold_cr_but_not_lf) {
  const auto p = parse("*1\r\n$3\r\na\rb\r\n");
  ASSERT_EQ(p.status, Status::done);
  EXPECT_EQ(p.args, std::vector<std::string>{"a\rb"});
  EXPECT_EQ(parse("*1\r\n$3\r\na\nb\r\n").status, Status::error);
  EXPECT_EQ(parse("*1\r\n$3\r\nsub\n").status, Status::error);    // LF where CR belongs
  EXPECT_EQ(parse("*1\r\n$3\r\nsub\rx").status, Status::error);   // no LF after the CR
  EXPECT_EQ(parse("*1\r\n$2\r\nsub\r\n").status, Status::error);  // length mismatch
}

TEST(TcpCommandParser, wrong_prefix_fails_on_the_first_byte) {
  auto p = parse("GET /sub HTTP/1.1\r\n");
  EXPECT_EQ(p.status, Status::error);
  EXPECT_EQ(p.used, 1u);
  p = parse("*1\r\n*3\r\n");
  EXPECT_EQ(p.status, Status::error);
  EXPECT_EQ(p.used, 5u);
  EXPECT_EQ(parse("h").status, Status::error);
}

TEST(TcpCommandParser, missing_cr_in_data_fails_on_that_byte) {
  const auto p = parse("*1\r\n$3\r\nsubX");
  EXPECT_EQ(p.status, Status::error);
  EXPECT_EQ(p.used, 12u);
}

TEST(TcpCommandParser, incomplete_command_needs_more) {
  const std::string cmd = "*3\r\n$3\r\nsub\r\n$1\r\nk\r\n$2\r\n30\r\n";
  for (size_t n = 0; n < cmd.size(); ++n) {
    const auto p = parse(cmd.substr(0, n));
    EXPECT_EQ(p.status, Status::need_more) << n;
    EXPECT_EQ(p.used, n);
  }
}

// W13: bytes after the command are left to the caller (pipelined heartbeats).
TEST(TcpCommandParser, leftover_bytes_are_not_used) {
  const std::string cmd = "*3\r\n$3\r\nsub\r\n$1\r\nk\r\n$2\r\n30\r\n";
  const std::string bytes = cmd + "hh";
  const auto p = parse(bytes);
  ASSERT_EQ(p.status, Status::done);
  EXPECT_EQ(p.used, cmd.size());
  EXPECT_EQ(bytes.substr(p.used), "hh");

  // After done, nothing more is consumed until reset; reset parses a new command.
  CommandParser parser;
  size_t used = 0;
  ASSERT_EQ(parser.feed(bytes, used), Status::done);
  EXPECT_EQ(parser.feed("hh", used), Status::done);
  EXPECT_EQ(used, 0u);
  parser.reset();
  EXPECT_TRUE(parser.args().empty());
  ASSERT_EQ(parser.feed(cmd + cmd, used), Status::done);
  EXPECT_EQ(used, cmd.size());
  EXPECT_EQ(parser.args().size(), 3u);
}

TEST(TcpCommandParser, error_is_sticky) {
  CommandParser parser;
  size_t used = 0;
  ASSERT_EQ(parser.feed("*0\r\n", used), Status::error);
  EXPECT_EQ(parser.feed("*1\r\n", used), Status::error);
  EXPECT_EQ(used, 0u);
}

TEST(TcpCommandParser, byte_exact_example_of_section_1_8) {
  const std::string cmd =
      "*5\r\n$3\r\nsub\r\n$21\r\n1001_android-abc@user\r\n$2\r\n30\r\n$0\r\n\r\n$1\r\n1\r\n";
  ASSERT_EQ(cmd.size(), 62u);
  const auto p = parse(cmd + "h");
  ASSERT_EQ(p.status, Status::done);
  EXPECT_EQ(p.used, 62u);
  const auto sub = parse_sub(p.args);
  ASSERT_TRUE(sub);
  EXPECT_EQ(sub->key, "1001_android-abc@user");
  EXPECT_EQ(sub->heartbeat, 30);
  EXPECT_EQ(sub->token, "");
  EXPECT_EQ(sub->version, "1");
}

TEST(TcpCommandParser, resume_command_with_six_elements) {
  const std::string cmd =
      "*6\r\n$3\r\nsub\r\n$1\r\nk\r\n$2\r\n60\r\n$2\r\nt1\r\n$1\r\n1\r\n$"
      "16\r\n1430000000000001\r\n";
  const auto p = parse(cmd);
  ASSERT_EQ(p.status, Status::done);
  const auto sub = parse_sub(p.args);
  ASSERT_TRUE(sub);
  EXPECT_EQ(sub->token, "t1");
  EXPECT_EQ(sub->version, "1");
  EXPECT_EQ(sub->resume_mid, 1430000000000001);
}

// ---------------------------------------------------------------------------------------------
// W2: limits fail as soon as the bytes seen prove them.

TEST(TcpCommandParser, over_long_line_fails_without_waiting_for_lf) {
  // A count line of exactly 1024 bytes (CR LF included) is fine.
  const std::string ok = "*" + std::string(1020, '0') + "1\r\n";
  ASSERT_EQ(ok.size(), 1024u);
  EXPECT_EQ(parse(ok).status, Status::need_more);
  // 1023 bytes without LF may still end well; the 1024th byte that is not LF cannot.
  const std::string prefix = "*" + std::string(1022, '0');
  EXPECT_EQ(parse(prefix).status, Status::need_more);
  const auto p = parse(prefix + "0");
  EXPECT_EQ(p.status, Status::error);
  EXPECT_EQ(p.used, 1024u);
  // The rest of a stream is not read.
  EXPECT_EQ(parse(prefix + std::string(100000, '0')).used, 1024u);
}

TEST(TcpCommandParser, over_long_argument_fails_on_its_length_line) {
  EXPECT_EQ(parse("*1\r\n$512\r\n").status, Status::need_more);
  auto p = parse("*1\r\n$513\r\n");
  EXPECT_EQ(p.status, Status::error);
  EXPECT_EQ(p.used, 10u);
  EXPECT_EQ(parse("*1\r\n$99999999999999999999\r\n").status, Status::error);

  const std::string big(512, 'x');
  p = parse("*1\r\n$512\r\n" + big + "\r\n");
  ASSERT_EQ(p.status, Status::done);
  EXPECT_EQ(p.args[0], big);

  CommandLimits small;
  small.max_arg_bytes = 3;
  EXPECT_EQ(parse("*1\r\n$3\r\nsub\r\n", small).status, Status::done);
  EXPECT_EQ(parse("*1\r\n$4\r\n", small).status, Status::error);
  // A data line longer than a line may be.
  CommandLimits short_lines;
  short_lines.max_line_bytes = 8;
  EXPECT_EQ(parse("*1\r\n$6\r\n", short_lines).status, Status::need_more);
  EXPECT_EQ(parse("*1\r\n$7\r\n", short_lines).status, Status::error);
}

TEST(TcpCommandParser, over_long_command_fails_before_its_data_arrives) {
  const std::string big(512, 'x');
  const std::string arg = "$512\r\n" + big + "\r\n";  // 520 bytes
  // 4 + 9 + 3 * 520 = 1573 bytes, then a 4th big argument would end at 2093 > 2048.
  const std::string head = "*6\r\n$3\r\nsub\r\n" + arg + arg + arg;
  EXPECT_EQ(parse(head).status, Status::need_more);
  const auto p = parse(head + "$512\r\n");
  EXPECT_EQ(p.status, Status::error);
  EXPECT_EQ(p.used, head.size() + 6);
  // Even as the last argument it does not fit: 1573 + 520 = 2093 > 2048...
  EXPECT_EQ(parse("*5\r\n$3\r\nsub\r\n" + arg + arg + arg + "$512\r\n").status, Status::error);
  // ...but 2048 exactly is accepted: 4 + 9 + 3 * 520 + 6 + 467 + 2 = 2048.
  const std::string last(467, 'y');
  const std::string exact = "*5\r\n$3\r\nsub\r\n" + arg + arg + arg + "$467\r\n" + last + "\r\n";
  ASSERT_EQ(exact.size(), 2048u);
  EXPECT_EQ(parse(exact).status, Status::done);

  CommandLimits tiny;
  tiny.max_command_bytes = 40;
  EXPECT_EQ(parse("*6\r\n", tiny).status, Status::need_more);  // 4 + 6 * 6 = 40
  tiny.max_command_bytes = 39;
  EXPECT_EQ(parse("*6\r\n", tiny).status, Status::error);  // cannot fit six elements
  tiny.max_command_bytes = 20;
  // After "*1\r\n", a length line may use at most 20 - 4 - 2 = 14 bytes.
  EXPECT_EQ(parse("*1\r\n$000000000000", tiny).status, Status::need_more);
  EXPECT_EQ(parse("*1\r\n$0000000000000", tiny).status, Status::error);
}

// ---------------------------------------------------------------------------------------------
// parse_sub: §1.3 and W3.

std::optional<SubRequest> sub(std::vector<std::string> args) {
  return parse_sub(args);
}

TEST(TcpSub, heartbeat_range) {
  EXPECT_TRUE(sub({"sub", "k", "30"}));
  EXPECT_TRUE(sub({"sub", "k", "030"}));
  EXPECT_FALSE(sub({"sub", "k", "29"}));
  EXPECT_FALSE(sub({"sub", "k", "-30"}));
  EXPECT_EQ(sub({"sub", "k", "3600"})->heartbeat, 3600);
  EXPECT_FALSE(sub({"sub", "k", "3601"}));        // W3
  EXPECT_FALSE(sub({"sub", "k", "2147483647"}));  // W3
  EXPECT_FALSE(sub({"sub", "k", "99999999999999999999999"}));
  EXPECT_FALSE(sub({"sub", "k", " 30"}));
  EXPECT_FALSE(sub({"sub", "k", ""}));
  SubLimits limits;
  limits.min_heartbeat = 5;
  limits.max_heartbeat = 10;
  EXPECT_TRUE(parse_sub({"sub", "k", "5"}, limits));
  EXPECT_FALSE(parse_sub({"sub", "k", "11"}, limits));
}

TEST(TcpSub, positional_token_and_version) {
  // Wiki's *4 example: the 4th element is the token, so the client gets the old format.
  auto s = sub({"sub", "Terry-Mao", "30", "1.0.4"});
  ASSERT_TRUE(s);
  EXPECT_EQ(s->token, "1.0.4");
  EXPECT_EQ(s->version, "");
  s = sub({"sub", "Terry-Mao", "30", "", "1.0.4"});
  ASSERT_TRUE(s);
  EXPECT_EQ(s->token, "");
  EXPECT_EQ(s->version, "1.0.4");
}

TEST(TcpSub, command_and_sizes) {
  EXPECT_FALSE(sub({}));
  EXPECT_FALSE(sub({"sub"}));
  EXPECT_FALSE(sub({"sub", "k"}));
  EXPECT_FALSE(sub({"Sub", "k", "30"}));
  EXPECT_FALSE(sub({"sub ", "k", "30"}));
  EXPECT_FALSE(sub({"sub", "", "30"}));
  // Keys: limits::kMaxKeyBytes (255), the same in every daemon.
  EXPECT_TRUE(sub({"sub", std::string(255, 'k'), "30"}));
  EXPECT_FALSE(sub({"sub", std::string(256, 'k'), "30"}));
  EXPECT_TRUE(sub({"sub", "k", "30", std::string(256, 't')}));
  EXPECT_FALSE(sub({"sub", "k", "30", std::string(257, 't')}));
  EXPECT_TRUE(sub({"sub", "k", "30", "", std::string(32, 'v')}));
  EXPECT_FALSE(sub({"sub", "k", "30", "", std::string(33, 'v')}));
  EXPECT_FALSE(sub({"sub", "k", "30", "", "1", "1", "extra"}));
}

TEST(TcpSub, resume_mid) {
  EXPECT_EQ(sub({"sub", "k", "30", "", "1", "1430000000000001"})->resume_mid, 1430000000000001);
  EXPECT_EQ(sub({"sub", "k", "30", "", "1", "0"})->resume_mid, 0);
  EXPECT_EQ(sub({"sub", "k", "30", "", "1", "+7"})->resume_mid, 7);
  EXPECT_EQ(sub({"sub", "k", "30", "", "1", "9223372036854775807"})->resume_mid, INT64_MAX);
  EXPECT_FALSE(sub({"sub", "k", "30", "", "1", "9223372036854775808"}));
  EXPECT_FALSE(sub({"sub", "k", "30", "", "1", "-1"}));
  EXPECT_FALSE(sub({"sub", "k", "30", "", "1", "abc"}));
  EXPECT_FALSE(sub({"sub", "k", "30", "", "1", ""}));
  EXPECT_FALSE(sub({"sub", "k", "30", "", "1", "1.5"}));
  EXPECT_FALSE(sub({"sub", "k", "30", "", "1"})->resume_mid);
}

// ---------------------------------------------------------------------------------------------
// §1W: the WebSocket query (already URL-decoded by the caller).

using Query = std::vector<std::pair<std::string, std::string>>;

TEST(CometSubQuery, parameters) {
  auto s = parse_sub_query(
      {{"key", "1001_chrome-38-123@user"}, {"heartbeat", "60"}, {"ver", "1"}, {"token", "t"}});
  ASSERT_TRUE(s);
  EXPECT_EQ(s->key, "1001_chrome-38-123@user");
  EXPECT_EQ(s->heartbeat, 60);
  EXPECT_EQ(s->version, "1");
  EXPECT_EQ(s->token, "t");
  EXPECT_FALSE(s->resume_mid);

  s = parse_sub_query({{"heartbeat", "30"}, {"key", "k"}, {"mid", "1430000000000001"}});
  ASSERT_TRUE(s);
  EXPECT_EQ(s->version, "");
  EXPECT_EQ(s->token, "");
  EXPECT_EQ(s->resume_mid, 1430000000000001);
}

TEST(CometSubQuery, invalid_parameters_are_param_errors) {
  EXPECT_FALSE(parse_sub_query({}));
  EXPECT_FALSE(parse_sub_query({{"heartbeat", "30"}}));
  EXPECT_FALSE(parse_sub_query({{"key", ""}, {"heartbeat", "30"}}));
  EXPECT_FALSE(parse_sub_query({{"key", "k"}}));
  EXPECT_FALSE(parse_sub_query({{"key", "k"}, {"heartbeat", "29"}}));
  EXPECT_FALSE(parse_sub_query({{"key", "k"}, {"heartbeat", "3601"}}));
  EXPECT_FALSE(parse_sub_query({{"key", "k"}, {"heartbeat", "30"}, {"mid", "x"}}));
  EXPECT_FALSE(parse_sub_query({{"key", "k"}, {"heartbeat", "30"}, {"mid", ""}}));
  EXPECT_FALSE(parse_sub_query({{"key", "k"}, {"heartbeat", "30"}, {"mid", "-5"}}));
}

TEST(CometSubQuery, parameter_is_ver_and_first_value_wins) {
  auto s = parse_sub_query({{"key", "k"}, {"heartbeat", "30"}, {"version", "1"}, {"x", "y"}});
  ASSERT_TRUE(s);
  EXPECT_EQ(s->version, "");  // `version` is not the parameter's name
  s = parse_sub_query({{"key", "a"}, {"key", "b"}, {"heartbeat", "30"}, {"heartbeat", "1"}});
  ASSERT_TRUE(s);
  EXPECT_EQ(s->key, "a");
  EXPECT_EQ(s->heartbeat, 30);
}

TEST(CometSubQuery, values_are_taken_as_decoded_by_the_caller) {
  // `k+1` in a URL decodes to "k 1"; `k%2B1` decodes to "k+1". Both are used as given.
  EXPECT_EQ(parse_sub_query({{"key", "k 1"}, {"heartbeat", "30"}})->key, "k 1");
  EXPECT_EQ(parse_sub_query({{"key", "k+1"}, {"heartbeat", "30"}})->key, "k+1");
  EXPECT_EQ(parse_sub_query({{"key", "k"}, {"heartbeat", "+30"}})->heartbeat, 30);
}

// ---------------------------------------------------------------------------------------------
// TV3: message payloads, mid 1430000000000001.

constexpr int64_t kMid = 1430000000000001;

void expect_no_line_breaks(const std::string& payload) {
  EXPECT_EQ(payload.find('\n'), std::string::npos) << payload;
  EXPECT_EQ(payload.find('\r'), std::string::npos) << payload;
}

struct Tv3Row {
  std::string body;
  bool new_format;
  std::string original;  // the Go payload
  size_t len;
};

const Tv3Row kTv3[] = {
    {R"({"a":1})", true, R"({"msg":{"a":1},"mid":1430000000000001,"gid":0})", 46},
    {R"({"a":1})", false, R"({"msg":"{\"a\":1}","mid":1430000000000001,"gid":0})", 50},
    {R"("hi")", true, R"({"msg":"hi","mid":1430000000000001,"gid":0})", 43},
    {R"("hi")", false, R"({"msg":"\"hi\"","mid":1430000000000001,"gid":0})", 47},
    // As pushed: no HTML escaping (spec 1.6 leaves it optional; bodies keep their bytes).
    {R"({"a": "<b>&"})", true, R"({"msg":{"a":"<b>&"},"mid":1430000000000001,"gid":0})", 51},
    {R"({"a": "<b>&"})", false, R"({"msg":"{\"a\": \"<b>&\"}","mid":1430000000000001,"gid":0})",
     58},
    {"{\"text\":\"\xE4\xBD\xA0\xE5\xA5\xBD\"}", true,
     "{\"msg\":{\"text\":\"\xE4\xBD\xA0\xE5\xA5\xBD\"},\"mid\":1430000000000001,\"gid\":0}", 56},
};

std::string encode(const std::string& body, bool new_format) {
  EXPECT_TRUE(is_json(body)) << body;
  return new_format ? encode_new(body, kMid) : encode_old(body, kMid);
}

TEST(CometPayload, tv3_rows) {
  for (const auto& row : kTv3) {
    SCOPED_TRACE(row.body + (row.new_format ? " (new)" : " (old)"));
    const std::string payload = encode(row.body, row.new_format);
    ASSERT_EQ(row.original.size(), row.len);
    EXPECT_EQ(nlohmann::json::parse(payload), nlohmann::json::parse(row.original));
    EXPECT_EQ(payload.size(), row.len);
    EXPECT_EQ(payload, row.original);
    expect_no_line_breaks(payload);
    // Field order is msg, mid, gid.
    EXPECT_EQ(payload.rfind(R"({"msg":)", 0), 0u);
    EXPECT_NE(payload.find(R"(,"mid":1430000000000001,"gid":0})"), std::string::npos);
  }
}

TEST(CometPayload, tv3_invalid_json_is_rejected_before_storing) {
  EXPECT_FALSE(is_json("{bad"));
  EXPECT_FALSE(is_json(""));
  EXPECT_FALSE(is_json("   "));
  EXPECT_FALSE(is_json("{} x"));
  EXPECT_FALSE(is_json("{\"a\":1,}"));
  EXPECT_FALSE(is_json("\"a\nb\""));  // raw LF inside a string
  EXPECT_FALSE(is_json("\"\xFF\""));  // invalid UTF-8
  EXPECT_FALSE(is_json("/* c */ 1"));
}

TEST(TcpFrame, section_1_8_frames) {
  std::string out;
  append_tcp_frame(out, encode_new(R"({"a":1})", kMid));
  EXPECT_EQ(out, "$46\r\n{\"msg\":{\"a\":1},\"mid\":1430000000000001,\"gid\":0}\r\n");
  out.clear();
  append_tcp_frame(out, encode_old(R"({"a":1})", kMid));
  EXPECT_EQ(out, "$50\r\n{\"msg\":\"{\\\"a\\\":1}\",\"mid\":1430000000000001,\"gid\":0}\r\n");
  // Frames append, so several share one write.
  append_tcp_frame(out, "x");
  append_tcp_frame(out, "");
  EXPECT_TRUE(out.ends_with("\r\n$1\r\nx\r\n$0\r\n\r\n"));
}

TEST(CometPayload, new_format_keeps_values_as_written) {
  auto body = [](const std::string& text) {
    std::string payload = encode_new(text, kMid);
    return payload.substr(
        7, payload.size() - 7 - std::string(R"(,"mid":1430000000000001,"gid":0})").size());
  };
  EXPECT_EQ(body(" {\n  \"a b\" : [ 1 , 2.50, 1e2 ],\r\n\t\"c\":\"x \\\" y\"\n}\n"),
            R"({"a b":[1,2.50,1e2],"c":"x \" y"})");
  // Numbers beyond double precision are kept as text, keys in their order, escapes as sent.
  EXPECT_EQ(body("12345678901234567890123"), "12345678901234567890123");
  EXPECT_EQ(body(R"({"z":1,"a":{"y":"\u00e9 <","b":2}})"), R"({"z":1,"a":{"y":"\u00e9 <","b":2}})");
  EXPECT_EQ(body(" \"hi\" "), R"("hi")");
  EXPECT_EQ(body("null"), "null");
  EXPECT_EQ(body(R"("\u2028 \n")"), R"("\u2028 \n")");
}

TEST(CometPayload, deep_nesting_does_not_exhaust_the_stack) {
  const size_t depth = 200000;
  const std::string deep = std::string(depth, '[') + std::string(depth, ']');
  EXPECT_TRUE(is_json(deep));
  EXPECT_EQ(strip_whitespace(deep).size(), deep.size());
  EXPECT_FALSE(is_json(std::string(depth, '[')));
}

TEST(CometPayload, no_line_breaks_in_payloads) {
  // A JSON "\n" escape inside a string, and a pretty-printed multi-line body.
  const std::string escaped = R"({"t":"a\nb\r"})";
  const std::string pretty = "{\n  \"a\": 1,\r\n  \"b\": [\n    \"x y\",\n    2\n  ]\n}\n";
  for (const std::string& body : {escaped, pretty}) {
    SCOPED_TRACE(body);
    ASSERT_TRUE(is_json(body));
    const std::string fresh = encode_new(body, kMid);
    const std::string old = encode_old(body, kMid);
    expect_no_line_breaks(fresh);
    expect_no_line_breaks(old);
    EXPECT_EQ(nlohmann::json::parse(fresh)["msg"], nlohmann::json::parse(body));
    EXPECT_EQ(nlohmann::json::parse(old)["msg"], body);  // the raw text, whitespace included
    EXPECT_EQ(nlohmann::json::parse(fresh)["mid"], kMid);
    EXPECT_EQ(nlohmann::json::parse(old)["gid"], 0);
  }
  EXPECT_EQ(strip_whitespace(pretty), R"({"a":1,"b":["x y",2]})");

  // encode_new keeps the guarantee even when handed text that was not compacted.
  const std::string raw = encode_new("{\n\"a\": \"x\ny\"\n}", kMid);
  expect_no_line_breaks(raw);
  EXPECT_EQ(nlohmann::json::parse(raw)["msg"]["a"], "x\ny");
  expect_no_line_breaks(encode_new("\"a\\\nb\\\r\"", kMid));  // a backslash before CR or LF
  // The old format escapes any byte, valid JSON or not, including invalid UTF-8.
  const std::string odd = encode_old("a\nb\r\x01\xFF\"\\", kMid);
  expect_no_line_breaks(odd);
  EXPECT_EQ(nlohmann::json::parse(odd)["msg"], "a\nb\r\x01\xEF\xBF\xBD\"\\");
}

}  // namespace
}  // namespace appmsg::comet
