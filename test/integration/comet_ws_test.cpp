// The comet's WebSocket listener end to end, in-process: a CometService on loopback ports with a
// real ZooKeeper, real WebSocket clients (Boost.Beast's client, so our own codec meets an
// independent one) and raw sockets for the bytes no well-behaved client sends.
//
// Covers spec/comet.md section 1W (upgrade, query, replies as text frames, pushes as bare JSON,
// heartbeats, the byte-exact example), 10 (W2: message size limit and handshake deadline, W24:
// no Origin needed), 11 (TV2 WebSocket rows, TV3 over WebSocket) and the websocket gauge of
// /metrics. Every test starts its own comet with its own ZooKeeper paths and ports, so the test
// executables may run in parallel; time bounds are generous, never a measure of speed.
//
// Threads: the test body (blocking clients; each Beast client runs its own io_context on the test
// thread, one operation at a time, each with a deadline), one IoThread that is the comet's control
// context and runs our RPC and HTTP clients, and the comet's own client contexts.
#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "comet/comet_config.hpp"
#include "comet/comet_service.hpp"
#include "common/http.hpp"
#include "common/http_client.hpp"
#include "common/http_server.hpp"
#include "common/rpc.hpp"
#include "support/async.hpp"
#include "support/comet_harness.hpp"
#include "support/servers.hpp"

namespace appmsg::comet {
namespace {

using namespace std::chrono_literals;
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using boost::system::error_code;
using nlohmann::json;
using Clock = std::chrono::steady_clock;
using test::eventually;

using test::kPlusH;
using test::TestClient;

std::string bytes(std::initializer_list<int> list) {
  std::string out;
  for (int b : list) out += static_cast<char>(b);
  return out;
}

// ---------------------------------------------------------------------------------------------
// A Beast WebSocket client, used synchronously: each operation runs on the client's own
// io_context until it completes, and the tcp_stream deadline (set before each operation) closes
// the socket if it does not complete in time.

class WsClient {
 public:
  // Connects and sends the upgrade for `target`; `origin` adds an Origin header (Beast sends
  // none by default). Check upgraded() and response() for the result.
  WsClient(const std::string& address, const std::string& target, const std::string& origin = "")
      : ws_(ioc_) {
    auto [host, port] = split_host_port(address);
    asio::ip::tcp::endpoint ep(asio::ip::make_address(host), port);
    ec_ = run([&](auto handler) { beast::get_lowest_layer(ws_).async_connect(ep, handler); });
    if (ec_) return;
    if (!origin.empty()) {
      ws_.set_option(websocket::stream_base::decorator(
          [origin](websocket::request_type& req) { req.set(beast::http::field::origin, origin); }));
    }
    ws_.control_callback([this](websocket::frame_type kind, beast::string_view payload) {
      if (kind == websocket::frame_type::pong) pongs_.emplace_back(payload);
    });
    ec_ = run([&](auto handler) { ws_.async_handshake(response_, address, target, handler); });
  }

  bool upgraded() const { return !ec_; }
  error_code error() const { return ec_; }
  const websocket::response_type& response() const { return response_; }

  // One whole message; nullopt when the connection ends or the deadline passes (see error()).
  std::optional<std::string> read(std::chrono::milliseconds timeout = 5s) {
    beast::flat_buffer buffer;
    ec_ = run([&](auto handler) { ws_.async_read(buffer, handler); }, timeout);
    if (ec_) return std::nullopt;
    last_was_text_ = ws_.got_text();
    return beast::buffers_to_string(buffer.data());
  }
  bool last_was_text() const { return last_was_text_; }

  // True when the server ended the connection (with or without a close frame) before the
  // deadline, with no message first.
  bool closed_by_server(std::chrono::milliseconds timeout = 5s) {
    auto m = read(timeout);
    return !m && ec_ != beast::error::timeout;
  }
  bool timed_out() const { return ec_ == beast::error::timeout; }

