// Small pieces the load tools share: "--name value" flags and latency percentiles.
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace appmsg::bench {

// "--name value" pairs; throws std::invalid_argument for a flag without a value.
class Flags {
 public:
  Flags(int argc, char** argv) {
    for (int i = 1; i < argc; i += 2) {
      std::string k = argv[i];
      if (k.rfind("--", 0) != 0) throw std::invalid_argument("not a flag: " + k);
      if (i + 1 >= argc) throw std::invalid_argument("missing value for " + k);
      values_[k.substr(2)] = argv[i + 1];
    }
  }
  // Each read consumes its flag; unknown() lists what nobody read.
  void read(const std::string& name, std::string& out) {
    take(name, [&](auto& v) { out = v; });
  }
  void read(const std::string& name, int& out) {
    take(name, [&](auto& v) { out = std::stoi(v); });
  }
  void check_all_known() const {
    if (!values_.empty()) throw std::invalid_argument("unknown option --" + values_.begin()->first);
  }

 private:
  template <class F>
  void take(const std::string& name, F f) {
    auto it = values_.find(name);
    if (it == values_.end()) return;
    f(it->second);
    values_.erase(it);
  }
  std::map<std::string, std::string> values_;
};

// The p-quantile (0..1) of nanosecond samples, in milliseconds; reorders `ns`.
inline double percentile_ms(std::vector<int64_t>& ns, double p) {
  if (ns.empty()) return 0;
  size_t i = std::min(ns.size() - 1, static_cast<size_t>(p * static_cast<double>(ns.size())));
  std::nth_element(ns.begin(), ns.begin() + static_cast<long>(i), ns.end());
  return static_cast<double>(ns[i]) / 1e6;
}

}  // namespace appmsg::bench
