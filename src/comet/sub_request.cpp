// The subscription request's checks, shared by the TCP command and the WebSocket query.
#include "comet/sub_request.hpp"

#include <string_view>

#include "common/http.hpp"

namespace appmsg::comet {

namespace {

std::optional<SubRequest> make_sub(std::string_view key, std::string_view heartbeat,
                                   std::string_view token, std::string_view version,
                                   std::optional<std::string_view> mid, const SubLimits& limits) {
  if (key.empty() || key.size() > limits.max_key_bytes) return std::nullopt;
  const auto hb = parse_go_int(heartbeat);
  if (!hb || *hb < limits.min_heartbeat || *hb > limits.max_heartbeat) return std::nullopt;
  if (token.size() > limits.max_token_bytes) return std::nullopt;
  if (version.size() > limits.max_version_bytes) return std::nullopt;
  SubRequest req;
  if (mid) {
    const auto m = parse_go_int(*mid);
    if (!m || *m < 0) return std::nullopt;
    req.resume_mid = *m;
  }
  req.key = key;
  req.heartbeat = static_cast<int>(*hb);
  req.token = token;
  req.version = version;
  return req;
}

}  // namespace

std::optional<SubRequest> parse_sub(const std::vector<std::string>& args, const SubLimits& limits) {
  // sub key heartbeat [token [version [mid]]]
  if (args.size() < 3 || args.size() > 6 || args[0] != "sub") return std::nullopt;
  const std::string_view none;
  return make_sub(
      args[1], args[2], args.size() > 3 ? args[3] : none, args.size() > 4 ? args[4] : none,
      args.size() > 5 ? std::optional<std::string_view>(args[5]) : std::nullopt, limits);
}

std::optional<SubRequest> parse_sub_query(
    const std::vector<std::pair<std::string, std::string>>& query, const SubLimits& limits) {
  // Go's url.Values.Get: the first value of a name, "" when absent.
  auto get = [&query](std::string_view name) -> std::optional<std::string_view> {
    for (const auto& [k, v] : query) {
      if (k == name) return std::string_view(v);
    }
    return std::nullopt;
  };
  return make_sub(get("key").value_or(""), get("heartbeat").value_or(""), get("token").value_or(""),
                  get("ver").value_or(""), get("mid"), limits);
}

}  // namespace appmsg::comet
