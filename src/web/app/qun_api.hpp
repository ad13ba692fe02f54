// The qun (chat group) routes (spec/app-api.md 3.5 with its [fix] items): device/create-qun,
// getQunMembers, updateQunTopic, addQunMember, delQunMember; and device/getQunList (ours, for
// clients that list their groups: {"qunCount":N,"qunList":[Member of each qun the caller
// belongs to, by name, with memberCount and creator]}).
//
// Rules: the caller is the token's user and its tenant must exist (checked first); members
// are users of the caller's tenant; only members read or change a qun; only its creator
// removes others (anyone may leave); a qun holds at most its max_member (100) members (65532
// beyond). Each change is one MySQL transaction that locks the qun row, so concurrent changes
// cannot pass the limit or lose a member. Roles: the creator 0 (owner), the others 2.
// Policy for leaving: when the creator leaves, the longest-standing remaining member becomes
// the creator (role 0); when the last member leaves, the qun is deleted. After the commit the
// notices (qun_notices.hpp) go to the members as of the commit, and this node's qun caches
// are dropped.
#pragma once

namespace appmsg {
class HttpRouter;
}

namespace appmsg::web::app {

struct AppContext;
void add_qun_routes(HttpRouter& router, AppContext& ctx);

}  // namespace appmsg::web::app
