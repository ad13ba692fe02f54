// Forces ZooKeeper to expire a session, as a real timeout would: a second handle attaches to
// the same session (id and password) and closes it, which ends the session on the server; the
// original client then sees SESSION_EXPIRED on its next contact. Returns once a further attach
// is refused as expired.
#pragma once

#include <zookeeper/zookeeper.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>

namespace appmsg::test {

inline void expire_zk_session(const std::string& connect_string,
                              const std::pair<int64_t, std::string>& credentials) {
  if (credentials.first == 0) throw std::runtime_error("no session to expire");
  clientid_t cid{};
  cid.client_id = credentials.first;
  std::memcpy(cid.passwd, credentials.second.data(),
              std::min(sizeof(cid.passwd), credentials.second.size()));
  // The original client may reconnect and take the session back before the close reaches the
  // server (then the session lives on): attach again until the server says it has expired.
  for (int round = 0; round < 10; ++round) {
    std::atomic<int> state{0};  // 1 attached, 2 expired
    zhandle_t* zh = zookeeper_init(
        connect_string.c_str(),
        [](zhandle_t*, int type, int st, const char*, void* ctx) {
          if (type != ZOO_SESSION_EVENT) return;
          auto* out = static_cast<std::atomic<int>*>(ctx);
          if (st == ZOO_CONNECTED_STATE) out->store(1);
          if (st == ZOO_EXPIRED_SESSION_STATE) out->store(2);
        },
        6000, &cid, &state, 0);
    if (!zh) throw std::runtime_error("zookeeper_init failed");
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (state == 0 && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    zookeeper_close(zh);  // attached: this ends the session on the server
    if (state == 2) return;
    if (state == 0) throw std::runtime_error("could not attach to the session");
  }
  throw std::runtime_error("the session did not expire after 10 closes");
}

}  // namespace appmsg::test
