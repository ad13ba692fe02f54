// iOS device tokens of users (spec/app-api.md 3.6): device/addApnsToken, device/delApnsToken,
// and the step of device/login that saves one. A device token belongs to one user at a time
// (UNIQUE device_id): saving it moves it to the saving user in one statement.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <string>

#include "web/app/app_context.hpp"

namespace appmsg {
class HttpRouter;
}

namespace appmsg::web::app {

constexpr size_t kMaxApnsTokenBytes = 200;

// Throws mysql::Error.
boost::asio::awaitable<void> save_apns_token(AppContext& ctx, std::string uid, std::string token);
void add_apns_token_routes(HttpRouter& router, AppContext& ctx);

}  // namespace appmsg::web::app
