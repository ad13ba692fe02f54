// Static files under /app/static/ (spec/app-api.md 3.12 #39) from `[app] static.dir`: the
// regular files found there at start (at most 1 MiB each and 16 MiB in all), kept in memory
// and served by exact path. Nothing else is reachable: no directory listings, no "..", no
// symbolic links, no hidden (dot) files or folders, no file added after start. A missing folder
// serves nothing (logged).
#pragma once

#include <map>
#include <string>

namespace appmsg {
class HttpRouter;
}

namespace appmsg::web::app {

struct StaticFile {
  std::string content_type, body;
};

// The files under `dir` by their path relative to it ("css/user.css").
std::map<std::string, StaticFile> load_static_files(const std::string& dir);

void add_static_routes(HttpRouter& router, std::map<std::string, StaticFile> files);

}  // namespace appmsg::web::app