  bool write(const std::string& text) {
    ws_.text(true);
    ec_ = run([&](auto handler) { ws_.async_write(asio::buffer(text), handler); });
    return !ec_;
  }
  bool ping(const std::string& payload) {
    websocket::ping_data data(payload.c_str());
    ec_ = run([&](auto handler) { ws_.async_ping(data, handler); });
    return !ec_;
  }
  bool pong(const std::string& payload) {
    websocket::ping_data data(payload.c_str());
    ec_ = run([&](auto handler) { ws_.async_pong(data, handler); });
    return !ec_;
  }
  // The closing handshake: our close frame, the server's answer, then EOF.
  bool close() {
    ec_ = run([&](auto handler) { ws_.async_close(websocket::close_code::normal, handler); });
    return !ec_;
  }
  const std::vector<std::string>& pongs() const { return pongs_; }

 private:
  template <class Start>
  error_code run(Start start, std::chrono::milliseconds timeout = 5s) {
    beast::get_lowest_layer(ws_).expires_after(timeout);
    std::optional<error_code> result;
    start([&result](error_code ec, auto&&...) { result = ec; });
    ioc_.restart();
    while (!result && ioc_.run_one() > 0) {
    }
    return result.value_or(asio::error::operation_aborted);
  }

  asio::io_context ioc_;
  websocket::stream<beast::tcp_stream> ws_;
  websocket::response_type response_;
  error_code ec_;
  bool last_was_text_ = false;
  std::vector<std::string> pongs_;
};

// A masked client frame (FIN, RSV and opcode in b0), as a browser would send it.
std::string client_frame(uint8_t b0, std::string_view payload) {
  const uint8_t mask[4] = {0x37, 0xFA, 0x21, 0x3D};
  std::string out;
  out += static_cast<char>(b0);
  if (payload.size() < 126) {
    out += static_cast<char>(0x80 | payload.size());
  } else {
    out += static_cast<char>(0x80 | 126);
    out += static_cast<char>((payload.size() >> 8) & 0xff);
    out += static_cast<char>(payload.size() & 0xff);
  }
  out.append(reinterpret_cast<const char*>(mask), 4);
  for (size_t i = 0; i < payload.size(); ++i) out += static_cast<char>(payload[i] ^ mask[i % 4]);
  return out;
}

std::string upgrade_request(const std::string& target, const std::string& extra = "") {
  return "GET " + target +
         " HTTP/1.1\r\nHost: comet\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" +
         extra + "\r\n";
}

std::string pad_to(std::string s, size_t size) {
  s.resize(size, 'p');
  return s;
}

const std::string kSpecAnswer =
    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";
const std::string kPlusHFrame = bytes({0x81, 0x04, 0x2B, 0x68, 0x0D, 0x0A});

// ---------------------------------------------------------------------------------------------

class CometWsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    zk_server_ = new test::ZooKeeperServer();
    zk_server_->start();
  }
  static void TearDownTestSuite() {
    delete zk_server_;
    zk_server_ = nullptr;
  }

  void SetUp() override {
    std::string id = test::unique_test_id();
    root_ = "/comet_ws_test_" + id;
    node_ = "comet_ws_" + id;
  }

  void TearDown() override {
    io_.call([&] {
      rpc_.reset();
      http_.reset();
    });
    test::stop_comet(io_, comet_);
  }

  CometConfig config() const {
    CometConfig c = test::comet_test_config(zk_server_->connect_string(), root_, node_);
    c.websocket_enabled = true;
    return c;
  }

  void start_comet(const CometConfig& c) {
    comet_ = test::start_comet(io_, c, 2);
    ASSERT_EQ(comet_->ws_addresses().size(), 1u);
    ASSERT_EQ(comet_->tcp_addresses().size(), 1u);
    ws_ = comet_->ws_addresses()[0];
    tcp_ = comet_->tcp_addresses()[0];
    rpc_ = test::rpc_client(io_, comet_->rpc_addresses()[0]);
    http_ = test::http_client(io_, comet_->stat_addresses()[0]);
  }

