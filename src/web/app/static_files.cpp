// Loading and serving the static files.
#include "web/app/static_files.hpp"

#include <spdlog/spdlog.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include "common/http_server.hpp"

namespace appmsg::web::app {

namespace fs = std::filesystem;

namespace {

constexpr uintmax_t kMaxFileBytes = 1 << 20;
constexpr uintmax_t kMaxTotalBytes = 16 << 20;

std::string type_of(const fs::path& p) {
  static const std::map<std::string, std::string> types{{".css", "text/css;charset=utf-8"},
                                                        {".js", "text/javascript;charset=utf-8"},
                                                        {".mjs", "text/javascript;charset=utf-8"},
                                                        {".html", "text/html;charset=utf-8"},
                                                        {".png", "image/png"},
                                                        {".jpg", "image/jpeg"},
                                                        {".jpeg", "image/jpeg"},
                                                        {".gif", "image/gif"},
                                                        {".svg", "image/svg+xml"},
                                                        {".ico", "image/x-icon"},
                                                        {".json", "application/json"},
                                                        {".txt", "text/plain;charset=utf-8"},
                                                        {".woff2", "font/woff2"}};
  auto it = types.find(p.extension().string());
  return it == types.end() ? "application/octet-stream" : it->second;
}

}  // namespace

std::map<std::string, StaticFile> load_static_files(const std::string& dir) {
  std::map<std::string, StaticFile> files;
  std::error_code ec;
  const fs::path root = fs::weakly_canonical(dir, ec);
  if (ec || !fs::is_directory(root, ec)) {
    spdlog::warn("web: no static files: {} is not a folder", dir);
    return files;
  }
  uintmax_t total = 0;
  for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    if (it->path().filename().string().rfind('.', 0) == 0) {  // hidden: not served
      if (it->is_directory(ec)) it.disable_recursion_pending();
      continue;
    }
    if (!it->is_regular_file(ec) || it->is_symlink(ec)) continue;
    const uintmax_t size = it->file_size(ec);
    if (ec || size > kMaxFileBytes || total + size > kMaxTotalBytes) {
      spdlog::warn("web: static file {} skipped (over 1 MiB, or 16 MiB in all)",
                   it->path().string());
      continue;
    }
    std::ifstream in(it->path(), std::ios::binary);
    std::ostringstream body;
    if (!in || (size > 0 && !(body << in.rdbuf()))) {
      spdlog::warn("web: static file {} skipped: cannot read it", it->path().string());
      continue;
    }
    total += size;
    files[fs::relative(it->path(), root).generic_string()] =
        StaticFile{type_of(it->path()), body.str()};
  }
  spdlog::info("web: {} static files ({} bytes) from {}", files.size(), total, root.string());
  return files;
}

void add_static_routes(HttpRouter& router, std::map<std::string, StaticFile> files) {
  auto shared = std::make_shared<const std::map<std::string, StaticFile>>(std::move(files));
  router.add_prefix("/app/static/", {"GET"},
                    [shared](const HttpRequest& req) -> boost::asio::awaitable<HttpResponse> {
                      auto it = shared->find(req.path.substr(std::string("/app/static/").size()));
                      HttpResponse r;
                      if (it == shared->end()) {
                        r.status = 404;
                        r.content_type = "text/plain;charset=utf-8";
                        r.body = "Not Found";
                        co_return r;
                      }
                      r.content_type = it->second.content_type;
                      r.body = it->second.body;
                      r.headers.emplace_back("Cache-Control", "public, max-age=3600");
                      r.headers.emplace_back("X-Content-Type-Options", "nosniff");
                      co_return r;
                    });
}

}  // namespace appmsg::web::app
