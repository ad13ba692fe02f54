// Web's parsers: comet node data (spec/web-core.md 12.4), the admin expire and form checks,
// and web.conf (10.2, W-23/W-25 style validation, the unsupported router).
#include <gtest/gtest.h>

#include "common/config.hpp"
#include "common/http.hpp"
#include "web/admin_api.hpp"
#include "web/comet_nodes.hpp"
#include "web/web_config.hpp"

namespace appmsg::web {
namespace {

using Strings = std::vector<std::string>;

TEST(CometData, original_format_vectors) {
  auto a = parse_comet_data("tcp://a:1,ws://b:2,rpc://c:3");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->tcp, Strings{"a:1"});
  EXPECT_EQ(a->ws, Strings{"b:2"});
  EXPECT_EQ(a->rpc, Strings{"c:3"});
  auto b = parse_comet_data("ws://b:2,ws://b2:2,rpc://c:3");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->ws, (Strings{"b:2", "b2:2"}));
  EXPECT_TRUE(b->tcp.empty());
  // An unknown scheme is kept out of every list (the original filed it under protocol 0).
  auto c = parse_comet_data("wss://x:1,rpc://c:3");
  ASSERT_TRUE(c);
  EXPECT_TRUE(c->ws.empty() && c->tcp.empty());
  EXPECT_FALSE(parse_comet_data("ws://b:2"));  // no rpc
  EXPECT_FALSE(parse_comet_data("ws:/b:2,rpc://c:3"));
  EXPECT_FALSE(parse_comet_data(""));
  EXPECT_FALSE(parse_comet_data("rpc://c:3://d"));
}

TEST(CometData, our_json_format) {
  auto a = parse_comet_data(R"({"tcp":["a:1"],"ws":["b:2","b:3"],"rpc":["c:3"],"weight":1})");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->tcp, Strings{"a:1"});
  EXPECT_EQ(a->ws, (Strings{"b:2", "b:3"}));
  EXPECT_EQ(a->rpc, Strings{"c:3"});
  EXPECT_FALSE(parse_comet_data(R"({"tcp":["a:1"]})"));           // no rpc
  EXPECT_FALSE(parse_comet_data(R"({"rpc":"c:3"})"));             // not a list
  EXPECT_FALSE(parse_comet_data(R"({"rpc":["c:3"],"ws":[1]})"));  // not strings
  EXPECT_FALSE(parse_comet_data(R"({"rpc":["c:3"])"));            // truncated
}

TEST(AdminParams, expire_is_an_unsigned_32_bit_decimal) {
  int64_t v = -1;
  EXPECT_TRUE(parse_expire("0", v));
  EXPECT_EQ(v, 0);
  EXPECT_TRUE(parse_expire("4294967295", v));
  EXPECT_EQ(v, 4294967295LL);
  EXPECT_TRUE(parse_expire("007", v));
  EXPECT_EQ(v, 7);
  for (const char* bad : {"", "-1", "+5", "4294967296", "1.5", " 1", "1 ", "0x10", "99999999999"})
    EXPECT_FALSE(parse_expire(bad, v)) << bad;
}

TEST(AdminParams, form_escapes) {
  EXPECT_TRUE(valid_form_escapes("key=u1%40user"));
  EXPECT_TRUE(valid_form_escapes("key=a+b&x=%2F"));
  EXPECT_TRUE(valid_form_escapes(""));
  EXPECT_FALSE(valid_form_escapes("key=%zz"));
  EXPECT_FALSE(valid_form_escapes("key=%4"));
  EXPECT_FALSE(valid_form_escapes("key=%"));
}

TEST(GoInt, parses_like_strconv) {
  EXPECT_EQ(parse_go_int("1"), 1);
  EXPECT_EQ(parse_go_int("+1"), 1);
  EXPECT_EQ(parse_go_int("01"), 1);
  EXPECT_EQ(parse_go_int("-1"), -1);
  EXPECT_EQ(parse_go_int("9223372036854775807"), INT64_MAX);
  EXPECT_EQ(parse_go_int("-9223372036854775808"), INT64_MIN);
  for (const char* bad : {"", "ws", "1.0", " 1", "9223372036854775808", "+", "1_0"})
    EXPECT_FALSE(parse_go_int(bad)) << bad;
}

TEST(WebConfig, defaults_and_keys) {
  auto c = WebConfig::load(Config::parse(""));
  EXPECT_EQ(c.http_bind, Strings{"localhost:80"});
  EXPECT_EQ(c.admin_bind, Strings{"localhost:81"});
  EXPECT_EQ(c.stat_bind, Strings{"localhost:8190"});
  EXPECT_EQ(c.rpc_timeout, std::chrono::milliseconds(3000));
  EXPECT_EQ(c.max_body_bytes, 65535u);  // limits::kMaxBodyBytes
  auto d = WebConfig::load(Config::parse(
      "[base]\nhttp.bind a:1,b:2\npprof.bind c:3\n[rpc]\ntimeout 500ms\nsecret s\n"
      "[admin]\nsecret t\nbody.max 1KB\nbatch.max 10\n[comet]\nmigrate.grace 1s\n[msg]\npage 5\n"));
  EXPECT_EQ(d.http_bind, (Strings{"a:1", "b:2"}));
  EXPECT_EQ(d.stat_bind, Strings{"c:3"});  // the original's pprof.bind serves the stats
  EXPECT_EQ(d.rpc_timeout, std::chrono::milliseconds(500));
  EXPECT_EQ(d.rpc_secret, "s");
  EXPECT_EQ(d.admin_secret, "t");
  EXPECT_EQ(d.max_body_bytes, 1024u);
  EXPECT_EQ(d.max_batch_keys, 10u);
  EXPECT_EQ(d.migrate_grace, std::chrono::milliseconds(1000));
  EXPECT_EQ(d.msg_page, 5);
}

TEST(WebConfig, refuses_the_cn_router_and_bad_values) {
  EXPECT_THROW(WebConfig::load(Config::parse("[base]\nrouter CN\n")), ConfigError);
  EXPECT_THROW(WebConfig::load(Config::parse("[base]\nrouter XX\n")), ConfigError);
  EXPECT_NO_THROW(WebConfig::load(Config::parse("[base]\nrouter \n")));
  EXPECT_THROW(WebConfig::load(Config::parse("[rpc]\ntimeout 0s\n")), ConfigError);
  EXPECT_THROW(WebConfig::load(Config::parse("[rpc]\ntimeout 30\n")), ConfigError);  // no unit
  EXPECT_THROW(WebConfig::load(Config::parse("[admin]\nbatch.max 0\n")), ConfigError);
  EXPECT_THROW(WebConfig::load(Config::parse("[msg]\npage -1\n")), ConfigError);
}

TEST(WebConfig, reports_the_keys_it_ignores) {
  auto c = Config::parse(
      "[base]\nuser nobody\nmaxproc 4\napp.bind :8093\n[res]\nqqwry.path /x\n[token]\nexpire "
      "3600\n[redis.source]\nnode1:1 a:1\n");
  auto w = WebConfig::ignored_keys(c);
  EXPECT_EQ(w.size(), 3u);  // app.bind, [token] and [redis.source] are the /app API's
  EXPECT_TRUE(WebConfig::ignored_keys(Config::parse("[base]\nhttp.bind a:1\n")).empty());
}

}  // namespace
}  // namespace appmsg::web