  int64_t push(const std::string& key, const std::string& body) {
    json params{{"key", key}, {"msg", body}, {"expire", 0}};
    return io_.run(rpc_->call("push", params, 10s)).at("mid").get<int64_t>();
  }

  std::string metrics() {
    auto r = io_.run(http_->request("GET", "/metrics", "", {}, 5s));
    EXPECT_EQ(r.status, 200);
    return r.body;
  }

  // A client that upgraded to `target` and got its first "+h\r\n" text message.
  std::unique_ptr<WsClient> subscribe(const std::string& target) {
    auto c = std::make_unique<WsClient>(ws_, target);
    EXPECT_TRUE(c->upgraded()) << target << ": " << c->error().message();
    auto first = c->read();
    EXPECT_EQ(first, std::string(kPlusH)) << target << ": " << c->error().message();
    EXPECT_TRUE(c->last_was_text());
    return c;
  }

  // The comet still serves: a new client subscribes, and answers a heartbeat.
  void expect_serving() {
    static std::atomic<int> n{0};
    auto c = subscribe("/sub?key=alive" + std::to_string(++n) + "&heartbeat=30");
    ASSERT_TRUE(c->write("h"));
    EXPECT_EQ(c->read(), std::string(kPlusH));
  }

  static test::ZooKeeperServer* zk_server_;
  test::IoThread io_;  // first: outlives everything that runs on it
  std::string root_, node_, ws_, tcp_;
  std::unique_ptr<CometService> comet_;
  std::unique_ptr<RpcClient> rpc_;
  std::unique_ptr<HttpClient> http_;
};

test::ZooKeeperServer* CometWsTest::zk_server_ = nullptr;

// ---------------------------------------------------------------------------------------------
// Subscribe, heartbeats and pushes (1W, TV2, TV3)

TEST_F(CometWsTest, subscribe_gets_plus_h_and_h_is_answered) {
  start_comet(config());
  auto c = subscribe("/sub?key=1001_chrome-38-123@user&heartbeat=30&ver=1");
  EXPECT_EQ(comet_->table().count("1001_chrome-38-123@user"), 1u);
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(c->write("h"));
    auto reply = c->read();
    EXPECT_EQ(reply, std::string(kPlusH)) << i;
    EXPECT_TRUE(c->last_was_text());
  }
}

TEST_F(CometWsTest, push_is_one_text_frame_of_bare_json_in_the_new_format) {
  start_comet(config());
  auto c = subscribe("/sub?key=K&heartbeat=30&ver=1");
  int64_t mid = push("K", R"({"a":1})");
  auto m = c->read();
  ASSERT_TRUE(m) << c->error().message();
  EXPECT_TRUE(c->last_was_text());
  EXPECT_EQ(*m, R"({"msg":{"a":1},"mid":)" + std::to_string(mid) + R"(,"gid":0})");
  // Heartbeats still work after a push.
  ASSERT_TRUE(c->write("h"));
  EXPECT_EQ(c->read(), std::string(kPlusH));
}

TEST_F(CometWsTest, push_without_ver_is_in_the_old_format) {
  start_comet(config());
  auto c = subscribe("/sub?key=K&heartbeat=30");
  int64_t mid = push("K", R"({"a":1})");
  auto m = c->read();
  ASSERT_TRUE(m) << c->error().message();
  EXPECT_TRUE(c->last_was_text());
  EXPECT_EQ(*m, R"({"msg":"{\"a\":1}","mid":)" + std::to_string(mid) + R"(,"gid":0})");
}

TEST_F(CometWsTest, large_push_uses_the_extended_lengths) {
  start_comet(config());
  auto c = subscribe("/sub?key=K&heartbeat=30&ver=1");
  for (size_t n : {200u, 65520u}) {
    json body{{"s", std::string(n, 'x')}};
    int64_t mid = push("K", body.dump());
    auto m = c->read();
    ASSERT_TRUE(m) << n << ": " << c->error().message();
    EXPECT_EQ(json::parse(*m), (json{{"msg", body}, {"mid", mid}, {"gid", 0}}));
  }
}

