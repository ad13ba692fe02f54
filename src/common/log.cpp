// Logging set-up: owns the process-wide spdlog default logger.
#include "common/log.hpp"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <string>

namespace appmsg {

namespace {
bool parse_level(std::string_view name, spdlog::level::level_enum& out) {
  std::string s(name);
  if (s == "warning") s = "warn";
  if (s == "error") s = "err";
  auto lvl = spdlog::level::from_str(s);
  // from_str answers "off" for any unknown name; only accept "off" when asked for it.
  if (lvl == spdlog::level::off && s != "off") return false;
  out = lvl;
  return true;
}
}  // namespace

void init_logging(std::string_view process_name, std::string_view level) {
  auto logger = spdlog::stdout_logger_mt(std::string(process_name));
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e [%l] [%n] %v");
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(logger);
  spdlog::flush_every(std::chrono::seconds(1));
  if (!set_log_level(level)) {
    spdlog::set_level(spdlog::level::info);
    spdlog::warn("unknown log level '{}', using info", level);
  }
}

bool set_log_level(std::string_view level) {
  spdlog::level::level_enum lvl;
  if (!parse_level(level, lvl)) return false;
  spdlog::set_level(lvl);
  return true;
}

}  // namespace appmsg
