// ZooKeeper client: the session, its registrations and watches, on top of libzookeeper_mt.
//
// Threading: the C library calls us on its completion thread. Every such call is turned into a
// job posted to `ex` (the owner's strand) and all state lives on that strand. Contexts handed to
// the library hold a weak_ptr to Impl plus the handle generation, so a late callback from a
// closed handle, or after the client is gone, does nothing.
#include "common/zk_client.hpp"

#include <spdlog/spdlog.h>
#include <zookeeper/zookeeper.h>

#include <algorithm>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <map>
#include <mutex>
#include <unordered_set>

namespace appmsg {

namespace asio = boost::asio;

ZkError::ZkError(int code, const std::string& what)
    : std::runtime_error(what + ": " + zerror(code)), code_(code) {}

namespace {

// What one asynchronous call brings back; only the fields of its kind are set.
struct OpResult {
  std::string value;  // created path, or node data
  bool has_value = false;
  std::vector<std::string> children;
  int64_t ephemeral_owner = 0;
};

using OpDone = std::function<void(int rc, OpResult)>;

struct OpCtx;

// The contexts of calls under way. The library does not complete every call it still holds
// when a handle is closed; once zookeeper_close() has returned (its threads are joined) the
// ones left are freed here, so neither they nor what their callbacks hold leak.
struct OpRegistry {
  std::mutex mu;
  std::unordered_set<OpCtx*> live;
};

// Context of one asynchronous library call; deleted by the completion thunk.
struct OpCtx {
  asio::any_io_executor ex;
  OpDone done;
  std::shared_ptr<OpRegistry> registry;
};

void finish(const void* data, int rc, OpResult r) {
  std::unique_ptr<OpCtx> ctx(static_cast<OpCtx*>(const_cast<void*>(data)));
  {
    std::lock_guard lock(ctx->registry->mu);
    ctx->registry->live.erase(ctx.get());
  }
  asio::post(ctx->ex, [done = std::move(ctx->done), rc, r = std::move(r)]() mutable {
    done(rc, std::move(r));
  });
}

void string_done(int rc, const char* value, const void* data) {
  OpResult r;
  if (rc == ZOK && value) {
    r.value = value;
    r.has_value = true;
  }
  finish(data, rc, std::move(r));
}

void data_done(int rc, const char* value, int len, const Stat* stat, const void* data) {
  OpResult r;
  if (rc == ZOK) {
    r.has_value = true;
    if (value && len > 0) r.value.assign(value, static_cast<size_t>(len));
    if (stat) r.ephemeral_owner = stat->ephemeralOwner;
  }
  finish(data, rc, std::move(r));
}

void strings_done(int rc, const String_vector* strings, const void* data) {
  OpResult r;
  if (rc == ZOK && strings) {
    for (int i = 0; i < strings->count; ++i) r.children.emplace_back(strings->data[i]);
    std::sort(r.children.begin(), r.children.end());
  }
  finish(data, rc, std::move(r));
}

void stat_done(int rc, const Stat* stat, const void* data) {
  OpResult r;
  if (rc == ZOK && stat) {
    r.has_value = true;
    r.ephemeral_owner = stat->ephemeralOwner;
  }
  finish(data, rc, std::move(r));
}

void void_done(int rc, const void* data) {
  finish(data, rc, OpResult{});
}

std::string parent_of(const std::string& path) {
  auto pos = path.find_last_of('/');
  return pos == 0 || pos == std::string::npos ? "/" : path.substr(0, pos);
}

bool is_connection_error(int rc) {
  return rc == ZCONNECTIONLOSS || rc == ZOPERATIONTIMEOUT || rc == ZSESSIONEXPIRED ||
         rc == ZINVALIDSTATE || rc == ZCLOSING;
}

}  // namespace

struct ZkClient::Impl : std::enable_shared_from_this<Impl> {
  enum class WatchKind { children, data };
  struct Watch {
    std::string path;
    WatchKind kind = WatchKind::children;
    std::function<void(const std::vector<std::string>&)> on_children;
    std::function<void(const std::optional<std::string>&)> on_data;
    bool active = true;
    bool needs_arm = false;  // an arming failed for want of a connection
  };
  struct Registration {
    std::string path, data;
    bool sequential;
    std::function<void(const std::string&)> on_created;
    std::string actual;      // real path once created
    bool in_flight = false;  // a create or lookup is under way
    bool uncertain = false;  // a create may have succeeded without our hearing of it
  };
  // Stable context handed to the library's watchers; lives until the Impl is destroyed.
  struct WatchCtx {
    std::weak_ptr<Impl> impl;
    uint64_t id;
    bool registration;  // true: id is a RegistrationId (own-node watch)
  };
  struct SessionCtx {
    std::weak_ptr<Impl> impl;
    uint64_t generation;
  };

