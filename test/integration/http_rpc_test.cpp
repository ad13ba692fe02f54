// HttpServer, HttpRouter, HttpClient and the RPC layer over real loopback sockets: routing,
// keep-alive, limits, malformed input, handler failures, deadlines, graceful stop, and RPC
// results, errors and concurrency. No external servers: every listener binds 127.0.0.1:0.
//
// Servers, clients and their coroutines all run on one IoThread; servers are created and
// destroyed on that thread (their acceptors are not thread-safe).
#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/asio/write.hpp>
#include <boost/system/system_error.hpp>
#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include "common/http.hpp"
#include "common/http_client.hpp"
#include "common/http_server.hpp"
#include "common/rpc.hpp"
#include "support/async.hpp"
#include "support/servers.hpp"

namespace appmsg {
namespace {

using namespace std::chrono_literals;
namespace asio = boost::asio;
using nlohmann::json;
using Clock = std::chrono::steady_clock;
using tcp = asio::ip::tcp;

// Sleeps on a timer: never blocks the io thread.
asio::awaitable<void> async_sleep(std::chrono::milliseconds delay) {
  asio::steady_timer t(co_await asio::this_coro::executor, delay);
  co_await t.async_wait(asio::use_awaitable);
}

// Sends raw bytes on a fresh connection and reads until the server closes it (or 5 s pass).
// Returns what was read; `closed` tells whether the read ended on EOF.
asio::awaitable<std::string> raw_exchange(uint16_t port, std::string request, bool* closed) {
  auto ex = co_await asio::this_coro::executor;
  tcp::socket socket(ex);
  tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), port);
  co_await socket.async_connect(ep, asio::use_awaitable);
  co_await asio::async_write(socket, asio::buffer(request), asio::use_awaitable);
  asio::steady_timer guard(ex, 5s);
  guard.async_wait([&socket](boost::system::error_code ec) {
    if (!ec) socket.close();
  });
  std::string reply;
  auto buffer = asio::dynamic_buffer(reply);
  auto [ec, n] = co_await asio::async_read(socket, buffer, asio::as_tuple(asio::use_awaitable));
  (void)n;
  guard.cancel();
  *closed = ec == asio::error::eof;
  co_return reply;
}

class HttpServerTest : public ::testing::Test {
 protected:
  void TearDown() override {
    io_.call([this] {
      server_.reset();
      return 0;
    });
  }

  // Starts a server on 127.0.0.1:0 with `router`; returns its "127.0.0.1:P".
  std::string start(std::shared_ptr<HttpRouter> router, HttpServerOptions opts = {}) {
    port_ = io_.call([&] {
      server_ = std::make_unique<HttpServer>(io_.executor(), opts, std::move(router));
      return server_->listen("127.0.0.1:0");
    });
    return "127.0.0.1:" + std::to_string(port_);
  }

  std::unique_ptr<HttpClient> client(const std::string& address) {
    return std::make_unique<HttpClient>(io_.executor(), HttpClientOptions{address});
  }

  HttpResponse fetch(HttpClient& c, std::string method, std::string target, std::string body = {},
                     HttpFields headers = {}, std::chrono::milliseconds deadline = 5s) {
    return io_.run(c.request(std::move(method), std::move(target), std::move(body),
                             std::move(headers), deadline));
  }

  test::IoThread io_;  // declared first: outlives the server
  std::unique_ptr<HttpServer> server_;
  uint16_t port_ = 0;
};

// Routes shared by most HTTP tests.
std::shared_ptr<HttpRouter> basic_router() {
  auto router = std::make_shared<HttpRouter>();
  router->add(
      "/echo", {"GET", "POST"}, [](const HttpRequest& req) -> asio::awaitable<HttpResponse> {
        std::string body = std::string(req.method) + " " + std::string(req.param_or("name")) + "|" +
                           std::string(req.param_or("q"));
        co_return text_response(200, std::move(body));
      });
  router->add("/peer", {"GET"}, [](const HttpRequest& req) -> asio::awaitable<HttpResponse> {
    co_return text_response(200, req.remote_address);
  });
  router->add("/get-only", {"GET"}, [](const HttpRequest&) -> asio::awaitable<HttpResponse> {
    co_return json_response(json{{"ret", 0}});
  });
  router->add("/throw", {"GET"}, [](const HttpRequest&) -> asio::awaitable<HttpResponse> {
    throw std::runtime_error("handler exploded");
    co_return text_response(200, "unreachable");
  });
  router->add("/slow", {"GET"}, [](const HttpRequest&) -> asio::awaitable<HttpResponse> {
    co_await async_sleep(2s);
    co_return text_response(200, "slow\n");
  });
  return router;
}

