/*
 * mysql_dsn_fuzz: libFuzzer target for the Go MySQL driver DSN parser (common/mysql_dsn, the
 * value of db.conf's [base] app.dbURL and message.conf's [mysql.source]).
 *
 * Input: byte 0 picks the mode, the rest is text.
 *  - Mode even: the text is a DSN. parse_dsn must return or throw std::invalid_argument; a
 *    parsed DSN has a port in 1..65535, a host, and timeouts that are not negative.
 *  - Mode odd: the text is split at NUL bytes into user, password and database; a DSN is built
 *    from them (the database %-escaped byte by byte) and must parse back to the same three.
 * Besides crashing (ASan/UBSan), those are the failures.
 */
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <string_view>

#include "common/mysql_pool.hpp"

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

void parse_any(std::string_view dsn) {
  try {
    const auto o = appmsg::mysql::parse_dsn(dsn);
    check(o.port >= 1 && o.port <= 65535);
    check(!o.host.empty());
    check(o.connect_timeout.count() >= 0 && o.io_timeout.count() >= 0);
  } catch (const std::invalid_argument&) {
  } catch (...) {
    std::abort();
  }
}

std::string escaped(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    char buf[4];
    std::snprintf(buf, sizeof buf, "%%%02X", c);
    out += buf;
  }
  return out;
}

void round_trip(std::string_view text) {
  const auto a = text.find('\0');
  const auto b = a == std::string_view::npos ? a : text.find('\0', a + 1);
  if (b == std::string_view::npos) return;
  const auto user = text.substr(0, a), password = text.substr(a + 1, b - a - 1);
  const auto database = text.substr(b + 1);
  // The Go syntax cannot carry these unescaped: the user ends at ':', the user info at the
  // last '@', and the database starts after the last '/'.
  if (user.empty() || user.find_first_of(":@/") != std::string_view::npos) return;
  if (password.find('/') != std::string_view::npos) return;
  const std::string dsn = std::string(user) + ":" + std::string(password) +
                          "@tcp(127.0.0.1:3307)/" + escaped(database) + "?charset=utf8";
  const auto o = appmsg::mysql::parse_dsn(dsn);
  check(o.user == user && o.password == password && o.database == database);
  check(o.host == "127.0.0.1" && o.port == 3307);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] % 2 == 0) {
    parse_any(text);
  } else {
    round_trip(text);
  }
  return 0;
}
