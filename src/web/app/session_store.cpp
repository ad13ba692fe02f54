// Reading sessions and setting their state in Redis.
#include "web/app/session_store.hpp"

#include <algorithm>
#include <stdexcept>

#include "common/session_keys.hpp"

namespace appmsg::web::app {

namespace asio = boost::asio;

namespace {
constexpr size_t kUsersPerPipeline = 500;  // 1,000 commands in one pipeline, at most
}  // namespace

int64_t SessionStore::oldest_live() const {
  auto now = std::chrono::duration_cast<std::chrono::seconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count();
  return now - ttl_.count();
}

asio::awaitable<std::map<std::string, std::vector<Session>>> SessionStore::of_users(
    std::vector<std::string> uids) {
  std::sort(uids.begin(), uids.end());
  uids.erase(std::unique(uids.begin(), uids.end()), uids.end());
  // Two commands per user, grouped by shard: the live members with their scores, and the info.
  std::map<RedisClient*, std::vector<size_t>> by_shard;
  for (size_t i = 0; i < uids.size(); ++i) {
    by_shard[&redis_.for_key(sessions::shard_key(uids[i]))].push_back(i);
  }
  const std::string min = std::to_string(oldest_live());
  std::map<std::string, std::vector<Session>> out;
  for (auto& [client, all_users] : by_shard) {
    for (size_t from = 0; from < all_users.size(); from += kUsersPerPipeline) {
      std::vector<size_t> users(
          all_users.begin() + static_cast<std::ptrdiff_t>(from),
          all_users.begin() +
              static_cast<std::ptrdiff_t>(std::min(all_users.size(), from + kUsersPerPipeline)));
      std::vector<std::vector<std::string>> cmds;
      for (size_t i : users) {
        cmds.push_back({"ZRANGEBYSCORE", sessions::index_key(uids[i]), min, "+inf", "WITHSCORES"});
        cmds.push_back({"HGETALL", sessions::info_key(uids[i])});
      }
      auto op = client->pipeline(std::move(cmds));
      auto replies = co_await std::move(op);
      for (size_t j = 0; j < users.size(); ++j) {
        const auto& index = replies.at(2 * j);
        const auto& info = replies.at(2 * j + 1);
        if (index.is_error() || info.is_error()) {
          throw std::runtime_error("redis: " + (index.is_error() ? index.str : info.str));
        }
        if (index.elements.empty()) continue;
        std::map<std::string, std::string> fields;
        for (size_t k = 0; k + 1 < info.elements.size(); k += 2) {
          fields[info.elements[k].str] = info.elements[k + 1].str;
        }
        const std::string& uid = uids[users[j]];
        auto& list = out[uid];
        for (size_t k = 0; k + 1 < index.elements.size(); k += 2) {
          Session s;
          s.id = index.elements[k].str;
          s.user_id = uid;
          auto rest = s.id.substr(std::min(s.id.size(), s.id.find('_') + 1));
          s.type = rest.substr(0, rest.find('-'));
          s.updated = static_cast<int64_t>(std::stod(index.elements[k + 1].str));
          auto st = fields.find("s:" + s.id);
          s.state = st == fields.end() ? "init" : st->second;
          auto cr = fields.find("c:" + s.id);
          s.created = cr == fields.end() ? s.updated : std::atoll(cr->second.c_str());
          list.push_back(std::move(s));
        }
        std::sort(list.begin(), list.end(),
                  [](const Session& a, const Session& b) { return a.id < b.id; });
      }
    }
  }
  co_return out;
}

asio::awaitable<bool> SessionStore::set_state(std::string uid, std::string sid, std::string state) {
  auto op = redis_.for_key(sessions::shard_key(uid))
                .command({"EVAL", sessions::kSetStateScript, "2", sessions::index_key(uid),
                          sessions::info_key(uid), sid, state, std::to_string(oldest_live())});
  auto r = co_await std::move(op);
  if (r.is_error()) throw std::runtime_error("redis: " + r.str);
  co_return r.integer == 1;
}

}  // namespace appmsg::web::app
