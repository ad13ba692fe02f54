// goconf configuration files (comet.conf, message.conf, web.conf, db.conf): parsing and typed
// getters. Owns nothing but the parsed text; never logs, never touches the network. Every error
// is a ConfigError whose what() names the file and line ("comet.conf:12: ..."), so a daemon can
// print it and exit at start-up.
//
// Syntax: the lenient, pre-2015 goconf (spec/comet.md section 8):
//   - lines are trimmed; blank lines and lines starting with '#' are ignored (no inline comments);
//   - "[section]" starts a section; a repeated section merges with the earlier one;
//   - "key value": the key ends at the first space or tab, the value is the trimmed rest;
//     a key with no value gets ""; a repeated key overwrites (the last wins);
//   - "include <glob>" (anywhere): matching files are parsed after the current one, each starting
//     with no section; relative patterns are resolved against the including file's directory.
//
// Divergences from the original goconf:
//   - Durations: a bare number is an error (the original read "30" as 30 ns), except "0";
//     units are case-insensitive (the original: case-sensitive) and "us" is accepted too;
//     fractions and negative durations are errors.
//   - Booleans: only yes/y/true/1/enable/on and no/n/false/0/disable/off (any case); anything
//     else is an error (the original read anything else as false; it had no on/off).
//   - Lists: items are trimmed and empty items dropped (the original gave " b" for "a, b").
//   - Sizes: suffixes are case-insensitive (the original: lower case only); overflow and
//     negative sizes are errors.
//   - Integers: must fit int32, else an error (as the original); no inline comments either way.
//   - An include pattern matching no file is an error; so is a file included twice (a cycle).
//   - Limits the original lacked: lines up to 64 KiB, files up to 16 MiB, includes nested at
//     most 16 deep.
//   - Errors name the file and line, and getter errors the section and key as well.
#pragma once

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace appmsg {

// A parse or value error. what() is "FILE:LINE: message", or "FILE: message" when line is 0.
class ConfigError : public std::runtime_error {
 public:
  ConfigError(const std::string& file, int line, const std::string& message);
  const std::string& file() const { return file_; }
  int line() const { return line_; }

 private:
  std::string file_;
  int line_;
};

class Config {
 public:
  static constexpr std::size_t kMaxLineBytes = 64 * 1024;
  static constexpr std::size_t kMaxFileBytes = 16 * 1024 * 1024;
  static constexpr int kMaxIncludeDepth = 16;

  // Reads and parses a file and everything it includes. Throws ConfigError.
  static Config load_file(const std::string& path);
  // Parses text; `name` stands for the file in errors, and relative includes resolve against
  // the current directory. Throws ConfigError.
  static Config parse(std::string_view text, const std::string& name = "<string>");

  bool has_section(std::string_view section) const;
  bool has(std::string_view section, std::string_view key) const;

  // Each getter returns `def` when the key is missing and throws ConfigError (naming the file
  // and line where the key was set) when the value is malformed.
  std::string get_string(std::string_view section, std::string_view key, std::string def) const;
  std::vector<std::string> get_list(std::string_view section, std::string_view key,
                                    std::vector<std::string> def) const;
  int64_t get_int(std::string_view section, std::string_view key, int64_t def) const;
  bool get_bool(std::string_view section, std::string_view key, bool def) const;
  std::chrono::nanoseconds get_duration(std::string_view section, std::string_view key,
                                        std::chrono::nanoseconds def) const;
  int64_t get_size(std::string_view section, std::string_view key, int64_t def) const;
  // get_duration in milliseconds, and get_int that must be > 0.
  std::chrono::milliseconds get_millis(std::string_view section, std::string_view key,
                                       std::chrono::milliseconds def) const;
  int64_t get_positive(std::string_view section, std::string_view key, int64_t def) const;

  // The entries of one section in file order (first appearance; a repeated key keeps its
  // place and takes the last value), e.g. [redis.source] "node1:1" -> "127.0.0.1:6379".
  std::vector<std::pair<std::string, std::string>> entries(std::string_view section) const;
  // Section names in file order.
  std::vector<std::string> sections() const;
  // Keys of `section` not in `known`, in file order (for start-up warnings).
  std::vector<std::string> unknown_keys(std::string_view section,
                                        std::initializer_list<std::string_view> known) const;

  // "FILE:LINE" where the key was set, or "" when it is missing.
  std::string where(std::string_view section, std::string_view key) const;
  // Throws a ConfigError "FILE:LINE: [section] key: message" for a value that parses but makes
  // no sense to the caller (e.g. ketama.base 0). Without the key, names no file.
  [[noreturn]] void fail(std::string_view section, std::string_view key,
                         const std::string& message) const;

 private:
  struct Entry {
    std::string key;
    std::string value;
    std::string file;
    int line;
  };
  struct Section {
    std::string name;
    std::vector<Entry> entries;
  };
  class Loader;

  const Section* find_section(std::string_view section) const;
  const Entry* find(std::string_view section, std::string_view key) const;

  std::vector<Section> sections_;
};

// A key of the original that a daemon accepts but does not use, and why.
struct IgnoredKey {
  const char* section;
  const char* key;
  const char* why;
};

// "[section] key is ignored: why" for each of `keys` present in `c` (logged at start-up).
std::vector<std::string> ignored_key_warnings(const Config& c,
                                              std::initializer_list<IgnoredKey> keys);

}  // namespace appmsg
