// Tests for the plain HTTP helpers (spec/web-core.md section 2): query and form decoding, URL
// encoding, JSONP callback validation and the JSON / JSONP answer shapes, header and parameter
// lookup. Pure functions: no sockets here.
#include "common/http.hpp"

#include <gtest/gtest.h>

#include <string>

#include "common/http_server.hpp"

namespace appmsg {
namespace {

using nlohmann::json;

HttpFields fields(std::initializer_list<std::pair<const char*, const char*>> list) {
  HttpFields out;
  for (auto& [k, v] : list) out.emplace_back(k, v);
  return out;
}

HttpRequest request_with_query(std::string_view query) {
  HttpRequest req;
  req.method = "GET";
  req.query = parse_query(query);
  return req;
}

// ---- parse_query ----

TEST(ParseQuery, RepeatedKeysKeepTheirOrder) {
  EXPECT_EQ(parse_query("a=1&b=2&a=3"), fields({{"a", "1"}, {"b", "2"}, {"a", "3"}}));
}

TEST(ParseQuery, FirstRepeatedValueWinsThroughParam) {
  auto req = request_with_query("key=first&key=second");
  ASSERT_TRUE(req.param("key"));
  EXPECT_EQ(*req.param("key"), "first");
}

TEST(ParseQuery, PlusIsASpace) {
  EXPECT_EQ(parse_query("msg=hello+world&k+1=v"), fields({{"msg", "hello world"}, {"k 1", "v"}}));
}

TEST(ParseQuery, PercentEscapesAreDecoded) {
  EXPECT_EQ(parse_query("a=%41%62%2b%26%3D&%6B=x"), fields({{"a", "Ab+&="}, {"k", "x"}}));
}

TEST(ParseQuery, EncodedPlusStaysAPlus) {
  EXPECT_EQ(parse_query("a=1%2B1"), fields({{"a", "1+1"}}));
}

TEST(ParseQuery, Utf8EscapesAreDecodedBytewise) {
  EXPECT_EQ(parse_query("n=%E4%BD%A0"), fields({{"n", "\xE4\xBD\xA0"}}));
}

TEST(ParseQuery, MalformedEscapesAreKeptAsIs) {
  EXPECT_EQ(parse_query("a=%zz&b=%4&c=%&d=100%"),
            fields({{"a", "%zz"}, {"b", "%4"}, {"c", "%"}, {"d", "100%"}}));
}

TEST(ParseQuery, EmptyValues) {
  EXPECT_EQ(parse_query("a=&b=2"), fields({{"a", ""}, {"b", "2"}}));
}

TEST(ParseQuery, KeyWithoutEqualsHasAnEmptyValue) {
  EXPECT_EQ(parse_query("flag&b=2"), fields({{"flag", ""}, {"b", "2"}}));
}

TEST(ParseQuery, EmptyPartsAreSkipped) {
  EXPECT_EQ(parse_query("&&a=1&&"), fields({{"a", "1"}}));
  EXPECT_TRUE(parse_query("").empty());
}

TEST(ParseQuery, OnlyTheFirstEqualsSplits) {
  EXPECT_EQ(parse_query("a=b=c"), fields({{"a", "b=c"}}));
}

TEST(ParseQuery, MissingParameterEqualsAnEmptyOne) {
  auto req = request_with_query("a=");
  EXPECT_FALSE(req.param("missing"));
  EXPECT_EQ(req.param_or("missing"), "");
  EXPECT_EQ(req.param_or("missing", "def"), "def");
  ASSERT_TRUE(req.param("a"));
  EXPECT_EQ(*req.param("a"), "");
}

// ---- url_decode / url_encode ----

TEST(UrlCoding, EncodeEscapesReservedBytes) {
  EXPECT_EQ(url_encode("a b&c=d/é"), "a%20b%26c%3Dd%2F%C3%A9");
  EXPECT_EQ(url_encode("AZaz09-_.~"), "AZaz09-_.~");
}

TEST(UrlCoding, RoundTripOfEveryByte) {
  std::string all;
  for (int c = 0; c < 256; ++c) all += static_cast<char>(c);
  EXPECT_EQ(url_decode(url_encode(all)), all);
}

TEST(UrlCoding, RoundTripOfTextWithPlusAndPercent) {
  for (std::string s : {"1+1=2", "100% sure", "%41", "a&b", "", "GoPushCli.callback_k3x9"}) {
    EXPECT_EQ(url_decode(url_encode(s)), s) << s;
  }
}

TEST(UrlCoding, DecodeAcceptsLowerAndUpperHex) {
  EXPECT_EQ(url_decode("%2f%2F"), "//");
}

// ---- valid_jsonp_callback ----

TEST(JsonpCallback, AcceptsIdentifiersJoinedByDots) {
  for (const char* name : {"cb", "GoPushCli.callback_k3x9", "$x", "_a.b_1", "a1.$b.c"}) {
    EXPECT_TRUE(valid_jsonp_callback(name)) << name;
  }
}

TEST(JsonpCallback, RejectsMalformedNames) {
  for (const char* name :
       {"", "a..b", ".a", "a.", "1a", "a.1b", "alert(1)", "a b", "a;b", "a\nb", "a-b", "."}) {
    EXPECT_FALSE(valid_jsonp_callback(name)) << name;
  }
}

TEST(JsonpCallback, AcceptsUpTo128Characters) {
  EXPECT_TRUE(valid_jsonp_callback(std::string(128, 'a')));
  EXPECT_FALSE(valid_jsonp_callback(std::string(129, 'a')));
}

// ---- json_response ----

TEST(JsonResponse, PlainJsonWithoutARequest) {
  auto r = json_response(json{{"ret", 0}});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "application/json;charset=utf-8");
  EXPECT_EQ(r.body, R"({"ret":0})");
}

TEST(JsonResponse, PlainJsonWhenTheRequestHasNoCallback) {
  auto req = request_with_query("key=a");
  auto r = json_response(json{{"data", {{"server", "1.2.3.4:80"}}}, {"ret", 0}}, &req);
  EXPECT_EQ(r.content_type, "application/json;charset=utf-8");
  EXPECT_EQ(r.body, R"({"data":{"server":"1.2.3.4:80"},"ret":0})");
}

TEST(JsonResponse, EmptyCallbackMeansPlainJson) {
  auto req = request_with_query("callback=&cb=");
  auto r = json_response(json{{"ret", 0}}, &req);
  EXPECT_EQ(r.content_type, "application/json;charset=utf-8");
  EXPECT_EQ(r.body, R"({"ret":0})");
}

TEST(JsonResponse, CallbackParamWrapsTheJsonExactly) {
  auto req = request_with_query("key=a&callback=GoPushCli.callback_k3x9");
  auto r = json_response(json{{"msg", "ok"}, {"ret", 0}}, &req);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "application/javascript;charset=utf-8");
  EXPECT_EQ(r.body, R"(GoPushCli.callback_k3x9({"msg":"ok","ret":0}))");
  EXPECT_EQ(r.body.find(';'), std::string::npos);
  EXPECT_EQ(r.body.find('\n'), std::string::npos);
}

