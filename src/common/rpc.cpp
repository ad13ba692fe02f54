// Internal RPC: the server-side method wrapper and the client.
#include "common/rpc.hpp"

#include <openssl/crypto.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <boost/system/system_error.hpp>

#include "common/http_client.hpp"

namespace appmsg {

namespace asio = boost::asio;
using nlohmann::json;

namespace {

HttpResponse error_response(int status, int code, const std::string& message) {
  HttpResponse r;
  r.status = status;
  r.body = json{{"error", {{"code", code}, {"message", message}}}}.dump();
  return r;
}

constexpr std::chrono::milliseconds kMaxDeadline = std::chrono::hours(24 * 365);

int64_t unix_millis(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

// The call's deadline has passed (a call without the header, e.g. from curl, has none).
bool past_deadline(const HttpRequest& req) {
  auto header = req.header(kRpcDeadlineHeader);
  if (!header) return false;
  auto deadline = parse_go_int(*header);
  return deadline && unix_millis(std::chrono::system_clock::now()) > *deadline;
}

bool secret_matches(const std::string& expected, std::string_view given) {
  return expected.size() == given.size() &&
         CRYPTO_memcmp(expected.data(), given.data(), expected.size()) == 0;
}

}  // namespace

void add_rpc_method(HttpRouter& router, const std::string& name, std::string secret,
                    RpcMethod method) {
  // Any other /rpc/<name> answers 404 with the error body (rpc_code::no_method), as the wire
  // form in rpc.hpp promises; exact routes (the methods) win over this prefix route.
  router.add_prefix("/rpc/", {"POST"}, [](const HttpRequest& req) -> asio::awaitable<HttpResponse> {
    co_return error_response(404, rpc_code::no_method, "no method " + req.path.substr(5));
  });
  router.add(
      "/rpc/" + name, {"POST"},
      [name, secret = std::move(secret),
       method = std::move(method)](const HttpRequest& req) -> asio::awaitable<HttpResponse> {
        if (!secret.empty() && !secret_matches(secret, req.header(kRpcSecretHeader).value_or(""))) {
          spdlog::warn("rpc {}: wrong secret from {}", name, req.remote_address);
          co_return error_response(401, rpc_code::unauthorized, "wrong secret");
        }
        if (past_deadline(req)) {
          static std::atomic<int64_t> last_log_ms{0};  // at most one line a second, per process
          const int64_t now = unix_millis(std::chrono::system_clock::now());
          if (now - last_log_ms.exchange(now) >= 1000) {
            spdlog::warn("rpc {}: a call read after its deadline (by {} ms) did not run", name,
                         now - parse_go_int(*req.header(kRpcDeadlineHeader)).value_or(now));
          }
          co_return error_response(200, rpc_code::expired, "read after its deadline: not run");
        }
        json params =
            json::parse(req.body.empty() ? std::string("null") : req.body, nullptr, false);
        if (params.is_discarded()) {
          co_return error_response(400, rpc_code::bad_request, "body is not JSON");
        }
        try {
          json result = co_await method(params);
          HttpResponse r;
          r.body = json{{"result", std::move(result)}}.dump(-1, ' ', false,
                                                            json::error_handler_t::replace);
          co_return r;
        } catch (const RpcError& e) {
          co_return error_response(200, e.code(), e.what());
        } catch (const json::exception& e) {
          co_return error_response(200, rpc_code::bad_request, e.what());
        } catch (const std::exception& e) {
          spdlog::error("rpc {}: {}", name, e.what());
          co_return error_response(200, rpc_code::internal, e.what());
        }
      });
}

void warn_if_open(const std::vector<std::string>& binds, const std::string& secret,
                  std::string_view what, std::string_view key) {
  if (!secret.empty()) return;
  for (auto& b : binds) {
    std::string_view host(b);
    host = host.substr(0, host.rfind(':'));
    bool loopback = host.starts_with("127.") || host == "localhost" || host == "[::1]";
    if (!loopback) {
      spdlog::warn("{} on {} has no {}: anyone who reaches it may push or read", what, b, key);
    }
  }
}

RpcClient::RpcClient(asio::any_io_executor ex, RpcClientOptions opts)
    : opts_(std::move(opts)),
      http_(std::make_unique<HttpClient>(
          ex, HttpClientOptions{opts_.address, opts_.max_idle, opts_.max_in_flight})) {}

RpcClient::~RpcClient() = default;

const std::string& RpcClient::address() const {
  return opts_.address;
}

asio::awaitable<json> RpcClient::call(std::string method, json params,
                                      std::chrono::milliseconds deadline) {
  HttpFields headers{{"Content-Type", "application/json"}};
  if (!opts_.secret.empty()) headers.emplace_back(kRpcSecretHeader, opts_.secret);
  // (capped: a deadline of years from [rpc] timeout must not overflow the clock)
  headers.emplace_back(kRpcDeadlineHeader,
                       std::to_string(unix_millis(std::chrono::system_clock::now() +
                                                  std::min(deadline, kMaxDeadline))));
  HttpResponse res;
  try {
    // The awaitable is built outside co_await: g++ 12 destroys temporaries there twice.
    auto pending = http_->request("POST", "/rpc/" + method,
                                  params.dump(-1, ' ', false, json::error_handler_t::replace),
                                  std::move(headers), deadline);
    res = co_await std::move(pending);
  } catch (const boost::system::system_error& e) {
    bool timed_out = e.code() == asio::error::timed_out;
    throw RpcError(timed_out ? rpc_code::timeout : rpc_code::unavailable,
                   "rpc " + method + " to " + opts_.address + ": " + e.what());
  }
  json body = json::parse(res.body, nullptr, false);
  if (body.is_object() && body.contains("result") && res.status == 200) {
    co_return std::move(body["result"]);
  }
  if (body.is_object() && body.contains("error") && body["error"].is_object()) {
    auto& err = body["error"];
    auto code = err.find("code");
    auto message = err.find("message");
    throw RpcError(
        code != err.end() && code->is_number_integer() ? code->get<int>() : rpc_code::internal,
        message != err.end() && message->is_string() ? message->get<std::string>()
                                                     : std::string("malformed error"));
  }
  throw RpcError(rpc_code::internal,
                 "rpc " + method + " to " + opts_.address + ": HTTP " + std::to_string(res.status));
}

}  // namespace appmsg
