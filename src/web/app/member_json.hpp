// The shared JSON shapes of answers (spec/app-api.md 1.7) [compat]: Member (every key always
// present; `password` always "", never the stored value) and Session (with the original's
// misspelled `sate`, and `state` beside it).
#pragma once

#include <string>

#include "web/app/directory.hpp"
#include "web/app/envelope.hpp"
#include "web/app/session_store.hpp"

namespace appmsg::web::app {

ojson member_json(const User& u, int star_friend = 0);
// The Member shape of an org, tenant or app node: every key present, `memberList` null when
// `children` is null.
ojson node_json(const std::string& id, const std::string& suffix, const std::string& name,
                int64_t sort, ojson children);
ojson session_json(const Session& s);
std::string rfc3339(int64_t unix_seconds);  // UTC, "2026-12-07T13:40:48Z"

}  // namespace appmsg::web::app
