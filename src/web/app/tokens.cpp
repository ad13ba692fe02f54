// User tokens in Redis.
#include "web/app/tokens.hpp"

#include <openssl/rand.h>

#include <stdexcept>

namespace appmsg::web::app {

namespace asio = boost::asio;

std::string uid_of_token(std::string_view token) {
  auto us = token.find('_');
  return us == std::string_view::npos ? std::string() : std::string(token.substr(0, us));
}

namespace {

void check(const RedisReply& r) {
  if (r.is_error()) throw std::runtime_error("redis: " + r.str);
}

}  // namespace

asio::awaitable<std::string> Tokens::create(std::string uid) {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof bytes) != 1) throw std::runtime_error("RAND_bytes failed");
  static const char* digits = "0123456789abcdef";
  std::string token = uid + "_";
  for (unsigned char b : bytes) {
    token.push_back(digits[b >> 4]);
    token.push_back(digits[b & 15]);
  }
  auto now = std::chrono::duration_cast<std::chrono::seconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count();
  const std::string ttl = std::to_string(ttl_.count());
  auto op = redis_.for_key(token).pipeline(
      {{"HSET", token, "expire", std::to_string(now + ttl_.count())}, {"EXPIRE", token, ttl}});
  auto replies = co_await std::move(op);
  for (auto& r : replies) check(r);
  co_return token;
}

asio::awaitable<std::optional<std::string>> Tokens::touch(std::string token) {
  auto uid = uid_of_token(token);
  if (uid.empty()) co_return std::nullopt;
  // EXPIRE answers 0 for a missing key: one round trip checks and extends.
  auto op = redis_.for_key(token).command({"EXPIRE", token, std::to_string(ttl_.count())});
  auto r = co_await std::move(op);
  check(r);
  if (r.integer != 1) co_return std::nullopt;
  co_return uid;
}

asio::awaitable<bool> Tokens::remove(std::string token) {
  auto op = redis_.for_key(token).command({"DEL", token});
  auto r = co_await std::move(op);
  check(r);
  co_return r.integer > 0;
}

}  // namespace appmsg::web::app
