/*
 * config_fuzz: libFuzzer target for the goconf parser (common/config) and every daemon's
 * reading of it (comet.conf, message.conf, web.conf with db.conf).
 *
 * Input: the text of one configuration file. No include reaches the disk: the working directory
 * is an empty one, so a relative pattern matches nothing (a ConfigError), and inputs with an
 * absolute include are skipped. Besides crashing
 * (ASan/UBSan), it aborts when: parsing or a getter throws anything but ConfigError, an error
 * names another file, entries() disagrees with has() and get_string(), or a daemon's
 * load() throws anything but ConfigError.
 */
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "comet/comet_config.hpp"
#include "common/config.hpp"
#include "message/message_config.hpp"
#include "web/app/app_config.hpp"
#include "web/web_config.hpp"

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

// Runs f; a ConfigError that names a file must name this one (an error about a missing key
// names none), anything else thrown aborts.
template <typename F>
void expect_config_error_only(F&& f) {
  try {
    f();
  } catch (const appmsg::ConfigError& e) {
    check(e.file().empty() || e.file() == "fuzz.conf");
    check(e.file().empty() || std::string_view(e.what()).starts_with("fuzz.conf"));
  } catch (...) {
    std::abort();
  }
}

void check_getters(const appmsg::Config& c) {
  for (const auto& section : c.sections()) {
    check(c.has_section(section));
    for (const auto& entry : c.entries(section)) {
      const std::string& key = entry.first;  // (clang 14 cannot capture a structured binding)
      const std::string& value = entry.second;
      check(c.has(section, key));
      check(c.get_string(section, key, "?") == value);
      check(!c.where(section, key).empty());
      expect_config_error_only([&] { (void)c.get_list(section, key, {}); });
      expect_config_error_only([&] { (void)c.get_int(section, key, 0); });
      expect_config_error_only([&] { (void)c.get_bool(section, key, false); });
      expect_config_error_only([&] { (void)c.get_duration(section, key, {}); });
      expect_config_error_only([&] { (void)c.get_size(section, key, 0); });
      expect_config_error_only([&] { (void)c.get_millis(section, key, {}); });
      expect_config_error_only([&] { (void)c.get_positive(section, key, 1); });
    }
  }
}

// An include of an absolute pattern reaches the machine's files (whose errors name them).
bool includes_absolute(std::string_view text) {
  for (size_t pos = 0; pos <= text.size();) {
    size_t end = text.find('\n', pos);
    std::string_view line = text.substr(pos, end == std::string_view::npos ? end : end - pos);
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
    if (line.starts_with("include") && line.find('/') != std::string_view::npos) return true;
    if (end == std::string_view::npos) break;
    pos = end + 1;
  }
  return false;
}

}  // namespace

// Relative includes resolve against the working directory: an empty one, so they match nothing.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  char dir[] = "/tmp/config_fuzz.XXXXXX";
  if (!::mkdtemp(dir) || ::chdir(dir) != 0) std::abort();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (includes_absolute(text)) return 0;
  appmsg::Config c;
  try {
    c = appmsg::Config::parse(text, "fuzz.conf");
  } catch (const appmsg::ConfigError& e) {
    check(std::string_view(e.what()).starts_with("fuzz.conf"));
    return 0;
  } catch (...) {
    std::abort();
  }
  check_getters(c);
  expect_config_error_only([&] { (void)appmsg::comet::CometConfig::load(c); });
  expect_config_error_only([&] { (void)appmsg::message::MessageConfig::load(c); });
  expect_config_error_only([&] { (void)appmsg::web::WebConfig::load(c); });
  expect_config_error_only([&] { (void)appmsg::web::app::AppConfig::load(c, c); });
  return 0;
}