TEST(JsonResponse, CbParamWrapsTheJsonExactly) {
  auto req = request_with_query("cb=CB");
  auto r = json_response(json{{"ret", 65534}}, &req);
  EXPECT_EQ(r.content_type, "application/javascript;charset=utf-8");
  EXPECT_EQ(r.body, R"(CB({"ret":65534}))");
}

TEST(JsonResponse, CallbackFromTheFormIsUsedToo) {
  HttpRequest req;
  req.form = parse_query("callback=fromForm");
  auto r = json_response(json{{"ret", 0}}, &req);
  EXPECT_EQ(r.body, R"(fromForm({"ret":0}))");
}

TEST(JsonResponse, InvalidCallbackGivesPlainParamError) {
  for (const char* query : {"callback=alert(1)", "cb=a..b", "callback=1a", "cb=a%20b"}) {
    auto req = request_with_query(query);
    auto r = json_response(json{{"data", {{"x", 1}}}, {"ret", 0}}, &req);
    EXPECT_EQ(r.status, 200) << query;
    EXPECT_EQ(r.content_type, "application/json;charset=utf-8") << query;
    EXPECT_EQ(r.body, R"({"ret":65534})") << query;
  }
}

TEST(JsonResponse, InvalidUtf8IsReplacedNotThrown) {
  auto r = json_response(json{{"s", std::string("a\xFF")}});
  EXPECT_EQ(r.body, "{\"s\":\"a\xEF\xBF\xBD\"}");
}

TEST(TextResponse, SetsStatusAndPlainText) {
  auto r = text_response(405, "Method Not Allowed\n");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.content_type, "text/plain; charset=utf-8");
  EXPECT_EQ(r.body, "Method Not Allowed\n");
}

// ---- HttpRequest lookups ----

TEST(HttpRequestLookup, HeaderIsCaseInsensitive) {
  HttpRequest req;
  req.headers = fields({{"Content-Type", "application/json"}, {"X-Appmsg-Secret", "s"}});
  ASSERT_TRUE(req.header("content-type"));
  EXPECT_EQ(*req.header("content-type"), "application/json");
  EXPECT_EQ(*req.header("CONTENT-TYPE"), "application/json");
  EXPECT_EQ(*req.header("x-appmsg-secret"), "s");
  EXPECT_FALSE(req.header("Content-Typ"));
  EXPECT_FALSE(req.header("Content-Type2"));
}

TEST(HttpRequestLookup, ParamPrefersQueryOverForm) {
  HttpRequest req;
  req.query = parse_query("k=fromQuery");
  req.form = parse_query("k=fromForm&only=form");
  EXPECT_EQ(req.param_or("k"), "fromQuery");
  EXPECT_EQ(req.param_or("only"), "form");
}

TEST(HttpRequestLookup, EmptyQueryValueStillBeatsTheForm) {
  // A present query parameter wins even when empty.
  HttpRequest req;
  req.query = parse_query("k=");
  req.form = parse_query("k=fromForm");
  ASSERT_TRUE(req.param("k"));
  EXPECT_EQ(*req.param("k"), "");
}

}  // namespace
}  // namespace appmsg

namespace appmsg {
namespace {

TEST(AdvertisedAddress, UsesTheAdvertiseHostWhenSetElseTheBindHost) {
  EXPECT_EQ(advertised_address("0.0.0.0:0", 6969, "10.0.0.5"), "10.0.0.5:6969");
  EXPECT_EQ(advertised_address("127.0.0.1:0", 41000, ""), "127.0.0.1:41000");
  EXPECT_EQ(advertised_address(":8070", 8070, ""), "0.0.0.0:8070");  // wildcard: set advertise
}

}  // namespace
}  // namespace appmsg