TEST_F(HttpServerTest, GetWithQueryRoundTrip) {
  auto address = start(basic_router());
  auto c = client(address);
  auto r = fetch(*c, "GET", "/echo?name=%E4%BD%A0+x&name=second&q=1");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "text/plain; charset=utf-8");
  EXPECT_EQ(r.body, "GET \xE4\xBD\xA0 x|1");
}

TEST_F(HttpServerTest, PostFormBodyIsReadThroughParam) {
  auto address = start(basic_router());
  auto c = client(address);
  HttpFields form{{"Content-Type", "application/x-www-form-urlencoded"}};
  auto r = fetch(*c, "POST", "/echo?q=fromQuery", "name=a+b%21&q=fromForm", form);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "POST a b!|fromQuery");
}

TEST_F(HttpServerTest, PostBodyWithoutFormContentTypeIsNotAForm) {
  auto address = start(basic_router());
  auto c = client(address);
  HttpFields headers{{"Content-Type", "application/json"}};
  auto r = fetch(*c, "POST", "/echo", "name=x", headers);
  EXPECT_EQ(r.body, "POST |");
}

TEST_F(HttpServerTest, KeepAliveReusesOneConnection) {
  auto address = start(basic_router());
  auto c = client(address);
  std::vector<std::string> peers;
  for (int i = 0; i < 4; ++i) {
    auto r = fetch(*c, "GET", "/peer");
    ASSERT_EQ(r.status, 200);
    peers.push_back(r.body);
  }
  ASSERT_FALSE(peers[0].empty());
  EXPECT_EQ(peers[0].rfind("127.0.0.1:", 0), 0u) << peers[0];
  for (auto& p : peers) EXPECT_EQ(p, peers[0]);  // same client port: one connection
  EXPECT_EQ(io_.call([this] { return server_->connections(); }), 1u);
}

TEST_F(HttpServerTest, UnknownPathIs404) {
  auto address = start(basic_router());
  auto c = client(address);
  auto r = fetch(*c, "GET", "/nope?x=1");
  EXPECT_EQ(r.status, 404);
}

TEST_F(HttpServerTest, WrongMethodIs405) {
  auto address = start(basic_router());
  auto c = client(address);
  for (const char* method : {"POST", "PUT", "DELETE"}) {
    auto r = fetch(*c, method, "/get-only");
    EXPECT_EQ(r.status, 405) << method;
    EXPECT_EQ(r.body, "Method Not Allowed\n") << method;
    EXPECT_EQ(r.content_type, "text/plain; charset=utf-8") << method;
  }
  EXPECT_EQ(fetch(*c, "GET", "/get-only").body, R"({"ret":0})");
}

TEST_F(HttpServerTest, PrefixRouteLongestPrefixWinsAndExactBeatsPrefix) {
  auto router = std::make_shared<HttpRouter>();
  auto answer = [](std::string what) {
    return [what](const HttpRequest&) -> asio::awaitable<HttpResponse> {
      co_return text_response(200, what);
    };
  };
  router->add_prefix("/a/", {"GET"}, answer("short"));
  router->add_prefix("/a/b/", {"GET"}, answer("long"));
  router->add("/a/b/exact", {"GET"}, answer("exact"));
  auto address = start(router);
  auto c = client(address);
  EXPECT_EQ(fetch(*c, "GET", "/a/x").body, "short");
  EXPECT_EQ(fetch(*c, "GET", "/a/b/x").body, "long");
  EXPECT_EQ(fetch(*c, "GET", "/a/b/exact").body, "exact");
  EXPECT_EQ(fetch(*c, "GET", "/b").status, 404);
}

TEST_F(HttpServerTest, BodyOverLimitIs413AndOthersAreStillServed) {
  HttpServerOptions opts;
  opts.max_body_bytes = 1024;
  auto address = start(basic_router(), opts);
  auto big = client(address);
  auto r = fetch(*big, "POST", "/echo", std::string(4096, 'x'));
  EXPECT_EQ(r.status, 413);

  auto other = client(address);
  auto ok = fetch(*other, "POST", "/echo", std::string(1024, 'x'));
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(fetch(*other, "GET", "/echo?name=n").body, "GET n|");
}

