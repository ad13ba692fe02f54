// Children and data watches, re-armed after every event, reconnect and session expiry.
#include "common/zk_client_impl.hpp"

namespace appmsg {

void ZkClient::Impl::node_watcher(zhandle_t*, int type, int, const char*, void* data) {
  if (type == ZOO_SESSION_EVENT) return;  // session changes are handled by session_watcher
  auto* ctx = static_cast<WatchCtx*>(data);
  auto impl = ctx->impl.lock();
  if (!impl) return;
  asio::post(impl->ex, [w = ctx->impl, id = ctx->id, reg = ctx->registration, type] {
    auto self = w.lock();
    if (!self || self->closed) return;
    if (reg) {
      self->on_own_node_event(id, type);
    } else {
      self->arm(id);
    }
  });
}

ZkClient::Impl::WatchCtx* ZkClient::Impl::watch_ctx(uint64_t id, bool registration) {
  auto& index = registration ? ctx_by_reg : ctx_by_watch;
  auto& slot = index[id];
  if (!slot) slot = std::make_unique<WatchCtx>(WatchCtx{weak_from_this(), id, registration});
  return slot.get();
}

void ZkClient::Impl::retire_ctx(uint64_t id, bool registration) {
  auto& index = registration ? ctx_by_reg : ctx_by_watch;
  auto it = index.find(id);
  if (it == index.end()) return;
  if (zh) retired_ctxs.push_back(std::move(it->second));
  index.erase(it);
}

uint64_t ZkClient::Impl::add_watch(uint64_t id, Watch w) {
  w.needs_arm = !is_connected;  // armed on connect otherwise
  watches.emplace(id, std::move(w));
  if (is_connected) arm(id);
  return id;
}

void ZkClient::Impl::arm(uint64_t id) {
  auto it = watches.find(id);
  if (it == watches.end() || !it->second.active || !zh) return;
  it->second.needs_arm = false;
  WatchCtx* ctx = watch_ctx(id, false);
  const std::string path = it->second.path;
  auto done = [self = shared_from_this(), id, ctx](int rc, OpResult r) {
    auto wit = self->watches.find(id);
    if (wit == self->watches.end() || !wit->second.active) return;
    Watch& w = wit->second;
    if (rc == ZOK) {
      if (w.kind == WatchKind::children) {
        w.on_children(r.children);
      } else {
        w.on_data(std::optional<std::string>(std::move(r.value)));
      }
    } else if (rc == ZNONODE) {
      // Missing: report it and wait for the node to appear.
      if (w.kind == WatchKind::children) {
        w.on_children({});
      } else {
        w.on_data(std::nullopt);
      }
      self->exists_op(w.path, ctx, [self, id](int rc2, OpResult r2) {
        if (rc2 == ZOK && r2.has_value)
          self->arm(id);  // appeared meanwhile
        else if (rc2 != ZNONODE)
          self->arm_failed(id, rc2);
      });
    } else {
      self->arm_failed(id, rc);
    }
  };
  if (it->second.kind == WatchKind::children) {
    op(
        [&](zhandle_t* h, OpCtx* c) {
          return zoo_awget_children(h, path.c_str(), &Impl::node_watcher, ctx, strings_done, c);
        },
        std::move(done));
  } else {
    op([&](zhandle_t* h,
           OpCtx* c) { return zoo_awget(h, path.c_str(), &Impl::node_watcher, ctx, data_done, c); },
       std::move(done));
  }
}

void ZkClient::Impl::arm_failed(uint64_t id, int rc) {
  auto it = watches.find(id);
  if (it == watches.end()) return;
  if (is_connection_error(rc)) {
    it->second.needs_arm = true;  // re-armed on the next (re)connect
  } else {
    spdlog::warn("zookeeper: watching {} failed ({}), retrying", it->second.path, zerror(rc));
    retry_later([self = shared_from_this(), id] { self->arm(id); });
  }
}

}  // namespace appmsg
