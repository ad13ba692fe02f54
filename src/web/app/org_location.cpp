// Location codes: two base-36 digits per level.
#include "web/app/org_location.hpp"

#include <set>

namespace appmsg::web::app {

namespace {

constexpr int kBase = 36;
constexpr int kCodes = kBase * kBase;

int digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'z') return c - 'a' + 10;
  return -1;
}

std::string code_of(int n) {
  static const char* alphabet = "0123456789abcdefghijklmnopqrstuvwxyz";
  return {alphabet[n / kBase], alphabet[n % kBase]};
}

}  // namespace

std::optional<std::string> code_under(const std::string& parent, const std::string& location) {
  if (location.size() != parent.size() + 2 || location.compare(0, parent.size(), parent) != 0) {
    return std::nullopt;
  }
  std::string code = location.substr(parent.size());
  if (digit(code[0]) < 0 || digit(code[1]) < 0) return std::nullopt;
  return code;
}

std::optional<std::string> next_location(const std::string& parent,
                                         const std::vector<std::string>& siblings) {
  std::set<int> used;
  for (auto& s : siblings) {
    if (auto code = code_under(parent, s))
      used.insert(digit((*code)[0]) * kBase + digit((*code)[1]));
  }
  if (used.empty()) return parent + code_of(0);
  if (*used.rbegin() + 1 < kCodes) return parent + code_of(*used.rbegin() + 1);
  for (int n = 0; n < kCodes; ++n) {
    if (!used.count(n)) return parent + code_of(n);
  }
  return std::nullopt;
}

}  // namespace appmsg::web::app