TEST_F(HttpServerTest, MalformedRequestLineIs400AndClosesTheConnection) {
  start(basic_router());
  bool closed = false;
  auto reply = io_.run(raw_exchange(port_, "this is not http\r\n\r\n", &closed));
  EXPECT_EQ(reply.rfind("HTTP/1.1 400", 0), 0u) << reply;
  EXPECT_TRUE(closed) << "the server must close the connection after a 400";

  auto c = client("127.0.0.1:" + std::to_string(port_));
  auto r = fetch(*c, "GET", "/echo?name=after");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "GET after|");
}

TEST_F(HttpServerTest, ThrowingHandlerIs500AndTheServerKeepsServing) {
  auto address = start(basic_router());
  auto c = client(address);
  auto r = fetch(*c, "GET", "/throw");
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.body.find("handler exploded"), std::string::npos) << "no internals leak";
  EXPECT_EQ(fetch(*c, "GET", "/echo?name=still").body, "GET still|");
  auto fresh = client(address);
  EXPECT_EQ(fetch(*fresh, "GET", "/echo?name=fresh").body, "GET fresh|");
}

TEST_F(HttpServerTest, ClientDeadlineGivesTimedOut) {
  auto address = start(basic_router());
  auto c = client(address);
  auto started = Clock::now();
  try {
    fetch(*c, "GET", "/slow", {}, {}, 300ms);
    FAIL() << "expected a timeout";
  } catch (const boost::system::system_error& e) {
    EXPECT_EQ(e.code(), asio::error::timed_out) << e.what();
  }
  auto took = Clock::now() - started;
  EXPECT_GE(took, 250ms);
  EXPECT_LT(took, 3s);
}

TEST_F(HttpServerTest, ClosedPortGivesConnectionRefused) {
  auto c = client("127.0.0.1:" + std::to_string(test::free_port()));
  try {
    fetch(*c, "GET", "/", {}, {}, 2s);
    FAIL() << "expected connection refused";
  } catch (const boost::system::system_error& e) {
    EXPECT_EQ(e.code(), asio::error::connection_refused) << e.what();
  }
}

TEST_F(HttpServerTest, StopLetsAnInFlightRequestFinishThenRefusesNewConnections) {
  std::atomic<bool> handler_started{false};
  std::atomic<bool> handler_done{false};
  auto router = basic_router();
  router->add("/in-flight", {"GET"}, [&](const HttpRequest&) -> asio::awaitable<HttpResponse> {
    handler_started = true;
    co_await async_sleep(500ms);
    handler_done = true;
    co_return text_response(200, "finished\n");
  });
  auto address = start(router);
  auto slow_client = client(address);
  auto idle_client = client(address);
  ASSERT_EQ(fetch(*idle_client, "GET", "/peer").status, 200);  // leaves an idle keep-alive

  auto pending = slow_client->request("GET", "/in-flight", "", {}, 10s);
  auto in_flight = asio::co_spawn(io_.io(), std::move(pending), asio::use_future);
  ASSERT_TRUE(test::eventually([&] { return handler_started.load(); }, 5s));

  io_.run(server_->stop(5s));
  EXPECT_TRUE(handler_done) << "stop() returned before the request in progress finished";
  EXPECT_EQ(io_.call([this] { return server_->connections(); }), 0u);

  ASSERT_EQ(in_flight.wait_for(5s), std::future_status::ready);
  auto r = in_flight.get();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "finished\n");

  auto late = client(address);
  try {
    fetch(*late, "GET", "/echo", {}, {}, 2s);
    FAIL() << "expected the stopped server to refuse connections";
  } catch (const boost::system::system_error& e) {
    EXPECT_EQ(e.code(), asio::error::connection_refused) << e.what();
  }
}

// ---- RPC ----

constexpr const char* kSecret = "s3cret";

