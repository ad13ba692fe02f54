// CorsPolicy: which origins pass, preflight answers, and the headers added to answers.
#include "common/cors.hpp"

#include <gtest/gtest.h>

namespace appmsg {
namespace {

HttpRequest request(std::string method, HttpFields headers) {
  HttpRequest r;
  r.method = std::move(method);
  r.headers = std::move(headers);
  return r;
}

std::string header(const HttpResponse& r, const std::string& name) {
  for (auto& [k, v] : r.headers)
    if (k == name) return v;
  return "";
}

TEST(CorsPolicy, OnlyListedOriginsPassAndStarPassesAny) {
  CorsPolicy off;
  EXPECT_FALSE(off.enabled());
  EXPECT_FALSE(off.allows("http://a.test"));
  CorsPolicy listed({"http://a.test", "https://b.test:8443"});
  EXPECT_TRUE(listed.allows("http://a.test"));
  EXPECT_TRUE(listed.allows("https://b.test:8443"));
  EXPECT_FALSE(listed.allows("http://a.test:81"));
  EXPECT_FALSE(listed.allows("https://a.test"));
  EXPECT_FALSE(listed.allows(""));
  CorsPolicy any({"*"});
  EXPECT_TRUE(any.allows("http://anything.test"));
  EXPECT_FALSE(any.allows("null")) << "sandboxed and file pages get nothing";
}

TEST(CorsPolicy, PreflightOfAnAllowedOriginIsAnswered) {
  CorsPolicy p({"http://a.test"});
  auto pre = p.preflight(request("OPTIONS", {{"Origin", "http://a.test"},
                                             {"Access-Control-Request-Method", "POST"},
                                             {"Access-Control-Request-Headers", "content-type"}}));
  ASSERT_TRUE(pre);
  EXPECT_EQ(pre->status, 204);
  EXPECT_EQ(header(*pre, "Access-Control-Allow-Origin"), "http://a.test");
  EXPECT_EQ(header(*pre, "Access-Control-Allow-Methods"), "GET, POST, OPTIONS");
  EXPECT_EQ(header(*pre, "Access-Control-Allow-Headers"), "content-type");
  EXPECT_EQ(header(*pre, "Access-Control-Max-Age"), "600");
  // Another origin, a plain OPTIONS, or a GET: not a preflight to answer.
  EXPECT_FALSE(p.preflight(request(
      "OPTIONS", {{"Origin", "http://evil.test"}, {"Access-Control-Request-Method", "POST"}})));
  EXPECT_FALSE(p.preflight(request("OPTIONS", {{"Origin", "http://a.test"}})));
  EXPECT_FALSE(p.preflight(
      request("GET", {{"Origin", "http://a.test"}, {"Access-Control-Request-Method", "GET"}})));
}

TEST(CorsPolicy, AnswersNameAnAllowedOriginAndAlwaysVary) {
  CorsPolicy p({"http://a.test"});
  HttpResponse allowed;
  p.decorate(request("GET", {{"origin", "http://a.test"}}), allowed);
  EXPECT_EQ(header(allowed, "Access-Control-Allow-Origin"), "http://a.test");
  EXPECT_EQ(header(allowed, "Vary"), "Origin");
  HttpResponse other;
  p.decorate(request("GET", {{"Origin", "http://evil.test"}}), other);
  EXPECT_EQ(header(other, "Access-Control-Allow-Origin"), "");
  EXPECT_EQ(header(other, "Vary"), "Origin") << "caches keep answers apart per origin";
  HttpResponse none;
  p.decorate(request("GET", {}), none);
  EXPECT_EQ(header(none, "Access-Control-Allow-Origin"), "");
  HttpResponse off;
  CorsPolicy().decorate(request("GET", {{"Origin", "http://a.test"}}), off);
  EXPECT_TRUE(off.headers.empty()) << "off: the original's answers, unchanged";
}

}  // namespace
}  // namespace appmsg
