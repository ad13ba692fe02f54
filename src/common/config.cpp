// goconf parsing (see config.hpp for the syntax and the divergences from the original).
// The Loader reads one file at a time into Config::sections_; includes found in a file are
// queued and parsed after it, depth first. Getters parse values on demand, so an error names
// the file and line where the bad value was set.
#include "common/config.hpp"

#include <glob.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <set>

namespace appmsg {

namespace {

std::string_view trim(std::string_view s) {
  constexpr std::string_view kSpace = " \t\r\n\v\f";
  const auto first = s.find_first_not_of(kSpace);
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(kSpace) - first + 1);
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string quote(std::string_view s) {
  return "\"" + std::string(s) + "\"";
}

// The directory part of a path, with a trailing '/', or "" for a bare file name.
std::string dir_of(const std::string& path) {
  const auto slash = path.rfind('/');
  return slash == std::string::npos ? std::string() : path.substr(0, slash + 1);
}

// Escapes glob(3) metacharacters so a directory name matches only itself.
std::string glob_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '*' || c == '?' || c == '[' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

// The canonical path used to detect a file included twice (the path itself if it has none).
std::string canonical(const std::string& path) {
  char buf[PATH_MAX];
  return ::realpath(path.c_str(), buf) != nullptr ? std::string(buf) : path;
}

// Reads at most Config::kMaxFileBytes + 1 bytes (enough for the parser to report the
// oversized line). Returns false and sets `error` when the file cannot be read.
bool read_bounded(const std::string& path, std::string& out, std::string& error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = std::string("cannot open: ") + std::strerror(errno);
    return false;
  }
  out.resize(Config::kMaxFileBytes + 1);
  in.read(out.data(), static_cast<std::streamsize>(out.size()));
  if (in.bad()) {
    error = std::string("cannot read: ") + std::strerror(errno);
    return false;
  }
  out.resize(static_cast<std::size_t>(in.gcount()));
  return true;
}

// A non-negative integer with an optional unit, as in durations and sizes ("30s", "2kb").
enum class Count { kOk, kNotNumber, kNegative, kFraction, kOverflow };

Count parse_count(std::string_view v, int64_t& n, std::string& unit) {
  if (!v.empty() && v[0] == '-') return Count::kNegative;
  if (!v.empty() && v[0] == '+') v.remove_prefix(1);
  if (v.empty() || v[0] < '0' || v[0] > '9') return Count::kNotNumber;
  const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec == std::errc::result_out_of_range) return Count::kOverflow;
  std::string_view rest(end, static_cast<std::size_t>(v.data() + v.size() - end));
  if (!rest.empty() && (rest[0] == '.' || rest[0] == ',')) return Count::kFraction;
  unit = lower(rest);
  return Count::kOk;
}

struct Unit {
  std::string_view name;
  int64_t factor;
};

