// The ZooKeeper handle and its session events (reconnect, expiry), and one asynchronous call.
#include <cerrno>
#include <cstring>

#include "common/zk_client_impl.hpp"

namespace appmsg {

void ZkClient::Impl::open_handle() {
  session_ctx = std::make_unique<SessionCtx>(SessionCtx{weak_from_this(), ++generation});
  zh =
      zookeeper_init(opts.hosts.c_str(), &Impl::session_watcher,
                     static_cast<int>(opts.session_timeout.count()), nullptr, session_ctx.get(), 0);
  if (!zh) {
    spdlog::error("zookeeper_init({}) failed: {}", opts.hosts, std::strerror(errno));
    retry_later([self = shared_from_this()] { self->open_handle(); });
  }
}

void ZkClient::Impl::close_handle() {
  if (zh) {
    zookeeper_close(zh);  // joins the library's threads; pending completions get ZCLOSING
    zh = nullptr;
    std::unordered_set<OpCtx*> left;
    {
      std::lock_guard lock(registry->mu);
      left.swap(registry->live);
    }
    for (OpCtx* c : left) delete c;  // never completed by the library
    retired_ctxs.clear();            // no handle can call them now
    session_ctx.reset();
  }
  is_connected = false;
  sid = 0;
}

void ZkClient::Impl::session_watcher(zhandle_t*, int type, int state, const char*, void* data) {
  if (type != ZOO_SESSION_EVENT) return;
  auto* ctx = static_cast<SessionCtx*>(data);
  auto impl = ctx->impl.lock();
  if (!impl) return;
  uint64_t gen = ctx->generation;
  asio::post(impl->ex, [w = ctx->impl, gen, state] {
    if (auto self = w.lock()) self->on_session_state(gen, state);
  });
}

void ZkClient::Impl::on_session_state(uint64_t gen, int state) {
  if (gen != generation || closed) return;
  if (state == ZOO_CONNECTED_STATE) {
    const clientid_t* id = zoo_client_id(zh);
    bool new_session = id->client_id != sid;
    is_connected = true;
    sid = id->client_id;
    spdlog::info("zookeeper: connected to {} (session 0x{:x}{})", opts.hosts, sid,
                 new_session ? ", new" : "");
    for (auto& [wid, w] : watches) {
      if (w.active && (new_session || w.needs_arm)) arm(wid);
    }
    sync_registrations();
    notify(ZkSessionState::connected);
  } else if (state == ZOO_EXPIRED_SESSION_STATE || state == ZOO_AUTH_FAILED_STATE) {
    spdlog::warn("zookeeper: session 0x{:x} {}; opening a new one", sid,
                 state == ZOO_EXPIRED_SESSION_STATE ? "expired" : "failed authentication");
    close_handle();
    for (auto& [rid, r] : regs) {
      r.actual.clear();
      r.in_flight = false;
      r.uncertain = false;
    }
    notify(ZkSessionState::expired);
    open_handle();
  } else if (state == ZOO_CONNECTING_STATE || state == ZOO_ASSOCIATING_STATE) {
    if (is_connected) spdlog::warn("zookeeper: disconnected, reconnecting");
    is_connected = false;
    notify(ZkSessionState::connecting);
  }
}

void ZkClient::Impl::notify(ZkSessionState s) {
  if (session_cb) session_cb(s);
}

void ZkClient::Impl::create_op(const std::string& path, const std::string& data, int flags,
                               OpDone done) {
  op(
      [&](zhandle_t* h, OpCtx* c) {
        return zoo_acreate(h, path.c_str(), data.data(), static_cast<int>(data.size()),
                           &ZOO_OPEN_ACL_UNSAFE, flags, string_done, c);
      },
      std::move(done));
}

void ZkClient::Impl::exists_op(const std::string& path, WatchCtx* watch, OpDone done) {
  op(
      [&](zhandle_t* h, OpCtx* c) {
        return watch ? zoo_awexists(h, path.c_str(), &Impl::node_watcher, watch, stat_done, c)
                     : zoo_aexists(h, path.c_str(), 0, stat_done, c);
      },
      std::move(done));
}

void ZkClient::Impl::ensure_path_op(const std::string& path, std::function<void(int)> done,
                                    size_t from) {
  auto next = path.find('/', from);
  std::string prefix = next == std::string::npos ? path : path.substr(0, next);
  if (prefix.empty() || prefix == "/") {
    done(ZOK);
    return;
  }
  create_op(prefix, "", 0,
            [self = shared_from_this(), path, next, done = std::move(done)](int rc, OpResult) {
              if (rc != ZOK && rc != ZNODEEXISTS) return done(rc);
              if (next == std::string::npos) return done(ZOK);
              self->ensure_path_op(path, done, next + 1);
            });
}

}  // namespace appmsg