TEST_F(CometWsTest, tcp_and_websocket_clients_on_one_key_each_get_one_copy) {
  start_comet(config());
  auto ws = subscribe("/sub?key=shared@user&heartbeat=30");
  TestClient tcp(tcp_);
  ASSERT_TRUE(tcp.send("*3\r\n$3\r\nsub\r\n$11\r\nshared@user\r\n$2\r\n30\r\n"));
  ASSERT_EQ(tcp.read_exact(4), kPlusH);
  EXPECT_EQ(comet_->table().count("shared@user"), 2u);

  for (int i = 1; i <= 2; ++i) {
    SCOPED_TRACE(i);
    const std::string body = "{\"n\":" + std::to_string(i) + "}";
    int64_t mid = push("shared@user", body);
    const std::string payload =
        R"({"msg":)" + json(body).dump() + R"(,"mid":)" + std::to_string(mid) + R"(,"gid":0})";
    // Each gets this push next (not a second copy of the previous one), in its own framing.
    EXPECT_EQ(ws->read(), payload);
    const std::string frame = "$" + std::to_string(payload.size()) + "\r\n" + payload + "\r\n";
    EXPECT_EQ(tcp.read_exact(frame.size()), frame);
  }
}

// ---------------------------------------------------------------------------------------------
// Origin (W24) and the byte-exact example of 1W

TEST_F(CometWsTest, no_origin_is_accepted) {
  start_comet(config());
  // Beast sends no Origin header unless told to.
  auto c = subscribe("/sub?key=K&heartbeat=30");
  ASSERT_TRUE(c->write("h"));
  EXPECT_EQ(c->read(), std::string(kPlusH));
  // And an Origin from another site is accepted too.
  WsClient other(ws_, "/sub?key=K&heartbeat=30", "https://other.example");
  ASSERT_TRUE(other.upgraded()) << other.error().message();
  EXPECT_EQ(other.read(), std::string(kPlusH));
}

TEST_F(CometWsTest, byte_exact_example_with_a_foreign_origin) {
  start_comet(config());
  TestClient c(ws_);
  ASSERT_TRUE(c.send(upgrade_request("/sub?key=1001_chrome-38-123@user&heartbeat=60&ver=1",
                                     "Origin: http://some-other-site.example\r\n")));
  EXPECT_EQ(c.read_exact(kSpecAnswer.size()), kSpecAnswer);
  EXPECT_EQ(c.read_exact(kPlusHFrame.size()), kPlusHFrame);
  // "h" masked with 37 FA 21 3D.
  ASSERT_TRUE(c.send(bytes({0x81, 0x81, 0x37, 0xFA, 0x21, 0x3D, 0x5F})));
  EXPECT_EQ(c.read_exact(kPlusHFrame.size()), kPlusHFrame);
  int64_t mid = push("1001_chrome-38-123@user", R"({"a":1})");
  const std::string payload = R"({"msg":{"a":1},"mid":)" + std::to_string(mid) + R"(,"gid":0})";
  ASSERT_LT(payload.size(), 126u);  // 46 bytes with a 16-digit mid: header 81 2E
  EXPECT_EQ(c.read_exact(2), bytes({0x81, static_cast<int>(payload.size())}));
  EXPECT_EQ(c.read_exact(payload.size()), payload);
}

TEST_F(CometWsTest, pipelined_frames_after_the_upgrade_are_kept) {
  start_comet(config());
  TestClient c(ws_);
  const std::string h = client_frame(0x81, "h");
  ASSERT_TRUE(c.send(upgrade_request("/sub?key=K&heartbeat=30") + h + h));
  EXPECT_EQ(c.read_exact(kSpecAnswer.size()), kSpecAnswer);
  EXPECT_EQ(c.read_exact(3 * kPlusHFrame.size()), kPlusHFrame + kPlusHFrame + kPlusHFrame);
}

