// Member and Session objects.
#include "web/app/member_json.hpp"

#include <ctime>

namespace appmsg::web::app {

ojson member_json(const User& u, int star_friend) {
  ojson m;
  m["uid"] = u.id;
  m["userName"] = u.id + "@user";
  m["name"] = u.name;
  m["nickName"] = u.nickname;
  m["headImgUrl"] = "";
  m["memberCount"] = 0;
  m["memberList"] = nullptr;
  m["pYInitial"] = u.name_py;
  m["pYQuanPin"] = u.name_quanpin;
  m["status"] = std::to_string(u.status);
  m["starFriend"] = star_friend;
  m["avatar"] = u.avatar;
  m["sort"] = 0;
  m["password"] = "";
  m["tenantId"] = u.tenant_id;
  m["email"] = u.email;
  m["mobile"] = u.mobile;
  m["tel"] = "";
  m["area"] = u.area;
  m["description"] = "";
  m["orgName"] = "";
  return m;
}

ojson node_json(const std::string& id, const std::string& suffix, const std::string& name,
                int64_t sort, ojson children) {
  ojson m = member_json(User{});
  m["uid"] = id;
  m["userName"] = id.empty() ? "" : id + suffix;
  m["nickName"] = name;
  m["sort"] = sort;
  m["status"] = "0";
  m["memberCount"] = children.is_array() ? children.size() : 0;
  m["memberList"] = std::move(children);
  return m;
}

std::string rfc3339(int64_t unix_seconds) {
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

ojson session_json(const Session& s) {
  return ojson{{"id", s.id},
               {"type", s.type},
               {"userId", s.user_id},
               {"sate", s.state},
               {"state", s.state},
               {"created", rfc3339(s.created)},
               {"updated", rfc3339(s.updated)}};
}

}  // namespace appmsg::web::app