constexpr Unit kDurationUnits[] = {
    {"us", 1'000},
    {"ms", 1'000'000},
    {"s", 1'000'000'000},
    {"sec", 1'000'000'000},
    {"m", 60'000'000'000},
    {"min", 60'000'000'000},
    {"h", 3'600'000'000'000},
    {"hour", 3'600'000'000'000},
};

constexpr Unit kSizeUnits[] = {
    {"", 1},           {"k", 1LL << 10}, {"kb", 1LL << 10}, {"m", 1LL << 20},
    {"mb", 1LL << 20}, {"g", 1LL << 30}, {"gb", 1LL << 30},
};

template <std::size_t N>
const Unit* find_unit(const Unit (&units)[N], std::string_view name) {
  for (const Unit& u : units) {
    if (u.name == name) return &u;
  }
  return nullptr;
}

}  // namespace

ConfigError::ConfigError(const std::string& file, int line, const std::string& message)
    : std::runtime_error(file.empty() ? message
                         : line > 0   ? file + ":" + std::to_string(line) + ": " + message
                                      : file + ": " + message),
      file_(file),
      line_(line) {}

// Fills a Config from files and text. Tracks the files already read so that including a file
// twice (which also catches cycles) is an error.
class Config::Loader {
 public:
  explicit Loader(Config& config) : config_(config) {}

  // Reads `path`. When it was named by an include, errors name the include line instead.
  void load(const std::string& path, const std::string& site_file, int site_line, int depth) {
    std::string text;
    std::string error;
    if (!read_bounded(path, text, error)) {
      if (site_line == 0) throw ConfigError(path, 0, error);
      throw ConfigError(site_file, site_line, "include " + quote(path) + ": " + error);
    }
    parse_text(text, path, dir_of(path), depth);
  }

  void mark_loaded(const std::string& path) { loaded_.insert(canonical(path)); }

  // Parses one file's text, then the files it includes. `dir` resolves relative includes.
  void parse_text(std::string_view text, const std::string& name, const std::string& dir,
                  int depth) {
    struct Include {
      std::string path;
      int line;
    };
    std::vector<Include> includes;
    std::size_t section = kNoSection;
    std::size_t pos = 0;
    for (int line_no = 1; pos < text.size(); ++line_no) {
      auto nl = text.find('\n', pos);
      if (nl == std::string_view::npos) nl = text.size();
      const std::string_view raw = text.substr(pos, nl - pos);
      pos = nl + 1;
      if (raw.size() > kMaxLineBytes) {
        throw ConfigError(name, line_no,
                          "line longer than " + std::to_string(kMaxLineBytes) + " bytes");
      }
      if (std::min(nl + 1, text.size()) > kMaxFileBytes) {  // bytes read up to this line
        throw ConfigError(name, line_no,
                          "file larger than " + std::to_string(kMaxFileBytes) + " bytes");
      }
      const std::string_view line = trim(raw);
      if (line.empty() || line[0] == '#') continue;

      if (line[0] == '[') {
        if (line.back() != ']') {
          throw ConfigError(name, line_no,
                            "unterminated section header " + quote(line) + " (no closing \"]\")");
        }
        const std::string_view title = trim(line.substr(1, line.size() - 2));
        if (title.empty()) throw ConfigError(name, line_no, "empty section name");
        section = section_index(title);
        continue;
      }

      const auto split = line.find_first_of(" \t");
      const std::string_view key = line.substr(0, split);
      const std::string_view value =
          split == std::string_view::npos ? std::string_view() : trim(line.substr(split));
      if (key == "include") {
        for (std::string& path : expand(value, name, line_no, dir, depth)) {
          includes.push_back({std::move(path), line_no});
        }
        continue;
      }
      if (section == kNoSection) {
        throw ConfigError(name, line_no, "key " + quote(key) + " outside any section");
      }
      set(config_.sections_[section], key, value, name, line_no);
    }
    for (const Include& inc : includes) load(inc.path, name, inc.line, depth + 1);
  }

 private:
  static constexpr std::size_t kNoSection = static_cast<std::size_t>(-1);

  std::size_t section_index(std::string_view title) {
    auto& sections = config_.sections_;
    for (std::size_t i = 0; i < sections.size(); ++i) {
      if (sections[i].name == title) return i;  // a repeated section merges
    }
    sections.push_back({std::string(title), {}});
    return sections.size() - 1;
  }

  static void set(Section& section, std::string_view key, std::string_view value,
                  const std::string& file, int line) {
    for (Entry& e : section.entries) {
      if (e.key == key) {  // a repeated key: the last wins, keeping its first place
        e = {std::string(key), std::string(value), file, line};
        return;
      }
    }
    section.entries.push_back({std::string(key), std::string(value), file, line});
  }

  // The files an include line names, checked against the depth limit and files already read.
  std::vector<std::string> expand(std::string_view pattern_text, const std::string& name,
                                  int line_no, const std::string& dir, int depth) {
    if (pattern_text.empty()) throw ConfigError(name, line_no, "include: no path given");
    if (depth + 1 > kMaxIncludeDepth) {
      throw ConfigError(name, line_no,
                        "include: nested deeper than " + std::to_string(kMaxIncludeDepth));
    }
    std::string pattern(pattern_text);
    if (pattern[0] != '/') pattern = glob_escape(dir) + pattern;
    glob_t g{};
    const int rc = ::glob(pattern.c_str(), GLOB_MARK, nullptr, &g);
    std::vector<std::string> paths(g.gl_pathv, g.gl_pathv + (rc == 0 ? g.gl_pathc : 0));
    ::globfree(&g);
    if (rc == GLOB_NOMATCH) {
      throw ConfigError(name, line_no, "include: no file matches " + quote(pattern));
    }
    if (rc != 0) throw ConfigError(name, line_no, "include: cannot expand " + quote(pattern));
    for (const std::string& path : paths) {
      if (path.back() == '/') {
        throw ConfigError(name, line_no, "include: " + quote(path) + " is a directory");
      }
      if (!loaded_.insert(canonical(path)).second) {
        throw ConfigError(name, line_no,
                          "include: " + quote(path) + " is already included (include cycle?)");
      }
    }
    return paths;
  }

  Config& config_;
  std::set<std::string> loaded_;
};

Config Config::load_file(const std::string& path) {
  Config config;
  Loader loader(config);
  loader.mark_loaded(path);
  loader.load(path, "", 0, 0);
  return config;
}

Config Config::parse(std::string_view text, const std::string& name) {
  Config config;
  Loader(config).parse_text(text, name, "", 0);
  return config;
}

const Config::Section* Config::find_section(std::string_view section) const {
  for (const Section& s : sections_) {
    if (s.name == section) return &s;
  }
  return nullptr;
}

const Config::Entry* Config::find(std::string_view section, std::string_view key) const {
  const Section* s = find_section(section);
  if (s == nullptr) return nullptr;
  for (const Entry& e : s->entries) {
    if (e.key == key) return &e;
  }
  return nullptr;
}

bool Config::has_section(std::string_view section) const {
  return find_section(section) != nullptr;
}

bool Config::has(std::string_view section, std::string_view key) const {
  return find(section, key) != nullptr;
}

std::string Config::where(std::string_view section, std::string_view key) const {
  const Entry* e = find(section, key);
  return e == nullptr ? std::string() : e->file + ":" + std::to_string(e->line);
}

void Config::fail(std::string_view section, std::string_view key,
                  const std::string& message) const {
  const Entry* e = find(section, key);
  const std::string text = "[" + std::string(section) + "] " + std::string(key) + ": " + message;
  if (e == nullptr) throw ConfigError("", 0, text);
  throw ConfigError(e->file, e->line, text);
}

std::string Config::get_string(std::string_view section, std::string_view key,
                               std::string def) const {
  const Entry* e = find(section, key);
  return e == nullptr ? def : e->value;
}

std::vector<std::string> Config::get_list(std::string_view section, std::string_view key,
                                          std::vector<std::string> def) const {
  const Entry* e = find(section, key);
  if (e == nullptr) return def;
  std::vector<std::string> items;
  std::string_view rest = e->value;
  while (true) {
    const auto comma = rest.find(',');
    const std::string_view item = trim(rest.substr(0, comma));
    if (!item.empty()) items.emplace_back(item);
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  return items;
}

int64_t Config::get_int(std::string_view section, std::string_view key, int64_t def) const {
  const Entry* e = find(section, key);
  if (e == nullptr) return def;
  std::string_view v = e->value;
  const bool sign = !v.empty() && (v[0] == '+' || v[0] == '-');
  const std::string_view digits = sign ? v.substr(1) : v;
  if (digits.empty() ||
      !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    fail(section, key, quote(e->value) + " is not an integer");
  }
  if (v[0] == '+') v.remove_prefix(1);  // from_chars takes '-' but not '+'
  int64_t n = 0;
  const auto ec = std::from_chars(v.data(), v.data() + v.size(), n).ec;
  if (ec == std::errc::result_out_of_range || n < std::numeric_limits<int32_t>::min() ||
      n > std::numeric_limits<int32_t>::max()) {
    fail(section, key, quote(e->value) + " does not fit in 32 bits");
  }
  return n;
}

bool Config::get_bool(std::string_view section, std::string_view key, bool def) const {
  const Entry* e = find(section, key);
  if (e == nullptr) return def;
  const std::string v = lower(e->value);
  for (std::string_view t : {"yes", "y", "true", "1", "enable", "on"}) {
    if (v == t) return true;
  }
  for (std::string_view f : {"no", "n", "false", "0", "disable", "off"}) {
    if (v == f) return false;
  }
  fail(section, key,
       quote(e->value) + " is not a boolean (use yes/no, true/false, on/off, 1/0, enable/disable)");
}

std::chrono::milliseconds Config::get_millis(std::string_view section, std::string_view key,
                                             std::chrono::milliseconds def) const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(get_duration(section, key, def));
}

int64_t Config::get_positive(std::string_view section, std::string_view key, int64_t def) const {
  int64_t v = get_int(section, key, def);
  if (v <= 0) fail(section, key, "must be positive");
  return v;
}

std::chrono::nanoseconds Config::get_duration(std::string_view section, std::string_view key,
                                              std::chrono::nanoseconds def) const {
  const Entry* e = find(section, key);
  if (e == nullptr) return def;
  const std::string what = "duration " + quote(e->value);
  int64_t n = 0;
  std::string unit;
  switch (parse_count(e->value, n, unit)) {
    case Count::kOk:
      break;
    case Count::kNotNumber:
      fail(section, key, quote(e->value) + " is not a duration (e.g. 30s, 500ms)");
    case Count::kNegative:
      fail(section, key, what + " is negative");
    case Count::kFraction:
      fail(section, key, what + " is not a whole number (e.g. use 1500ms, not 1.5s)");
    case Count::kOverflow:
      fail(section, key, what + " is too large");
  }
  if (unit.empty()) {
    if (n == 0) return std::chrono::nanoseconds(0);  // zero needs no unit
    fail(section, key, what + " has no unit (use ms, s, m, h)");
  }
  const Unit* u = find_unit(kDurationUnits, unit);
  if (u == nullptr)
    fail(section, key, what + " has unknown unit " + quote(unit) + " (use ms, s, m, h)");
  if (n > std::numeric_limits<int64_t>::max() / u->factor)
    fail(section, key, what + " is too large");
  return std::chrono::nanoseconds(n * u->factor);
}

int64_t Config::get_size(std::string_view section, std::string_view key, int64_t def) const {
  const Entry* e = find(section, key);
  if (e == nullptr) return def;
  const std::string what = "size " + quote(e->value);
  int64_t n = 0;
  std::string unit;
  switch (parse_count(e->value, n, unit)) {
    case Count::kOk:
      break;
    case Count::kNotNumber:
      fail(section, key, quote(e->value) + " is not a size (e.g. 2048, 4k, 1mb)");
    case Count::kNegative:
      fail(section, key, what + " is negative");
    case Count::kFraction:
      fail(section, key, what + " is not a whole number");
    case Count::kOverflow:
      fail(section, key, what + " is too large");
  }
  const Unit* u = find_unit(kSizeUnits, unit);
  if (u == nullptr)
    fail(section, key, what + " has unknown unit " + quote(unit) + " (use k, m, g)");
  if (n > std::numeric_limits<int64_t>::max() / u->factor)
    fail(section, key, what + " is too large");
  return n * u->factor;
}

std::vector<std::pair<std::string, std::string>> Config::entries(std::string_view section) const {
  std::vector<std::pair<std::string, std::string>> out;
  if (const Section* s = find_section(section)) {
    for (const Entry& e : s->entries) out.emplace_back(e.key, e.value);
  }
  return out;
}

std::vector<std::string> Config::sections() const {
  std::vector<std::string> out;
  for (const Section& s : sections_) out.push_back(s.name);
  return out;
}

std::vector<std::string> Config::unknown_keys(std::string_view section,
                                              std::initializer_list<std::string_view> known) const {
  std::vector<std::string> out;
  if (const Section* s = find_section(section)) {
    for (const Entry& e : s->entries) {
      if (std::find(known.begin(), known.end(), e.key) == known.end()) out.push_back(e.key);
    }
  }
  return out;
}

std::vector<std::string> ignored_key_warnings(const Config& c,
                                              std::initializer_list<IgnoredKey> keys) {
  std::vector<std::string> out;
  for (auto& k : keys) {
    if (c.has(k.section, k.key)) {
      out.push_back(std::string("[") + k.section + "] " + k.key + " is ignored: " + k.why);
    }
  }
  return out;
}

}  // namespace appmsg