class RpcTest : public HttpServerTest {
 protected:
  void SetUp() override {
    auto router = std::make_shared<HttpRouter>();
    add_rpc_method(*router, "echo", kSecret,
                   [](const json& params) -> asio::awaitable<json> { co_return params; });
    add_rpc_method(*router, "echo_slowly", kSecret,
                   [](const json& params) -> asio::awaitable<json> {
                     co_await async_sleep(20ms);
                     co_return params;
                   });
    add_rpc_method(*router, "sum", kSecret, [](const json& params) -> asio::awaitable<json> {
      int64_t total = 0;
      for (auto& v : params.at("values")) total += v.get<int64_t>();
      co_return json{{"sum", total}};
    });
    add_rpc_method(*router, "fail", kSecret, [](const json&) -> asio::awaitable<json> {
      throw RpcError(150, "x");
      co_return json();
    });
    add_rpc_method(*router, "slow", kSecret, [](const json&) -> asio::awaitable<json> {
      co_await async_sleep(2s);
      co_return json("late");
    });
    address_ = start(router);
  }

  std::unique_ptr<RpcClient> rpc_client(std::string secret = kSecret, std::string address = {}) {
    return std::make_unique<RpcClient>(
        io_.executor(), RpcClientOptions{address.empty() ? address_ : address, std::move(secret)});
  }

  // Calls on the io thread; method and params are owned by the coroutine frame.
  static asio::awaitable<json> call(RpcClient& c, std::string method, json params,
                                    std::chrono::milliseconds deadline) {
    auto op = c.call(method, params, deadline);
    co_return co_await std::move(op);
  }

  // The RpcError a call throws; fails the test if it returns.
  RpcError call_error(RpcClient& c, const std::string& method, std::chrono::milliseconds deadline,
                      json params = json::object()) {
    try {
      auto result = io_.run(call(c, method, std::move(params), deadline));
      ADD_FAILURE() << "expected an RpcError, got " << result.dump();
    } catch (const RpcError& e) {
      return e;
    }
    return RpcError(0, "no error");
  }

  std::string address_;
};

TEST_F(RpcTest, CallReturnsTheResult) {
  auto c = rpc_client();
  json params = {{"values", {1, 2, 39}}};
  auto result = io_.run(call(*c, "sum", params, 2s));
  EXPECT_EQ(result, (json{{"sum", 42}}));
}

TEST_F(RpcTest, NestedParamsRoundTrip) {
  auto c = rpc_client();
  json params = {
      {"keys", {"a", "b\"c", "\xE4\xBD\xA0"}},
      {"nested", {{"deep", {{"deeper", {1, 2.5, nullptr, true, json::object(), json::array()}}}}}},
      {"big", int64_t{9007199254740993}},
      {"neg", -7},
      {"text", "line1\nline2\t<&>"},
      {"raw", R"({"msg":"hi","mid":1,"gid":0})"},
  };
  EXPECT_EQ(io_.run(call(*c, "echo", params, 2s)), params);
  EXPECT_EQ(io_.run(call(*c, "echo", json(nullptr), 2s)), json(nullptr));
  EXPECT_EQ(io_.run(call(*c, "echo", json::array(), 2s)), json::array());
}

TEST_F(RpcTest, MethodErrorReachesTheCallerWithItsCodeAndMessage) {
  auto c = rpc_client();
  auto e = call_error(*c, "fail", 2s);
  EXPECT_EQ(e.code(), 150);
  EXPECT_STREQ(e.what(), "x");
  EXPECT_FALSE(e.transport());
}

TEST_F(RpcTest, MalformedParamsGiveBadRequest) {
  auto c = rpc_client();
  json params = {{"values", "not an array of numbers"}};
  auto e = call_error(*c, "sum", 2s, params);
  EXPECT_EQ(e.code(), rpc_code::bad_request) << e.what();
}

TEST_F(RpcTest, WrongSecretIsUnauthorized) {
  auto wrong = rpc_client("not-the-secret");
  EXPECT_EQ(call_error(*wrong, "echo", 2s).code(), rpc_code::unauthorized);
  auto none = rpc_client("");
  EXPECT_EQ(call_error(*none, "echo", 2s).code(), rpc_code::unauthorized);
}

TEST_F(RpcTest, UnknownMethodIsNoMethod) {
  auto c = rpc_client();
  auto e = call_error(*c, "no_such_method", 2s);
  EXPECT_EQ(e.code(), rpc_code::no_method) << e.what();
  EXPECT_FALSE(e.transport());

  // On the wire: 404 with the error body (rpc.hpp).
  auto http = client(address_);
  HttpFields headers{{"Content-Type", "application/json"}, {kRpcSecretHeader, kSecret}};
  auto r = fetch(*http, "POST", "/rpc/no_such_method", "{}", headers);
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(json::parse(r.body, nullptr, false)["error"]["code"], rpc_code::no_method) << r.body;
}