// ---------------------------------------------------------------------------------------------
// Control frames

TEST_F(CometWsTest, client_pong_does_not_close_the_connection) {
  start_comet(config());
  auto c = subscribe("/sub?key=K&heartbeat=30");
  ASSERT_TRUE(c->pong("unsolicited"));
  ASSERT_TRUE(c->write("h"));
  EXPECT_EQ(c->read(), std::string(kPlusH)) << c->error().message();
  EXPECT_EQ(comet_->table().count("K"), 1u);
}

TEST_F(CometWsTest, client_ping_gets_a_pong) {
  start_comet(config());
  auto c = subscribe("/sub?key=K&heartbeat=30");
  ASSERT_TRUE(c->ping("are-you-there"));
  // The pong arrives before the answer to this heartbeat; Beast reports it while reading.
  ASSERT_TRUE(c->write("h"));
  EXPECT_EQ(c->read(), std::string(kPlusH)) << c->error().message();
  ASSERT_EQ(c->pongs().size(), 1u);
  EXPECT_EQ(c->pongs()[0], "are-you-there");
}

TEST_F(CometWsTest, fragmented_h_is_a_heartbeat) {
  start_comet(config());
  TestClient c(ws_);
  ASSERT_TRUE(c.send(upgrade_request("/sub?key=K&heartbeat=30")));
  ASSERT_EQ(c.read_exact(kSpecAnswer.size() + kPlusHFrame.size()), kSpecAnswer + kPlusHFrame);
  ASSERT_TRUE(c.send(client_frame(0x01, "") + client_frame(0x80, "h")));
  EXPECT_EQ(c.read_exact(kPlusHFrame.size()), kPlusHFrame);
}

TEST_F(CometWsTest, close_frame_is_answered_and_ends_the_session) {
  start_comet(config());
  auto c = subscribe("/sub?key=K&heartbeat=30");
  EXPECT_TRUE(c->close()) << c->error().message();
  EXPECT_TRUE(eventually([&] { return comet_->table().count("K") == 0; }, 5s));
  expect_serving();
}

// ---------------------------------------------------------------------------------------------
// Bad clients: each is closed, and the comet keeps serving (TV2, W2)

TEST_F(CometWsTest, h_with_newline_closes_the_connection) {
  start_comet(config());
  auto c = subscribe("/sub?key=K&heartbeat=30");
  ASSERT_TRUE(c->write("h\n"));
  EXPECT_TRUE(c->closed_by_server()) << c->error().message();
  EXPECT_TRUE(eventually([&] { return comet_->table().count("K") == 0; }, 5s));
  expect_serving();
}

TEST_F(CometWsTest, one_kib_message_closes_the_connection) {
  start_comet(config());
  auto c = subscribe("/sub?key=K&heartbeat=30");
  c->write(std::string(1024, 'h'));  // may fail if the server has already closed
  EXPECT_TRUE(c->closed_by_server()) << c->error().message();
  EXPECT_TRUE(eventually([&] { return comet_->table().count("K") == 0; }, 5s));
  expect_serving();
}

TEST_F(CometWsTest, bad_params_get_minus_p_then_close) {
  start_comet(config());
  for (const char* target :
       {"/sub?key=K&heartbeat=10", "/sub?heartbeat=30", "/sub?key=&heartbeat=30",
        "/sub?key=K&heartbeat=abc", "/sub?key=K", "/sub"}) {
    SCOPED_TRACE(target);
    WsClient c(ws_, target);
    ASSERT_TRUE(c.upgraded()) << c.error().message();
    auto reply = c.read();
    EXPECT_EQ(reply, std::string("-p\r\n")) << c.error().message();
    EXPECT_TRUE(c.last_was_text());
    EXPECT_TRUE(c.closed_by_server()) << c.error().message();
  }
  EXPECT_EQ(comet_->table().channels(), 0u);
  expect_serving();
}

