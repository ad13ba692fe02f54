// PBKDF2 password hashes and their check.
#include "web/app/password.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <optional>
#include <stdexcept>
#include <vector>

namespace appmsg::web::app {

namespace {

constexpr std::string_view kScheme = "pbkdf2-sha256$";
constexpr size_t kSaltBytes = 16, kHashBytes = 32;

std::string hex(const unsigned char* p, size_t n) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    out.push_back(digits[p[i] >> 4]);
    out.push_back(digits[p[i] & 15]);
  }
  return out;
}

std::optional<std::vector<unsigned char>> unhex(std::string_view s) {
  if (s.size() % 2) return std::nullopt;
  std::vector<unsigned char> out;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  for (size_t i = 0; i < s.size(); i += 2) {
    int hi = nibble(s[i]), lo = nibble(s[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<unsigned char>(hi * 16 + lo));
  }
  return out;
}

std::vector<unsigned char> derive(std::string_view password, const std::vector<unsigned char>& salt,
                                  int iterations, size_t bytes) {
  std::vector<unsigned char> out(bytes);
  if (PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()), salt.data(),
                        static_cast<int>(salt.size()), iterations, EVP_sha256(),
                        static_cast<int>(bytes), out.data()) != 1) {
    throw std::runtime_error("PBKDF2 failed");
  }
  return out;
}

struct Parsed {
  int iterations;
  std::vector<unsigned char> salt, hash;
};

std::optional<Parsed> parse(std::string_view stored) {
  if (stored.substr(0, kScheme.size()) != kScheme) return std::nullopt;
  auto rest = stored.substr(kScheme.size());
  auto d1 = rest.find('$');
  if (d1 == std::string_view::npos) return std::nullopt;
  auto d2 = rest.find('$', d1 + 1);
  if (d2 == std::string_view::npos) return std::nullopt;
  int iterations = 0;
  for (char c : rest.substr(0, d1)) {
    if (c < '0' || c > '9' || iterations > 100'000'000) return std::nullopt;
    iterations = iterations * 10 + (c - '0');
  }
  auto salt = unhex(rest.substr(d1 + 1, d2 - d1 - 1));
  auto hash = unhex(rest.substr(d2 + 1));
  if (iterations <= 0 || !salt || !hash || hash->empty()) return std::nullopt;
  return Parsed{iterations, std::move(*salt), std::move(*hash)};
}

}  // namespace

std::string hash_password(std::string_view password, int iterations) {
  std::vector<unsigned char> salt(kSaltBytes);
  if (RAND_bytes(salt.data(), static_cast<int>(salt.size())) != 1) {
    throw std::runtime_error("RAND_bytes failed");
  }
  auto h = derive(password, salt, iterations, kHashBytes);
  return std::string(kScheme) + std::to_string(iterations) + "$" + hex(salt.data(), salt.size()) +
         "$" + hex(h.data(), h.size());
}

bool verify_password(std::string_view password, std::string_view stored) {
  if (stored.empty()) return false;
  if (stored.substr(0, kScheme.size()) != kScheme) {  // an original plaintext password
    return password.size() == stored.size() &&
           CRYPTO_memcmp(password.data(), stored.data(), stored.size()) == 0;
  }
  auto p = parse(stored);
  if (!p) return false;
  auto h = derive(password, p->salt, p->iterations, p->hash.size());
  return CRYPTO_memcmp(h.data(), p->hash.data(), h.size()) == 0;
}

bool needs_rehash(std::string_view stored, int iterations) {
  auto p = parse(stored);
  return !p || p->iterations < iterations;
}

}  // namespace appmsg::web::app