  Impl(asio::any_io_executor e, ZkOptions o) : ex(std::move(e)), opts(std::move(o)) {}
  ~Impl() { close_handle(); }

  asio::any_io_executor ex;
  ZkOptions opts;
  std::shared_ptr<OpRegistry> registry = std::make_shared<OpRegistry>();
  zhandle_t* zh = nullptr;
  uint64_t generation = 0;
  bool is_connected = false;
  bool closed = false;
  int64_t sid = 0;
  std::function<void(ZkSessionState)> session_cb;
  uint64_t next_id = 1;
  std::map<uint64_t, Watch> watches;
  std::map<uint64_t, Registration> regs;
  // Contexts the library holds pointers to. One per live watch and registration (reused by
  // every re-arm) and one per handle; those of ended watches and registrations are retired
  // and freed, with the session's, once the handle that may still call them is closed.
  std::map<uint64_t, std::unique_ptr<WatchCtx>> ctx_by_watch, ctx_by_reg;
  std::vector<std::unique_ptr<WatchCtx>> retired_ctxs;
  std::unique_ptr<SessionCtx> session_ctx;

  // --- session -------------------------------------------------------------------------
  void open_handle() {
    session_ctx = std::make_unique<SessionCtx>(SessionCtx{weak_from_this(), ++generation});
    zh = zookeeper_init(opts.hosts.c_str(), &Impl::session_watcher,
                        static_cast<int>(opts.session_timeout.count()), nullptr, session_ctx.get(),
                        0);
    if (!zh) {
      spdlog::error("zookeeper_init({}) failed: {}", opts.hosts, std::strerror(errno));
      retry_later([self = shared_from_this()] { self->open_handle(); });
    }
  }

