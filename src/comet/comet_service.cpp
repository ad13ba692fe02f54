// The comet daemon: wiring, start and graceful stop.
#include "comet/comet_service.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <nlohmann/json.hpp>

#include "comet/channel_table.hpp"
#include "comet/client_session.hpp"
#include "comet/comet_rpc.hpp"
#include "comet/comet_stats.hpp"
#include "comet/freeze_guard.hpp"
#include "comet/presence.hpp"
#include "comet/resume.hpp"
#include "comet/tcp_listener.hpp"
#include "comet/token_auth.hpp"
#include "common/rpc.hpp"

namespace appmsg::comet {

namespace asio = boost::asio;

namespace {
size_t shard_count(const CometConfig& c, size_t threads) {
  return c.buckets > 0 ? static_cast<size_t>(c.buckets) : 16 * threads;
}
}  // namespace

CometService::CometService(asio::io_context& control, CometConfig config, size_t io_threads)
    : control_(control),
      config_(std::move(config)),
      pool_(io_threads),
      table_(shard_count(config_, io_threads), static_cast<size_t>(config_.max_subscriber)) {
  auto ctx = std::make_shared<SessionContext>();
  ctx->config = config_;
  ctx->table = &table_;
  ctx->stats = &stats_;
  ctx->sessions = &sessions_;
  if (!config_.redis_sources.empty()) {
    redis_ = std::make_unique<RedisShards>(
        control_.get_executor(), redis_shards_of(config_.redis_sources, config_.redis_timeout),
        config_.redis_ketama_base);
    presence_ = std::make_unique<Presence>(control_.get_executor(), *redis_, table_,
                                           config_.comet_node, config_.presence_ttl,
                                           stats_.presence_errors, stats_.presence_dropped);
    ctx->on_presence = [p = presence_.get()](const std::string& key, bool joined) {
      p->changed(key, joined);
    };
    auth_ = std::make_unique<TokenAuth>(control_.get_executor(), *redis_, stats_.auth_errors);
  }
  if (config_.auth) {
    if (auth_) {
      ctx->authenticate = [a = auth_.get()](const SubRequest& req,
                                            std::function<void(AuthResult)> done) {
        a->check(req, std::move(done));
      };
    } else {
      // auth without a token store: refuse everyone rather than let everyone in.
      spdlog::error(
          "comet: [channel] auth is on but [redis.source] is empty: every subscriber "
          "gets -a");
      ctx->authenticate = [](const SubRequest&, std::function<void(AuthResult)> done) {
        done(AuthResult::bad_token);
      };
    }
  }
  session_ctx_ = ctx;
  zk_ = std::make_unique<ZkClient>(control_.get_executor(),
                                   ZkOptions{config_.zk_addr, config_.zk_timeout});
  store_ = std::make_unique<MessageNodes>(
      control_.get_executor(),
      MessageNodes::Options{config_.message_path, config_.rpc_secret, config_.rpc_retry});
  push_ = std::make_unique<PushService>(table_, stats_, store_.get(), config_.store_timeout);
  ctx->fetch_missed =
      make_fetch_missed(control_.get_executor(), *push_, *store_,
                        {config_.resume_max, config_.max_resume_bytes, config_.store_timeout});
  rpc_router_ = std::make_shared<HttpRouter>();
  migration_ = std::make_unique<Migration>(control_.get_executor(), table_, config_.comet_node);
  freeze_ = std::make_unique<FreezeGuard>(control_.get_executor(), *zk_, config_.comet_path,
                                          config_.zk_timeout);
  add_comet_rpc(*rpc_router_, config_.rpc_secret, *push_, table_, *migration_, *freeze_,
                config_.comet_node);
  add_stat_rpc(*rpc_router_, config_.rpc_secret, table_, stats_, started_);
  stat_router_ = std::make_shared<HttpRouter>();
  add_stats_routes(*stat_router_, table_, stats_, started_);
}

CometService::~CometService() {
  for (auto& l : listeners_) l->stop();
  pool_.stop();
}

std::string CometService::registration_data() const {
  return nlohmann::json{{"tcp", tcp_addresses_},
                        {"ws", ws_addresses_},
                        {"rpc", rpc_addresses_},
                        {"weight", config_.weight}}
      .dump();
}

asio::awaitable<void> CometService::start() {
  pool_.start();
  auto listen_all = [&](const std::vector<std::string>& binds, ClientProtocol proto,
                        std::vector<std::string>& bound) {
    for (auto& bind : binds) {
      auto on_accept = [ctx = session_ctx_, proto](asio::ip::tcp::socket s) {
        auto ex = s.get_executor();
        auto session = std::make_shared<ClientSession>(std::move(s), ctx, proto);
        asio::post(ex, [session] { session->start(); });  // it lives on its own context
      };
      auto l = std::make_shared<TcpListener>(control_, pool_, session_ctx_,
                                             proto == ClientProtocol::tcp ? "tcp" : "websocket",
                                             std::move(on_accept));
      bound.push_back(advertised_address(bind, l->listen(bind), config_.advertise));
      l->start();
      listeners_.push_back(std::move(l));
    }
  };
  if (config_.tcp_enabled) listen_all(config_.tcp_bind, ClientProtocol::tcp, tcp_addresses_);
  if (config_.websocket_enabled) {
    listen_all(config_.websocket_bind, ClientProtocol::websocket, ws_addresses_);
  }
  warn_if_open(config_.rpc_bind, config_.rpc_secret);
  HttpServerOptions rpc_opts(config_.http);
  rpc_opts.name = "comet rpc";
  rpc_opts.max_body_bytes = 16 << 20;  // a batch push to many keys
  rpc_server_ = std::make_unique<HttpServer>(control_.get_executor(), rpc_opts, rpc_router_);
  for (auto& bind : config_.rpc_bind)
    rpc_addresses_.push_back(
        advertised_address(bind, rpc_server_->listen(bind), config_.advertise));
  HttpServerOptions stat_opts(config_.http);
  stat_opts.name = "comet stat";
  stat_server_ = std::make_unique<HttpServer>(control_.get_executor(), stat_opts, stat_router_);
  stat_addresses_ =
      listen_stats(*stat_server_, config_.stat_bind, config_.stat_bind_set, config_.advertise);

  if (redis_) {
    redis_->start();
    presence_->start();
  }
  // An expired session took this comet out of the ring for a while, and pushes for its keys
  // went to other comets meanwhile (stored there, never delivered here). Its clients are
  // closed as migrated, so each subscribes again through /server/get and resumes after its
  // last mid: no gap, as after a restart. (The registration is made again by ZkClient.)
  zk_->on_session([this](ZkSessionState state) {
    if (state != ZkSessionState::expired) return;
    freeze_->session_expired();
    size_t closed = sessions_.close_all(CloseReason::migrated);
    spdlog::warn("comet {}: ZooKeeper session expired; closed {} clients so they resume",
                 config_.comet_node, closed);
  });
  freeze_->start();
  zk_->start();
  store_->watch(*zk_);
  std::string prefix = config_.comet_path + "/" + config_.comet_node + "/";
  registration_ = zk_->register_ephemeral(prefix, registration_data(), true);
  spdlog::info("comet {}: serving; registering under {} in ZooKeeper {}", config_.comet_node,
               prefix, config_.zk_addr);
  co_return;
}

asio::awaitable<void> CometService::stop() {
  // 1. Leave the cluster first, so that web stops sending clients and pushes here.
  try {
    auto pending = zk_->unregister(registration_);
    co_await std::move(pending);
  } catch (const std::exception& e) {
    spdlog::warn("comet: deregistering: {}", e.what());
  }
  zk_->close();
  // 2. Stop accepting, 3. close every client (in a channel or still in its handshake, token
  // check or resume), 4. stop the RPC and stats listeners, 5. wait until every connection is
  // gone (its leave reported), at most 2 s.
  for (auto& l : listeners_) l->stop();
  size_t closed = sessions_.close_all(CloseReason::shutdown);
  spdlog::info("comet: closed {} client connections", closed);
  auto rpc_stop = rpc_server_->stop(std::chrono::seconds(2));
  co_await std::move(rpc_stop);
  auto stat_stop = stat_server_->stop(std::chrono::milliseconds(200));
  co_await std::move(stat_stop);
  auto drained = sessions_.drained(std::chrono::seconds(2));
  bool all_gone = co_await std::move(drained);
  if (!all_gone) {
    spdlog::warn("comet: {} client connections still open after 2 s", sessions_.size());
  }
  if (presence_) {
    presence_->stop();
    auto flush = presence_->flush();  // the leaves of the connections just closed
    co_await std::move(flush);
    redis_->stop();
  }
  pool_.stop();
}

}  // namespace appmsg::comet