TEST_F(RpcTest, NonJsonBodyIsHttp400) {
  auto http = client(address_);
  HttpFields headers{{"Content-Type", "application/json"}, {kRpcSecretHeader, kSecret}};
  auto r = fetch(*http, "POST", "/rpc/echo", "{not json", headers);
  EXPECT_EQ(r.status, 400);
  auto body = json::parse(r.body);
  EXPECT_EQ(body["error"]["code"], rpc_code::bad_request);
}

// A call read after the deadline it carries is answered `expired` and does not run (the
// caller has given up); one read before it runs. A call without the header (curl) runs.
TEST_F(RpcTest, CallReadAfterItsDeadlineIsExpiredAndDoesNotRun) {
  int runs = 0;
  auto router = std::make_shared<HttpRouter>();
  add_rpc_method(*router, "count", kSecret,
                 [&runs](const json&) -> asio::awaitable<json> { co_return ++runs; });
  const std::string address = start(router);
  auto http = client(address);
  const auto unix_ms = [](std::chrono::system_clock::duration from_now) {
    return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                              (std::chrono::system_clock::now() + from_now).time_since_epoch())
                              .count());
  };
  HttpFields headers{{"Content-Type", "application/json"}, {kRpcSecretHeader, kSecret}};
  auto late = headers;
  late.emplace_back(kRpcDeadlineHeader, unix_ms(-1s));
  auto r = fetch(*http, "POST", "/rpc/count", "{}", late);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(json::parse(r.body, nullptr, false)["error"]["code"], rpc_code::expired) << r.body;
  EXPECT_EQ(runs, 0);

  auto in_time = headers;
  in_time.emplace_back(kRpcDeadlineHeader, unix_ms(5s));
  r = fetch(*http, "POST", "/rpc/count", "{}", in_time);
  EXPECT_EQ(json::parse(r.body, nullptr, false)["result"], 1) << r.body;
  r = fetch(*http, "POST", "/rpc/count", "{}", headers);
  EXPECT_EQ(json::parse(r.body, nullptr, false)["result"], 2) << r.body;

  // RpcClient sends its deadline: a call in time runs.
  RpcClient c(io_.executor(), RpcClientOptions{address, kSecret});
  EXPECT_EQ(io_.run(call(c, "count", json::object(), 2s)), 3);
}

TEST_F(RpcTest, SlowMethodBeyondTheDeadlineIsTimeout) {
  auto c = rpc_client();
  auto started = Clock::now();
  auto e = call_error(*c, "slow", 300ms);
  EXPECT_EQ(e.code(), rpc_code::timeout) << e.what();
  EXPECT_TRUE(e.transport());
  EXPECT_LT(Clock::now() - started, 3s);
}

TEST_F(RpcTest, DeadPeerIsUnavailable) {
  auto c = rpc_client(kSecret, "127.0.0.1:" + std::to_string(test::free_port()));
  auto e = call_error(*c, "echo", 2s);
  EXPECT_EQ(e.code(), rpc_code::unavailable) << e.what();
  EXPECT_TRUE(e.transport());
}

TEST_F(RpcTest, TwoHundredConcurrentCallsAllSucceed) {
  auto c = rpc_client();
  constexpr int kCalls = 200;
  std::vector<std::future<json>> results;
  results.reserve(kCalls);
  for (int i = 0; i < kCalls; ++i) {
    json params = {{"i", i}};
    results.push_back(asio::co_spawn(io_.io(), call(*c, "echo_slowly", std::move(params), 10s),
                                     asio::use_future));
  }
  for (int i = 0; i < kCalls; ++i) {
    ASSERT_EQ(results[i].wait_for(30s), std::future_status::ready) << i;
    EXPECT_EQ(results[i].get(), (json{{"i", i}})) << i;
  }
  // The pool keeps its idle connections for the next batch.
  EXPECT_EQ(io_.run(call(*c, "echo", json{{"after", true}}, 2s)), (json{{"after", true}}));
}

}  // namespace
}  // namespace appmsg
