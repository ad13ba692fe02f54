// [http] keys (common/http_limits): defaults, values, and the errors for bad ones.
#include "common/http_limits.hpp"

#include <gtest/gtest.h>

#include "common/http_server.hpp"

namespace appmsg {
namespace {

using namespace std::chrono_literals;

TEST(HttpLimits, defaults_and_keys_reach_the_server_options) {
  auto d = HttpLimits::load(Config::parse(""));
  EXPECT_EQ(d.read_timeout, 30s);
  EXPECT_EQ(d.idle_timeout, 60s);
  EXPECT_EQ(d.max_connections, 10000u);
  auto l = HttpLimits::load(
      Config::parse("[http]\nread.timeout 2s\nidle.timeout 500ms\nmax.connections 64\n"));
  HttpServerOptions o(l);
  EXPECT_EQ(o.read_timeout, 2s);
  EXPECT_EQ(o.idle_timeout, 500ms);
  EXPECT_EQ(o.max_connections, 64u);
  EXPECT_EQ(o.max_body_bytes, HttpServerOptions().max_body_bytes);  // the rest as before
}

TEST(HttpLimits, bad_values_name_the_key) {
  for (const char* text : {"[http]\nread.timeout 0\n", "[http]\nidle.timeout 5\n",
                           "[http]\nmax.connections 0\n", "[http]\nmax.connections x\n"}) {
    try {
      HttpLimits::load(Config::parse(text, "web.conf"));
      ADD_FAILURE() << "accepted: " << text;
    } catch (const ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find("web.conf:2"), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace appmsg
