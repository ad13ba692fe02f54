// Reading the rows of the MySQL pool (all values arrive as text, NULL as nullopt): a column as
// text ("" for NULL or missing) or as an integer (0 when it is none).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace appmsg::web::app {

using Row = std::vector<std::optional<std::string>>;

inline std::string col(const Row& r, size_t i) {
  return i < r.size() ? r[i].value_or("") : "";
}

inline int64_t num(const Row& r, size_t i) {
  try {
    auto s = col(r, i);
    return s.empty() ? 0 : std::stoll(s);
  } catch (const std::exception&) {
    return 0;
  }
}

}  // namespace appmsg::web::app