  void close_handle() {
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

  static void session_watcher(zhandle_t*, int type, int state, const char*, void* data) {
    if (type != ZOO_SESSION_EVENT) return;
    auto* ctx = static_cast<SessionCtx*>(data);
    auto impl = ctx->impl.lock();
    if (!impl) return;
    uint64_t gen = ctx->generation;
    asio::post(impl->ex, [w = ctx->impl, gen, state] {
      if (auto self = w.lock()) self->on_session_state(gen, state);
    });
  }

  void on_session_state(uint64_t gen, int state) {
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

  void notify(ZkSessionState s) {
    if (session_cb) session_cb(s);
  }

  template <class F>
  void retry_later(F f, std::chrono::milliseconds delay = std::chrono::seconds(1)) {
    auto timer = std::make_shared<asio::steady_timer>(ex, delay);
    timer->async_wait([timer, w = weak_from_this(), f = std::move(f)](boost::system::error_code) {
      if (auto self = w.lock(); self && !self->closed) f();
    });
  }

  // --- one asynchronous call -------------------------------------------------------------
  // `call` issues the library call with the given context and returns its immediate rc.
  template <class Call>
  void op(Call call, OpDone done) {
    if (!zh) {
      asio::post(ex, [done = std::move(done)] { done(ZINVALIDSTATE, OpResult{}); });
      return;
    }
    auto* ctx = new OpCtx{ex, std::move(done), registry};
    {
      std::lock_guard lock(registry->mu);
      registry->live.insert(ctx);
    }
    int rc = call(zh, ctx);
    if (rc != ZOK) {  // the library will not call back
      std::unique_ptr<OpCtx> owned(ctx);
      {
        std::lock_guard lock(registry->mu);
        registry->live.erase(ctx);
      }
      asio::post(ex, [done = std::move(owned->done), rc] { done(rc, OpResult{}); });
    }
  }

  void create_op(const std::string& path, const std::string& data, int flags, OpDone done) {
    op(
        [&](zhandle_t* h, OpCtx* c) {
          return zoo_acreate(h, path.c_str(), data.data(), static_cast<int>(data.size()),
                             &ZOO_OPEN_ACL_UNSAFE, flags, string_done, c);
        },
        std::move(done));
  }

  void exists_op(const std::string& path, WatchCtx* watch, OpDone done) {
    op(
        [&](zhandle_t* h, OpCtx* c) {
          return watch ? zoo_awexists(h, path.c_str(), &Impl::node_watcher, watch, stat_done, c)
                       : zoo_aexists(h, path.c_str(), 0, stat_done, c);
        },
        std::move(done));
  }

  // Creates each missing level of `path` as a persistent node; done(rc) with ZOK when all exist.
  void ensure_path_op(const std::string& path, std::function<void(int)> done, size_t from = 1) {
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

  // --- watches ---------------------------------------------------------------------------
  static void node_watcher(zhandle_t*, int type, int, const char*, void* data) {
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

  WatchCtx* watch_ctx(uint64_t id, bool registration) {
    auto& index = registration ? ctx_by_reg : ctx_by_watch;
    auto& slot = index[id];
    if (!slot) slot = std::make_unique<WatchCtx>(WatchCtx{weak_from_this(), id, registration});
    return slot.get();
  }

  // The watch or registration ended; the open handle may still call its context.
  void retire_ctx(uint64_t id, bool registration) {
    auto& index = registration ? ctx_by_reg : ctx_by_watch;
    auto it = index.find(id);
    if (it == index.end()) return;
    if (zh) retired_ctxs.push_back(std::move(it->second));
    index.erase(it);
  }

  uint64_t add_watch(uint64_t id, Watch w) {
    w.needs_arm = !is_connected;  // armed on connect otherwise
    watches.emplace(id, std::move(w));
    if (is_connected) arm(id);
    return id;
  }

  // Reads the watched node (setting a watch) and calls the owner's callback.
  void arm(uint64_t id) {
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
      op(
          [&](zhandle_t* h, OpCtx* c) {
            return zoo_awget(h, path.c_str(), &Impl::node_watcher, ctx, data_done, c);
          },
          std::move(done));
    }
  }

  void arm_failed(uint64_t id, int rc) {
    auto it = watches.find(id);
    if (it == watches.end()) return;
    if (is_connection_error(rc)) {
      it->second.needs_arm = true;  // re-armed on the next (re)connect
    } else {
      spdlog::warn("zookeeper: watching {} failed ({}), retrying", it->second.path, zerror(rc));
      retry_later([self = shared_from_this(), id] { self->arm(id); });
    }
  }

  // --- registrations ---------------------------------------------------------------------
  void sync_registrations() {
    if (!is_connected) return;
    for (auto& [id, r] : regs) {
      if (r.actual.empty() && !r.in_flight) create_registration(id);
    }
  }

  void create_registration(uint64_t id) {
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

  // A plain node exists already: ours (a create we did not hear back from) or another session's.
  void adopt_plain(uint64_t id) {
    auto& r = regs.at(id);
    r.in_flight = true;
    exists_op(r.path, nullptr, [self = shared_from_this(), id](int rc, OpResult res) {
      auto it = self->regs.find(id);
      if (it == self->regs.end()) return;
      it->second.in_flight = false;
      if (rc == ZOK && res.ephemeral_owner == self->sid)
        return self->registered(id, it->second.path);
      spdlog::warn("zookeeper: {} is held by another session; retrying", it->second.path);
      self->retry_later([self, id] { self->create_registration(id); });
    });
  }

  // A sequential create was lost with the connection: find the child this session owns, if any.
  void adopt_sequential(uint64_t id) {
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

  void check_candidates(uint64_t id, std::shared_ptr<std::vector<std::string>> paths, size_t i) {
    auto it = regs.find(id);
    if (it == regs.end()) return;
    if (i == paths->size()) {  // none is ours: create afresh
      it->second.uncertain = false;
      it->second.in_flight = false;
      return create_registration(id);
    }
    exists_op((*paths)[i], nullptr,
              [self = shared_from_this(), id, paths, i](int rc, OpResult res) {
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

  void registered(uint64_t id, const std::string& path) {
    auto& r = regs.at(id);
    r.actual = path;
    spdlog::info("zookeeper: registered {}", path);
    // Watch our own node so that a deletion by someone else puts it back.
    exists_op(path, watch_ctx(id, true), [](int, OpResult) {});
    if (r.on_created) r.on_created(path);
  }

  void registration_failed(uint64_t id, int rc) {
    auto it = regs.find(id);
    if (it == regs.end()) return;
    it->second.in_flight = false;
    spdlog::warn("zookeeper: registering {} failed: {}", it->second.path, zerror(rc));
    if (!is_connection_error(rc))
      retry_later([self = shared_from_this(), id] { self->create_registration(id); });
    // Connection errors: sync_registrations() runs again on the next connect.
  }

  void on_own_node_event(uint64_t id, int type) {
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
};

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
