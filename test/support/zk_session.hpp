// Forces ZooKeeper to expire a session, as a real timeout would: a second handle attaches to
// the same session (id and password) and closes it, which ends the session on the server; the
// original client then sees SESSION_EXPIRED on its next contact.
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
  std::atomic<bool> connected{false};
  zhandle_t* zh = zookeeper_init(
      connect_string.c_str(),
      [](zhandle_t*, int type, int state, const char*, void* ctx) {
        if (type == ZOO_SESSION_EVENT && state == ZOO_CONNECTED_STATE) {
          static_cast<std::atomic<bool>*>(ctx)->store(true);
        }
      },
      6000, &cid, &connected, 0);
  if (!zh) throw std::runtime_error("zookeeper_init failed");
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!connected && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  zookeeper_close(zh);
  if (!connected) throw std::runtime_error("could not attach to the session");
}

}  // namespace appmsg::test
