// Ephemeral registrations kept alive: created, adopted after an uncertain create, re-created after
// a session expiry or a deletion.
#include "common/zk_client_impl.hpp"

namespace appmsg {

void ZkClient::Impl::sync_registrations() {
  if (!is_connected) return;
  for (auto& [id, r] : regs) {
    if (r.actual.empty() && !r.in_flight) create_registration(id);
  }
}

void ZkClient::Impl::create_registration(uint64_t id) {
  auto it = regs.find(id);
  if (it == regs.end() || !is_connected) return;
  Registration& r = it->second;
  r.in_flight = true;
  if (r.uncertain && r.sequential) return adopt_sequential(id);
  int flags = ZOO_EPHEMERAL | (r.sequential ? ZOO_SEQUENCE : 0);
  create_op(r.path, r.data, flags, [self = shared_from_this(), id](int rc, OpResult res) {
    auto rit = self->regs.find(id);
    if (rit == self->regs.end()) {  // unregistered while the create was under way
      if (rc == ZOK) {
        self->op([&](zhandle_t* h,
                     OpCtx* c) { return zoo_adelete(h, res.value.c_str(), -1, void_done, c); },
                 [](int, OpResult) {});
      }
      return;
    }
    Registration& reg = rit->second;
    reg.in_flight = false;
    if (rc == ZOK) {
      reg.uncertain = false;
      self->registered(id, res.value);
    } else if (rc == ZNONODE) {
      self->ensure_path_op(parent_of(reg.path), [self, id](int rc2) {
        if (rc2 == ZOK) return self->create_registration(id);
        self->registration_failed(id, rc2);
      });
    } else if (rc == ZNODEEXISTS && !reg.sequential) {
      self->adopt_plain(id);
    } else {
      if (rc == ZCONNECTIONLOSS || rc == ZOPERATIONTIMEOUT) reg.uncertain = true;
      self->registration_failed(id, rc);
    }
  });
}

void ZkClient::Impl::adopt_plain(uint64_t id) {
  auto& r = regs.at(id);
  r.in_flight = true;
  exists_op(r.path, nullptr, [self = shared_from_this(), id](int rc, OpResult res) {
    auto it = self->regs.find(id);
    if (it == self->regs.end()) return;
    it->second.in_flight = false;
    if (rc == ZOK && res.ephemeral_owner == self->sid) return self->registered(id, it->second.path);
    spdlog::warn("zookeeper: {} is held by another session; retrying", it->second.path);
    self->retry_later([self, id] { self->create_registration(id); });
  });
}

void ZkClient::Impl::adopt_sequential(uint64_t id) {
  auto& r = regs.at(id);
  std::string parent = parent_of(r.path);
  std::string prefix = r.path.substr(parent.size() == 1 ? 1 : parent.size() + 1);
  op([&](zhandle_t* h,
         OpCtx* c) { return zoo_aget_children(h, parent.c_str(), 0, strings_done, c); },
     [self = shared_from_this(), id, parent, prefix](int rc, OpResult res) {
       auto rit = self->regs.find(id);
       if (rit == self->regs.end()) return;  // unregistered meanwhile
       if (rc != ZOK) {
         rit->second.in_flight = false;
         rit->second.uncertain = rc != ZNONODE;
         return rc == ZNONODE ? self->create_registration(id) : self->registration_failed(id, rc);
       }
       auto candidates = std::make_shared<std::vector<std::string>>();
       for (auto& c : res.children) {
         if (c.rfind(prefix, 0) == 0)
           candidates->push_back((parent == "/" ? "" : parent) + "/" + c);
       }
       self->check_candidates(id, candidates, 0);
     });
}

void ZkClient::Impl::check_candidates(uint64_t id, std::shared_ptr<std::vector<std::string>> paths,
                                      size_t i) {
  auto it = regs.find(id);
  if (it == regs.end()) return;
  if (i == paths->size()) {  // none is ours: create afresh
    it->second.uncertain = false;
    it->second.in_flight = false;
    return create_registration(id);
  }
  exists_op((*paths)[i], nullptr, [self = shared_from_this(), id, paths, i](int rc, OpResult res) {
    auto rit = self->regs.find(id);
    if (rit == self->regs.end()) return;
    bool claimed = false;
    for (auto& [oid, o] : self->regs) claimed |= oid != id && o.actual == (*paths)[i];
    if (rc == ZOK && res.ephemeral_owner == self->sid && !claimed) {
      rit->second.uncertain = false;
      rit->second.in_flight = false;
      return self->registered(id, (*paths)[i]);
    }
    self->check_candidates(id, paths, i + 1);
  });
}

void ZkClient::Impl::registered(uint64_t id, const std::string& path) {
  auto& r = regs.at(id);
  r.actual = path;
  spdlog::info("zookeeper: registered {}", path);
  // Watch our own node so that a deletion by someone else puts it back.
  exists_op(path, watch_ctx(id, true), [](int, OpResult) {});
  if (r.on_created) r.on_created(path);
}

void ZkClient::Impl::registration_failed(uint64_t id, int rc) {
  auto it = regs.find(id);
  if (it == regs.end()) return;
  it->second.in_flight = false;
  spdlog::warn("zookeeper: registering {} failed: {}", it->second.path, zerror(rc));
  if (!is_connection_error(rc))
    retry_later([self = shared_from_this(), id] { self->create_registration(id); });
  // Connection errors: sync_registrations() runs again on the next connect.
}

void ZkClient::Impl::on_own_node_event(uint64_t id, int type) {
  auto it = regs.find(id);
  if (it == regs.end() || it->second.actual.empty()) return;
  if (type == ZOO_DELETED_EVENT) {
    spdlog::warn("zookeeper: our node {} was deleted; re-creating it", it->second.actual);
    it->second.actual.clear();
    create_registration(id);
  } else {
    exists_op(it->second.actual, watch_ctx(id, true), [](int, OpResult) {});
  }
}

}  // namespace appmsg