TEST_F(CometWsTest, other_path_gets_http_404) {
  start_comet(config());
  TestClient raw(ws_);
  ASSERT_TRUE(raw.send(upgrade_request("/other?key=K&heartbeat=30")));
  std::string answer = raw.read_until_close();
  EXPECT_TRUE(raw.closed());
  EXPECT_EQ(answer.rfind("HTTP/1.1 404 ", 0), 0u) << answer;

  WsClient c(ws_, "/other");
  EXPECT_EQ(c.error(), websocket::error::upgrade_declined) << c.error().message();
  EXPECT_EQ(c.response().result_int(), 404u);
  expect_serving();
}

TEST_F(CometWsTest, plain_get_without_upgrade_gets_http_400) {
  start_comet(config());
  TestClient raw(ws_);
  ASSERT_TRUE(raw.send("GET /sub?key=K&heartbeat=30 HTTP/1.1\r\nHost: comet\r\n\r\n"));
  std::string answer = raw.read_until_close();
  EXPECT_TRUE(raw.closed());
  EXPECT_EQ(answer.rfind("HTTP/1.1 400 ", 0), 0u) << answer;
  EXPECT_EQ(comet_->table().channels(), 0u);
  expect_serving();
}

TEST_F(CometWsTest, malformed_handshakes_get_http_errors) {
  start_comet(config());
  struct Case {
    std::string request;
    std::string status_line;
  };
  const std::vector<Case> cases = {
      {"GET /sub?key=K&heartbeat=30 HTTP/1.1\r\nHost: c\r\nUpgrade: websocket\r\n"
       "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
       "Sec-WebSocket-Version: 8\r\n\r\n",
       "HTTP/1.1 426 "},
      // Headers that never end: exactly one byte over the 8 KiB limit, so that the server
      // reads everything it was sent and its close is not a reset.
      {pad_to("GET /sub HTTP/1.1\r\nX-Pad: ", 8193), "HTTP/1.1 431 "},
      {"POST /sub HTTP/1.1\r\nContent-Length: 0\r\n\r\n", "HTTP/1.1 400 "},
      {"\x16\x03\x01\x02\x01\r\n\r\n", "HTTP/1.1 400 "},  // not HTTP at all
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.status_line);
    TestClient raw(ws_);
    raw.send(c.request);  // the server may answer and close before taking it all
    std::string answer = raw.read_until_close();
    EXPECT_TRUE(raw.closed());
    EXPECT_EQ(answer.rfind(c.status_line, 0), 0u) << answer.substr(0, 200);
  }
  expect_serving();
}

TEST_F(CometWsTest, bad_frames_close_the_connection) {
  start_comet(config());
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"unmasked", bytes({0x81, 0x01, 'h'})},
      {"reserved bit", client_frame(0xC1, "h")},
      {"unknown opcode", client_frame(0x83, "h")},
      {"long ping", client_frame(0x89, std::string(126, 'p'))},
      {"fragmented ping", client_frame(0x09, "p")},
      {"continuation first", client_frame(0x80, "h")},
      {"binary x", client_frame(0x82, "x")},
      {"64-bit length", bytes({0x81, 0xFF, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF})},
      // 1 + 0xFFFF...FF wrapped past the size check; the decoder then threw out of the
      // session's handler and std::terminate took the whole comet down.
      {"wrapping length", client_frame(0x01, "h") + bytes({0x80, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
                                                           0xFF, 0xFF, 0xFF, 1, 2, 3, 4})},
  };
  for (const auto& [name, frame] : cases) {
    SCOPED_TRACE(name);
    TestClient raw(ws_);
    ASSERT_TRUE(raw.send(upgrade_request("/sub?key=K&heartbeat=30")));
    ASSERT_EQ(raw.read_exact(kSpecAnswer.size() + kPlusHFrame.size()), kSpecAnswer + kPlusHFrame);
    raw.send(frame);
    EXPECT_EQ(raw.read_until_close(), "");
    EXPECT_TRUE(raw.closed());
  }
  EXPECT_TRUE(eventually([&] { return comet_->table().count("K") == 0; }, 5s));
  expect_serving();
}

