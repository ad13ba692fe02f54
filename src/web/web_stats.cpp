// /stat and /metrics of the web node.
#include "web/web_stats.hpp"

#include <nlohmann/json.hpp>

#include "common/http_server.hpp"
#include "web/web_context.hpp"

namespace appmsg::web {

namespace asio = boost::asio;
using nlohmann::json;

json web_stat(const WebContext& ctx) {
  auto snap = ctx.comets->snapshot();
  json comets = json::array();
  for (auto& [name, node] : snap->nodes) {
    comets.push_back({{"name", name},
                      {"rpc", node->info().rpc},
                      {"tcp", node->info().tcp},
                      {"ws", node->info().ws},
                      {"healthy", node->healthy},
                      {"pushes", node->queue().counters().pushes},
                      {"push_errors", node->queue().counters().errors},
                      {"push_waiting", node->queue().waiting()}});
  }
  json requests = json::object();
  for (auto& [route, rets] : ctx.stats.requests) {
    json by_ret = json::object();
    for (auto& [ret, n] : rets) by_ret[std::to_string(ret)] = n;
    requests[route] = std::move(by_ret);
  }
  auto up = std::chrono::steady_clock::now() - ctx.stats.started;
  return {{"server", {{"uptime", std::chrono::duration_cast<std::chrono::seconds>(up).count()}}},
          {"comets", std::move(comets)},
          {"ring", snap->ring.nodes()},
          {"message_nodes", ctx.messages->addresses()},
          {"requests", std::move(requests)},
          {"ring_changes", ctx.comets->ring_changes},
          {"migrate_calls", ctx.comets->migrate_calls},
          {"migrate_errors", ctx.comets->migrate_errors},
          {"admin_auth_failures", ctx.stats.admin_auth_failures}};
}

namespace {

std::string metrics_text(const WebContext& ctx) {
  std::string out;
  auto head = [&](const char* name, const char* type, const char* help) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
  };
  auto line = [&](const char* name, const char* type, const char* help, uint64_t v) {
    head(name, type, help);
    out += std::string(name) + " " + std::to_string(v) + "\n";
  };
  head("appmsg_web_requests_total", "counter", "Requests by route and ret code.");
  for (auto& [route, rets] : ctx.stats.requests) {
    for (auto& [ret, n] : rets) {
      out += "appmsg_web_requests_total{route=\"" + route + "\",ret=\"" + std::to_string(ret) +
             "\"} " + std::to_string(n) + "\n";
    }
  }
  auto snap = ctx.comets->snapshot();
  line("appmsg_web_comets", "gauge", "Comet nodes in the ring.", snap->nodes.size());
  line("appmsg_web_message_nodes", "gauge", "Message nodes known.",
       ctx.messages->addresses().size());
  auto per_node = [&](const char* name, const char* type, const char* help, auto value) {
    head(name, type, help);
    for (auto& [node_name, node] : snap->nodes) {
      out +=
          std::string(name) + "{node=\"" + node_name + "\"} " + std::to_string(value(*node)) + "\n";
    }
  };
  per_node("appmsg_web_comet_healthy", "gauge", "1 when the comet answered its last ping.",
           [](const CometNode& n) { return n.healthy ? 1 : 0; });
  per_node("appmsg_web_comet_pushes_total", "counter", "Keys pushed through each comet.",
           [](const CometNode& n) { return n.queue().counters().pushes; });
  per_node("appmsg_web_comet_push_errors_total", "counter", "Keys whose push failed, per comet.",
           [](const CometNode& n) { return n.queue().counters().errors; });
  per_node("appmsg_web_comet_queue_full_total", "counter",
           "Pushes refused because too many waited for the comet.",
           [](const CometNode& n) { return n.queue().counters().queue_full; });
  per_node("appmsg_web_comet_push_waiting", "gauge",
           "Keys queued or sent to each comet, unanswered.",
           [](const CometNode& n) { return n.queue().waiting(); });
  per_node("appmsg_web_comet_push_expired_queued_total", "counter",
           "Keys answered 65535 at their deadline while still queued (never sent).",
           [](const CometNode& n) { return n.queue().counters().expired_queued; });
  per_node("appmsg_web_comet_push_expired_sent_total", "counter",
           "Keys answered 1005 at their deadline with the call to the comet unanswered.",
           [](const CometNode& n) { return n.queue().counters().expired_sent; });
  head("appmsg_web_comet_calls_total", "counter", "Push RPC calls made to each comet, by method.");
  for (auto& [node_name, node] : snap->nodes) {
    const auto& c = node->queue().counters();
    out += "appmsg_web_comet_calls_total{node=\"" + node_name + "\",method=\"push\"} " +
           std::to_string(c.push_calls) + "\n";
    out += "appmsg_web_comet_calls_total{node=\"" + node_name + "\",method=\"push_batch\"} " +
           std::to_string(c.batch_calls) + "\n";
  }
  line("appmsg_web_ring_changes_total", "counter", "Changes of the comet ring's members.",
       ctx.comets->ring_changes);
  line("appmsg_web_migrate_calls_total", "counter", "Migrate calls sent to comets.",
       ctx.comets->migrate_calls);
  line("appmsg_web_migrate_errors_total", "counter", "Migrate calls that failed.",
       ctx.comets->migrate_errors);
  line("appmsg_web_admin_auth_failures_total", "counter", "Admin calls with a wrong secret.",
       ctx.stats.admin_auth_failures);
  if (ctx.extra_metrics) out += ctx.extra_metrics();
  return out;
}

}  // namespace

void add_stat_routes(HttpRouter& router, const WebContext& ctx) {
  router.add("/stat", {"GET"}, [&ctx](const HttpRequest&) -> asio::awaitable<HttpResponse> {
    co_return json_response(web_stat(ctx));
  });
  router.add("/debug/stats", {"GET"}, [&ctx](const HttpRequest&) -> asio::awaitable<HttpResponse> {
    co_return json_response(web_stat(ctx));
  });
  router.add("/metrics", {"GET"}, [&ctx](const HttpRequest&) -> asio::awaitable<HttpResponse> {
    HttpResponse r;
    r.content_type = "text/plain; version=0.0.4";
    r.body = metrics_text(ctx);
    co_return r;
  });
}

}  // namespace appmsg::web
