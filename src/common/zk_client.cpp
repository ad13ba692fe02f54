// ZooKeeper client: the public face of ZkClient (zk_client.hpp) over its Impl
// (zk_client_impl.hpp): start and close, one-shot operations, registrations and watches.
#include "common/zk_client.hpp"

#include "common/zk_client_impl.hpp"

namespace appmsg {

ZkError::ZkError(int code, const std::string& what)
    : std::runtime_error(what + ": " + zerror(code)), code_(code) {}

// --- awaitable plumbing ------------------------------------------------------------------

namespace {

// Runs one library call through Impl::op and resumes the awaiting coroutine with (rc, result).
template <class Start>
asio::awaitable<std::pair<int, OpResult>> await_op(Start start) {
  // A named initiation: g++ 12 destroys a temporary lambda inside co_await twice.
  auto init = [start](auto handler) mutable {
    auto h = std::make_shared<decltype(handler)>(std::move(handler));
    start([h](int rc, OpResult r) {
      auto ex = asio::get_associated_executor(*h);
      asio::dispatch(ex, [h, rc, r = std::move(r)]() mutable {
        (*h)(std::pair<int, OpResult>(rc, std::move(r)));
      });
    });
  };
  co_return co_await asio::async_initiate<const asio::use_awaitable_t<>&,
                                          void(std::pair<int, OpResult>)>(init,
                                                                          asio::use_awaitable);
}

}  // namespace

ZkClient::ZkClient(asio::any_io_executor ex, ZkOptions opts)
    : impl_(std::make_shared<Impl>(std::move(ex), std::move(opts))) {
  static const bool quiet = [] {
    zoo_set_debug_level(ZOO_LOG_LEVEL_ERROR);
    return true;
  }();
  (void)quiet;
}

ZkClient::~ZkClient() {
  close();
}

void ZkClient::start() {
  if (!impl_->zh && !impl_->closed) impl_->open_handle();
}

void ZkClient::close() {
  impl_->closed = true;
  impl_->close_handle();
}

bool ZkClient::connected() const {
  return impl_->is_connected;
}
int64_t ZkClient::session_id() const {
  return impl_->sid;
}

std::pair<int64_t, std::string> ZkClient::session_credentials() const {
  if (!impl_->zh || !impl_->is_connected) return {0, {}};
  const clientid_t* id = zoo_client_id(impl_->zh);
  return {id->client_id, std::string(id->passwd, sizeof(id->passwd))};
}

void ZkClient::on_session(std::function<void(ZkSessionState)> cb) {
  impl_->session_cb = std::move(cb);
}

asio::awaitable<void> ZkClient::wait_connected(std::chrono::milliseconds deadline) {
  auto until = std::chrono::steady_clock::now() + deadline;
  asio::steady_timer timer(impl_->ex);
  while (!impl_->is_connected) {
    if (std::chrono::steady_clock::now() >= until) {
      throw ZkError(ZOPERATIONTIMEOUT, "zookeeper: not connected to " + impl_->opts.hosts);
    }
    timer.expires_after(std::chrono::milliseconds(20));
    co_await timer.async_wait(asio::use_awaitable);
  }
}

asio::awaitable<void> ZkClient::ensure_path(std::string path) {
  auto impl = impl_;
  auto start = [impl, path](OpDone done) {
    impl->ensure_path_op(path, [done](int rc) { done(rc, {}); });
  };
  auto pending = await_op(std::move(start));  // built outside co_await (g++ 12)
  auto [rc, r] = co_await std::move(pending);
  if (rc != ZOK) throw ZkError(rc, "zookeeper: creating " + path);
}

asio::awaitable<std::string> ZkClient::create(std::string path, std::string data, int flags) {
  auto impl = impl_;
  auto start = [impl, path, data, flags](OpDone done) {
    impl->create_op(path, data, flags, std::move(done));
  };
  auto pending = await_op(std::move(start));  // built outside co_await (g++ 12)
  auto [rc, r] = co_await std::move(pending);
  if (rc != ZOK) throw ZkError(rc, "zookeeper: create " + path);
  co_return r.value;
}

asio::awaitable<std::optional<std::string>> ZkClient::get(std::string path) {
  auto impl = impl_;
  auto start = [impl, path](OpDone done) {
    impl->op([&](zhandle_t* h, OpCtx* c) { return zoo_aget(h, path.c_str(), 0, data_done, c); },
             std::move(done));
  };
  auto pending = await_op(std::move(start));  // built outside co_await (g++ 12)
  auto [rc, r] = co_await std::move(pending);
  if (rc == ZNONODE) co_return std::nullopt;
  if (rc != ZOK) throw ZkError(rc, "zookeeper: get " + path);
  co_return std::move(r.value);
}

asio::awaitable<std::vector<std::string>> ZkClient::children(std::string path) {
  auto impl = impl_;
  auto start = [impl, path](OpDone done) {
    impl->op([&](zhandle_t* h,
                 OpCtx* c) { return zoo_aget_children(h, path.c_str(), 0, strings_done, c); },
             std::move(done));
  };
  auto pending = await_op(std::move(start));  // built outside co_await (g++ 12)
  auto [rc, r] = co_await std::move(pending);
  if (rc != ZOK) throw ZkError(rc, "zookeeper: children of " + path);
  co_return std::move(r.children);
}

asio::awaitable<void> ZkClient::remove(std::string path) {
  auto impl = impl_;
  auto start = [impl, path](OpDone done) {
    impl->op([&](zhandle_t* h, OpCtx* c) { return zoo_adelete(h, path.c_str(), -1, void_done, c); },
             std::move(done));
  };
  auto pending = await_op(std::move(start));  // built outside co_await (g++ 12)
  auto [rc, r] = co_await std::move(pending);
  if (rc != ZOK && rc != ZNONODE) throw ZkError(rc, "zookeeper: delete " + path);
}

ZkClient::RegistrationId ZkClient::register_ephemeral(
    std::string path, std::string data, bool sequential,
    std::function<void(const std::string&)> on_created) {
  uint64_t id = impl_->next_id++;
  Impl::Registration reg;
  reg.path = std::move(path);
  reg.data = std::move(data);
  reg.sequential = sequential;
  reg.on_created = std::move(on_created);
  impl_->regs.emplace(id, std::move(reg));
  impl_->create_registration(id);
  return id;
}

asio::awaitable<void> ZkClient::unregister(RegistrationId id) {
  auto it = impl_->regs.find(id);
  if (it == impl_->regs.end()) co_return;
  std::string path = it->second.actual;
  impl_->regs.erase(it);
  impl_->retire_ctx(id, true);
  if (!path.empty()) {
    auto op = remove(path);  // built outside co_await (g++ 12)
    co_await std::move(op);
  }
}

std::string ZkClient::registered_path(RegistrationId id) const {
  auto it = impl_->regs.find(id);
  return it == impl_->regs.end() ? std::string() : it->second.actual;
}

ZkClient::WatchId ZkClient::watch_children(
    std::string path, std::function<void(const std::vector<std::string>&)> cb) {
  uint64_t id = impl_->next_id++;
  Impl::Watch w;
  w.path = std::move(path);
  w.kind = Impl::WatchKind::children;
  w.on_children = std::move(cb);
  return impl_->add_watch(id, std::move(w));
}

ZkClient::WatchId ZkClient::watch_data(std::string path,
                                       std::function<void(const std::optional<std::string>&)> cb) {
  uint64_t id = impl_->next_id++;
  Impl::Watch w;
  w.path = std::move(path);
  w.kind = Impl::WatchKind::data;
  w.on_data = std::move(cb);
  return impl_->add_watch(id, std::move(w));
}

void ZkClient::unwatch(WatchId id) {
  impl_->watches.erase(id);
  impl_->retire_ctx(id, false);
}

size_t ZkClient::held_contexts() const {
  return impl_->ctx_by_watch.size() + impl_->ctx_by_reg.size() + impl_->retired_ctxs.size() +
         (impl_->session_ctx ? 1 : 0);
}

}  // namespace appmsg