TEST_F(CometWsTest, binary_h_is_a_heartbeat_too) {
  start_comet(config());
  TestClient raw(ws_);
  ASSERT_TRUE(raw.send(upgrade_request("/sub?key=K&heartbeat=30")));
  ASSERT_EQ(raw.read_exact(kSpecAnswer.size() + kPlusHFrame.size()), kSpecAnswer + kPlusHFrame);
  ASSERT_TRUE(raw.send(client_frame(0x82, "h")));
  EXPECT_EQ(raw.read_exact(kPlusHFrame.size()), kPlusHFrame);
}

// ---------------------------------------------------------------------------------------------
// Deadlines

TEST_F(CometWsTest, silent_client_is_closed_at_the_heartbeat_deadline) {
  auto cfg = config();
  cfg.min_heartbeat = 1;
  cfg.heartbeat_grace = 300ms;
  cfg.first_command_timeout = 60s;  // the heartbeat deadline (1.3 s) comes first and counts
  start_comet(cfg);
  auto c = subscribe("/sub?key=K&heartbeat=1");
  auto subscribed = Clock::now();
  EXPECT_TRUE(c->closed_by_server(20s)) << c->error().message();
  // Not before the heartbeat (1 s) has passed; the grace comes on top.
  EXPECT_GE(Clock::now() - subscribed, 1s);
  EXPECT_TRUE(eventually([&] { return comet_->table().count("K") == 0; }, 5s));
  expect_serving();
}

TEST_F(CometWsTest, heartbeats_keep_a_connection_past_its_deadline) {
  auto cfg = config();
  cfg.min_heartbeat = 1;
  cfg.heartbeat_grace = 300ms;
  start_comet(cfg);
  auto c = subscribe("/sub?key=K&heartbeat=2");
  // Six heartbeats 600 ms apart: 3.6 s in all, well past one deadline (2.3 s).
  for (int i = 0; i < 6; ++i) {
    std::this_thread::sleep_for(600ms);
    ASSERT_TRUE(c->write("h")) << i;
    ASSERT_EQ(c->read(), std::string(kPlusH)) << i << ": " << c->error().message();
  }
}

TEST_F(CometWsTest, silent_client_is_closed_at_the_handshake_deadline) {
  auto cfg = config();
  cfg.first_command_timeout = 300ms;
  start_comet(cfg);
  TestClient raw(ws_);
  ASSERT_TRUE(raw.send("GET /sub?key=K&heartbeat=30 HTTP/1.1\r\n"));  // and no more
  EXPECT_EQ(raw.read_until_close(10s), "");
  EXPECT_TRUE(raw.closed());
  expect_serving();
}

// ---------------------------------------------------------------------------------------------
// Metrics

TEST_F(CometWsTest, websocket_connections_show_in_metrics) {
  start_comet(config());
  const std::string one = "\nappmsg_comet_connections{proto=\"websocket\"} 1\n";
  const std::string zero = "\nappmsg_comet_connections{proto=\"websocket\"} 0\n";
  EXPECT_NE(metrics().find(zero), std::string::npos);
  {
    auto c = subscribe("/sub?key=K&heartbeat=30");
    std::string m;
    EXPECT_TRUE(eventually([&] { return (m = metrics()).find(one) != std::string::npos; }, 5s))
        << m;
    EXPECT_NE(m.find("\nappmsg_comet_connections{proto=\"tcp\"} 0\n"), std::string::npos) << m;
  }
  EXPECT_TRUE(eventually([&] { return metrics().find(zero) != std::string::npos; }, 5s));
}

}  // namespace
}  // namespace appmsg::comet
