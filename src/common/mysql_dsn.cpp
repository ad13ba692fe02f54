// Go MySQL driver DSNs (the original's [mysql.source] values) as pool Options.
#include <charconv>
#include <stdexcept>
#include <string>
#include <string_view>

#include "common/mysql_pool.hpp"

namespace appmsg::mysql {

using std::chrono::milliseconds;

namespace {

// ---------------------------------------------------------------------------------------------
// DSN parsing (Go driver syntax)

[[noreturn]] void bad_dsn(std::string_view why) {
  throw std::invalid_argument("invalid MySQL DSN: " + std::string(why));
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string unescape(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%') {
      if (i + 2 >= s.size()) bad_dsn("truncated %-escape");
      int hi = hex_value(s[i + 1]), lo = hex_value(s[i + 2]);
      if (hi < 0 || lo < 0) bad_dsn("bad %-escape");
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (plus_is_space && s[i] == '+') {
      out.push_back(' ');
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

// Go's time.ParseDuration for non-negative values: "300ms", "1.5s", "2m30s", "0".
milliseconds parse_go_duration(std::string_view s) {
  if (s == "0") return milliseconds(0);
  if (s.empty()) bad_dsn("empty duration");
  double total_ns = 0;
  while (!s.empty()) {
    size_t n = 0;
    while (n < s.size() && ((s[n] >= '0' && s[n] <= '9') || s[n] == '.')) ++n;
    if (n == 0) bad_dsn("bad duration");
    double number = 0;
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + n, number);
    if (ec != std::errc() || ptr != s.data() + n) bad_dsn("bad duration");
    s.remove_prefix(n);
    static constexpr std::pair<std::string_view, double> kUnits[] = {
        {"ns", 1},   {"us", 1e3}, {"\xC2\xB5s", 1e3}, {"\xCE\xBCs", 1e3},
        {"ms", 1e6}, {"s", 1e9},  {"m", 60e9},        {"h", 3600e9}};
    bool matched = false;
    for (auto [unit, scale] : kUnits) {
      // "ms" comes before "m" in the table, so it wins.
      if (s.substr(0, unit.size()) == unit) {
        total_ns += number * scale;
        s.remove_prefix(unit.size());
        matched = true;
        break;
      }
    }
    if (!matched) bad_dsn("missing or unknown unit in duration");
  }
  // As Go: a duration is an int64 of nanoseconds (about 292 years).
  if (total_ns >= 9223372036854775808.0) bad_dsn("duration out of range");
  return milliseconds(static_cast<int64_t>(total_ns / 1e6));
}

void parse_address(std::string_view addr, Options& o) {
  std::string_view host = addr, port;
  if (!addr.empty() && addr.front() == '[') {  // [v6]:port
    auto close = addr.find(']');
    if (close == std::string_view::npos) bad_dsn("missing ']' in address");
    host = addr.substr(1, close - 1);
    auto after = addr.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') bad_dsn("garbage after ']' in address");
      port = after.substr(1);
    }
  } else if (auto colon = addr.rfind(':'); colon != std::string_view::npos) {
    host = addr.substr(0, colon);
    port = addr.substr(colon + 1);
  }
  if (!host.empty()) o.host = std::string(host);
  if (!port.empty()) {
    int p = 0;
    auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
    if (ec != std::errc() || ptr != port.data() + port.size() || p < 1 || p > 65535) {
      bad_dsn("bad port");
    }
    o.port = p;
  }
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// DSN

Options parse_dsn(std::string_view dsn) {
  Options o;
  if (dsn.empty()) return o;
  // As the Go driver: the database name follows the last '/' (the password or a socket path
  // may contain '/'; param values must escape it as %2F).
  auto slash = dsn.rfind('/');
  if (slash == std::string_view::npos) bad_dsn("missing '/' before the database name");
  std::string_view head = dsn.substr(0, slash);
  std::string_view tail = dsn.substr(slash + 1);

  // [user[:password]@][net[(addr)]]; the password may contain '@' and ':'.
  if (auto at = head.rfind('@'); at != std::string_view::npos) {
    std::string_view userinfo = head.substr(0, at);
    head = head.substr(at + 1);
    auto colon = userinfo.find(':');
    o.user = std::string(userinfo.substr(0, colon));
    o.password = colon == std::string_view::npos ? "" : std::string(userinfo.substr(colon + 1));
  }
  std::string_view net = head, addr;
  if (auto open = head.find('('); open != std::string_view::npos) {
    if (head.back() != ')') bad_dsn("address must be enclosed in '(' ')'");
    net = head.substr(0, open);
    addr = head.substr(open + 1, head.size() - open - 2);
  }
  if (net.empty() || net == "tcp" || net == "tcp4" || net == "tcp6") {
    parse_address(addr, o);
  } else if (net == "unix") {
    o.host = "localhost";  // Connector/C uses the socket only for host "localhost"
    o.unix_socket = addr.empty() ? "/run/mysqld/mysqld.sock" : std::string(addr);
  } else {
    bad_dsn("unknown network '" + std::string(net) + "'");
  }

  std::string_view query;
  if (auto q = tail.find('?'); q != std::string_view::npos) {
    query = tail.substr(q + 1);
    tail = tail.substr(0, q);
  }
  o.database = unescape(tail, false);

  milliseconds read_timeout{-1}, write_timeout{-1};
  while (!query.empty()) {
    auto amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (pair.empty()) continue;
    auto eq = pair.find('=');
    if (eq == std::string_view::npos) bad_dsn("missing '=' in parameter");
    std::string_view key = pair.substr(0, eq);
    std::string value = unescape(pair.substr(eq + 1), true);
    if (key == "timeout") {
      o.connect_timeout = parse_go_duration(value);
    } else if (key == "readTimeout") {
      read_timeout = parse_go_duration(value);
    } else if (key == "writeTimeout") {
      write_timeout = parse_go_duration(value);
    }
    // Other Go driver params (charset, parseTime, loc, ...) do not apply here.
  }
  if (read_timeout.count() >= 0 || write_timeout.count() >= 0) {
    o.io_timeout = std::max(read_timeout, write_timeout);
  }
  return o;
}

}  // namespace appmsg::mysql
