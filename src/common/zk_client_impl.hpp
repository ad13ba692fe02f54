// The ZooKeeper client's internals, shared by its translation units (internal to zk_client):
// the contexts handed to the C library and its completion thunks, and ZkClient::Impl with its
// state. The methods live by concern: zk_session.cpp (the handle, session events, one
// asynchronous call), zk_watches.cpp (children and data watches, re-armed), zk_registrations.cpp
// (ephemeral nodes kept alive). All state lives on the owner's executor.
//
// Threading: the C library calls us on its completion thread. Every such call is turned into a
// job posted to `ex` (the owner's strand). Contexts handed to the library hold a weak_ptr to
// Impl plus the handle generation, so a late callback from a closed handle, or after the client
// is gone, does nothing.
#pragma once

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
#include <memory>
#include <mutex>
#include <string>
#include <unordered_set>
#include <vector>

#include "common/zk_client.hpp"

namespace appmsg {

namespace asio = boost::asio;

namespace zk_detail {

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

inline void finish(const void* data, int rc, OpResult r) {
  std::unique_ptr<OpCtx> ctx(static_cast<OpCtx*>(const_cast<void*>(data)));
  {
    std::lock_guard lock(ctx->registry->mu);
    ctx->registry->live.erase(ctx.get());
  }
  asio::post(ctx->ex, [done = std::move(ctx->done), rc, r = std::move(r)]() mutable {
    done(rc, std::move(r));
  });
}

inline void string_done(int rc, const char* value, const void* data) {
  OpResult r;
  if (rc == ZOK && value) {
    r.value = value;
    r.has_value = true;
  }
  finish(data, rc, std::move(r));
}

inline void data_done(int rc, const char* value, int len, const Stat* stat, const void* data) {
  OpResult r;
  if (rc == ZOK) {
    r.has_value = true;
    if (value && len > 0) r.value.assign(value, static_cast<size_t>(len));
    if (stat) r.ephemeral_owner = stat->ephemeralOwner;
  }
  finish(data, rc, std::move(r));
}

inline void strings_done(int rc, const String_vector* strings, const void* data) {
  OpResult r;
  if (rc == ZOK && strings) {
    for (int i = 0; i < strings->count; ++i) r.children.emplace_back(strings->data[i]);
    std::sort(r.children.begin(), r.children.end());
  }
  finish(data, rc, std::move(r));
}

inline void stat_done(int rc, const Stat* stat, const void* data) {
  OpResult r;
  if (rc == ZOK && stat) {
    r.has_value = true;
    r.ephemeral_owner = stat->ephemeralOwner;
  }
  finish(data, rc, std::move(r));
}

inline void void_done(int rc, const void* data) {
  finish(data, rc, OpResult{});
}

inline std::string parent_of(const std::string& path) {
  auto pos = path.find_last_of('/');
  return pos == 0 || pos == std::string::npos ? "/" : path.substr(0, pos);
}

inline bool is_connection_error(int rc) {
  return rc == ZCONNECTIONLOSS || rc == ZOPERATIONTIMEOUT || rc == ZSESSIONEXPIRED ||
         rc == ZINVALIDSTATE || rc == ZCLOSING;
}

}  // namespace zk_detail

using namespace zk_detail;  // internal header: the Impl below and its translation units

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
  void open_handle();

  void close_handle();

  static void session_watcher(zhandle_t*, int type, int state, const char*, void* data);

  void on_session_state(uint64_t gen, int state);

  void notify(ZkSessionState s);

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

  void create_op(const std::string& path, const std::string& data, int flags, OpDone done);

  void exists_op(const std::string& path, WatchCtx* watch, OpDone done);

  // Creates each missing level of `path` as a persistent node; done(rc) with ZOK when all exist.
  void ensure_path_op(const std::string& path, std::function<void(int)> done, size_t from = 1);

  // --- watches ---------------------------------------------------------------------------
  static void node_watcher(zhandle_t*, int type, int, const char*, void* data);

  WatchCtx* watch_ctx(uint64_t id, bool registration);

  // The watch or registration ended; the open handle may still call its context.
  void retire_ctx(uint64_t id, bool registration);

  uint64_t add_watch(uint64_t id, Watch w);

  // Reads the watched node (setting a watch) and calls the owner's callback.
  void arm(uint64_t id);

  void arm_failed(uint64_t id, int rc);

  // --- registrations ---------------------------------------------------------------------
  void sync_registrations();

  void create_registration(uint64_t id);

  // A plain node exists already: ours (a create we did not hear back from) or another session's.
  void adopt_plain(uint64_t id);

  // A sequential create was lost with the connection: find the child this session owns, if any.
  void adopt_sequential(uint64_t id);

  void check_candidates(uint64_t id, std::shared_ptr<std::vector<std::string>> paths, size_t i);

  void registered(uint64_t id, const std::string& path);

  void registration_failed(uint64_t id, int rc);

  void on_own_node_event(uint64_t id, int type);
};

}  // namespace appmsg
