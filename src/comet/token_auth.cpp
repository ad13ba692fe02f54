// Token checks against Redis.
#include "comet/token_auth.hpp"

#include <spdlog/spdlog.h>

#include "common/spawn.hpp"

namespace appmsg::comet {

namespace asio = boost::asio;

std::string_view user_of_key(std::string_view key) {
  return key.substr(0, key.find_first_of("_@"));
}

std::string_view user_of_token(std::string_view token) {
  auto pos = token.find('_');
  return pos == std::string_view::npos ? std::string_view() : token.substr(0, pos);
}

TokenAuth::TokenAuth(asio::any_io_executor control, RedisShards& redis,
                     std::atomic<uint64_t>& errors)
    : ex_(std::move(control)), redis_(redis), errors_(errors) {}

void TokenAuth::check(const SubRequest& req, std::function<void(AuthResult)> done) {
  auto user = user_of_token(req.token);
  if (user.empty() || user != user_of_key(req.key)) return done(AuthResult::bad_token);
  spawn(
      ex_,
      [this, token = req.token, done = std::move(done),
       alive = lifeline_.token()]() -> asio::awaitable<void> {
        AuthResult result = AuthResult::bad_token;
        if (!*alive) co_return;
        try {
          std::vector<std::string> cmd{"EXISTS", token};
          auto op = redis_.for_key(token).command(std::move(cmd));
          auto reply = co_await std::move(op);
          if (reply.type == RedisReply::Type::integer && reply.integer == 1)
            result = AuthResult::ok;
        } catch (const std::exception& e) {
          if (!*alive) co_return;
          if (errors_.fetch_add(1, std::memory_order_relaxed) % 100 == 0) {
            spdlog::warn("auth: token lookup failed: {}", e.what());
          }
        }
        if (!*alive) co_return;
        done(result);
      },
      "auth: token lookup");
}

}  // namespace appmsg::comet
