// Tests for the goconf parser: the vectors of spec/web-core.md 12.6 and spec/comet.md section 8
// (lenient semantics), the divergences listed in config.hpp, and bad input. Every error test
// checks that the message names the file and line.
#include "common/config.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>

namespace appmsg {
namespace {

using namespace std::chrono_literals;

// Runs `fn` and returns the ConfigError's what(), or "" when nothing was thrown.
template <typename Fn>
std::string error_of(Fn&& fn) {
  try {
    fn();
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

std::string parse_error(std::string_view text) {
  return error_of([&] { Config::parse(text, "test.conf"); });
}

// ---- spec/web-core.md 12.6 ----

TEST(ConfigSpecVectors, DurationSeconds) {
  auto c = Config::parse("[rpc]\nping 1s\n");
  EXPECT_EQ(c.get_duration("rpc", "ping", 0ns), 1s);
}

TEST(ConfigSpecVectors, DurationMilliseconds) {
  auto c = Config::parse("[rpc]\nretry 500ms\n");
  EXPECT_EQ(c.get_duration("rpc", "retry", 0ns), 500ms);
}

TEST(ConfigSpecVectors, DurationMinutesBothSpellings) {
  auto c = Config::parse("[rpc]\na 2min\nb 2m\n");
  EXPECT_EQ(c.get_duration("rpc", "a", 0ns), 120s);
  EXPECT_EQ(c.get_duration("rpc", "b", 0ns), 120s);
}

TEST(ConfigSpecVectors, BareDurationIsRejectedWithFileAndLine) {
  auto c = Config::parse("# zk\n[zookeeper]\ntimeout 30\n", "comet.conf");
  EXPECT_EQ(error_of([&] { c.get_duration("zookeeper", "timeout", 1s); }),
            "comet.conf:3: [zookeeper] timeout: duration \"30\" has no unit (use ms, s, m, h)");
}

TEST(ConfigSpecVectors, FractionalDurationIsRejected) {
  auto c = Config::parse("[zookeeper]\ntimeout 1.5s\n", "comet.conf");
  const std::string err = error_of([&] { c.get_duration("zookeeper", "timeout", 1s); });
  EXPECT_EQ(err.rfind("comet.conf:2: [zookeeper] timeout: duration \"1.5s\" is not a whole", 0), 0u)
      << err;
}

TEST(ConfigSpecVectors, ListGivesTwoListeners) {
  auto c = Config::parse("[base]\nhttp.bind a:1,b:2\n");
  EXPECT_EQ(c.get_list("base", "http.bind", {}), (std::vector<std::string>{"a:1", "b:2"}));
}

// Lenient goconf (comet.md 8): a key with no value gets "" (the strict goconf said
// "no separator").
TEST(ConfigSpecVectors, KeyWithoutValueIsEmpty) {
  auto c = Config::parse("[base]\nhttp.bind\n");
  EXPECT_TRUE(c.has("base", "http.bind"));
  EXPECT_EQ(c.get_string("base", "http.bind", "default"), "");
  EXPECT_TRUE(c.get_list("base", "http.bind", {"default"}).empty());
}

// Lenient goconf: a repeated key overwrites (the strict goconf made it an error).
TEST(ConfigSpecVectors, RepeatedKeyLastWins) {
  auto c = Config::parse("[base]\nmaxproc 2\npidfile /tmp/p\nmaxproc 8\n", "web.conf");
  EXPECT_EQ(c.get_int("base", "maxproc", 0), 8);
  EXPECT_EQ(c.where("base", "maxproc"), "web.conf:4");
  EXPECT_EQ(c.entries("base"), (std::vector<std::pair<std::string, std::string>>{
                                   {"maxproc", "8"}, {"pidfile", "/tmp/p"}}));
}

// Lenient goconf: a repeated section merges (the strict goconf made it an error).
TEST(ConfigSpecVectors, RepeatedSectionMerges) {
  auto c = Config::parse("[base]\na 1\n[rpc]\nping 1s\n[base]\nb 2\n");
  EXPECT_EQ(c.get_int("base", "a", 0), 1);
  EXPECT_EQ(c.get_int("base", "b", 0), 2);
  EXPECT_EQ(c.sections(), (std::vector<std::string>{"base", "rpc"}));
}

TEST(ConfigSpecVectors, InlineCommentMakesIntFail) {
  auto c = Config::parse("[base]\n\nmaxproc 4 # four\n", "web.conf");
  EXPECT_EQ(c.get_string("base", "maxproc", ""), "4 # four");
  EXPECT_EQ(error_of([&] { c.get_int("base", "maxproc", 1); }),
            "web.conf:3: [base] maxproc: \"4 # four\" is not an integer");
}

// ---- spec/comet.md section 8: syntax ----

TEST(ConfigSyntax, CommentsBlankLinesAndTrimming) {
  auto c = Config::parse(
      "# comment\n"
      "   \n"
      "  [base]  \n"
      "\t# indented comment\n"
      "  pidfile   /tmp/comet.pid  \n"
      "dir\t./\n");
  EXPECT_EQ(c.get_string("base", "pidfile", ""), "/tmp/comet.pid");
  EXPECT_EQ(c.get_string("base", "dir", ""), "./");
  EXPECT_FALSE(c.has("base", "#"));
}

TEST(ConfigSyntax, CrLfLineEndings) {
  auto c = Config::parse("[base]\r\nuser ublxd\r\nmaxproc 4\r\n");
  EXPECT_EQ(c.get_string("base", "user", ""), "ublxd");
  EXPECT_EQ(c.get_int("base", "maxproc", 0), 4);
}

TEST(ConfigSyntax, ValueKeepsInnerSpaces) {
  auto c = Config::parse("[base]\nuser nobody nobody\n");
  EXPECT_EQ(c.get_string("base", "user", ""), "nobody nobody");
}

TEST(ConfigSyntax, MissingKeyAndSectionKeepDefaults) {
  auto c = Config::parse("[base]\nmaxproc 4\n");
  EXPECT_FALSE(c.has_section("zookeeper"));
  EXPECT_TRUE(c.has_section("base"));
  EXPECT_FALSE(c.has("base", "dir"));
  EXPECT_EQ(c.get_string("base", "dir", "./"), "./");
  EXPECT_EQ(c.get_int("zookeeper", "x", 7), 7);
  EXPECT_EQ(c.get_bool("base", "auth", true), true);
  EXPECT_EQ(c.get_duration("rpc", "ping", 1s), 1s);
  EXPECT_EQ(c.get_size("channel", "sndbuf.size", 2048), 2048);
  EXPECT_EQ(c.get_list("zookeeper", "addr", {"localhost:2181"}),
            std::vector<std::string>{"localhost:2181"});
  EXPECT_TRUE(c.entries("zookeeper").empty());
  EXPECT_EQ(c.where("base", "dir"), "");
}

TEST(ConfigSyntax, EntriesInFileOrder) {
  auto c = Config::parse("[redis.source]\nnode2:1 10.0.0.2:6379\nnode1:1 127.0.0.1:6379\n");
  EXPECT_EQ(c.entries("redis.source"),
            (std::vector<std::pair<std::string, std::string>>{{"node2:1", "10.0.0.2:6379"},
                                                              {"node1:1", "127.0.0.1:6379"}}));
}

TEST(ConfigSyntax, UnknownKeysAreReportedNotFatal) {
  auto c = Config::parse("[base]\nmaxproc 4\ntypo.bind x\npidfile p\n");
  EXPECT_EQ(c.unknown_keys("base", {"maxproc", "pidfile"}), std::vector<std::string>{"typo.bind"});
  EXPECT_TRUE(c.unknown_keys("none", {"a"}).empty());
}

TEST(ConfigSyntax, FailNamesWhereTheKeyWasSet) {
  auto c = Config::parse("[redis]\nketama.base 0\n", "web.conf");
  EXPECT_EQ(error_of([&] { c.fail("redis", "ketama.base", "must be positive"); }),
            "web.conf:2: [redis] ketama.base: must be positive");
  EXPECT_EQ(error_of([&] { c.fail("redis", "idle", "missing"); }), "[redis] idle: missing");
}

// ---- values ----

TEST(ConfigValues, ListItemsAreTrimmedAndEmptyOnesDropped) {
  auto c = Config::parse("[base]\ntcp.bind a:1, b:2 ,,c:3,\n");
  EXPECT_EQ(c.get_list("base", "tcp.bind", {}), (std::vector<std::string>{"a:1", "b:2", "c:3"}));
}

TEST(ConfigValues, Booleans) {
  auto c = Config::parse(
      "[b]\nt1 yes\nt2 Y\nt3 TRUE\nt4 1\nt5 Enable\nt6 on\n"
      "f1 no\nf2 N\nf3 False\nf4 0\nf5 DISABLE\nf6 off\n");
  for (const char* k : {"t1", "t2", "t3", "t4", "t5", "t6"}) {
    EXPECT_TRUE(c.get_bool("b", k, false)) << k;
  }
  for (const char* k : {"f1", "f2", "f3", "f4", "f5", "f6"}) {
    EXPECT_FALSE(c.get_bool("b", k, true)) << k;
  }
}

TEST(ConfigValues, Integers) {
  auto c = Config::parse(
      "[i]\na 42\nb -7\nc +8\nd 2147483647\ne -2147483648\nf 2147483648\ng 99999999999999999999\n"
      "h 0x10\ni 1 2\nj\nk +-1\nl -\n",
      "i.conf");
  EXPECT_EQ(c.get_int("i", "a", 0), 42);
  EXPECT_EQ(c.get_int("i", "b", 0), -7);
  EXPECT_EQ(c.get_int("i", "c", 0), 8);
  EXPECT_EQ(c.get_int("i", "d", 0), 2147483647);
  EXPECT_EQ(c.get_int("i", "e", 0), -2147483648LL);
  EXPECT_EQ(error_of([&] { c.get_int("i", "f", 0); }),
            "i.conf:7: [i] f: \"2147483648\" does not fit in 32 bits");
  EXPECT_EQ(error_of([&] { c.get_int("i", "g", 0); }),
            "i.conf:8: [i] g: \"99999999999999999999\" does not fit in 32 bits");
  EXPECT_EQ(error_of([&] { c.get_int("i", "h", 0); }),
            "i.conf:9: [i] h: \"0x10\" is not an integer");
  EXPECT_EQ(error_of([&] { c.get_int("i", "i", 0); }),
            "i.conf:10: [i] i: \"1 2\" is not an integer");
  EXPECT_EQ(error_of([&] { c.get_int("i", "j", 0); }), "i.conf:11: [i] j: \"\" is not an integer");
  EXPECT_EQ(error_of([&] { c.get_int("i", "k", 0); }),
            "i.conf:12: [i] k: \"+-1\" is not an integer");
  EXPECT_EQ(error_of([&] { c.get_int("i", "l", 0); }), "i.conf:13: [i] l: \"-\" is not an integer");
}

TEST(ConfigValues, DurationUnitsAnyCase) {
  auto c = Config::parse(
      "[d]\nus 250us\nms 5MS\ns 3S\nsec 4sec\nm 1M\nmin 2Min\nh 1h\nhour 2HOUR\nzero 0\n"
      "big 28800s\n");
  EXPECT_EQ(c.get_duration("d", "us", 0ns), 250us);
  EXPECT_EQ(c.get_duration("d", "ms", 0ns), 5ms);
  EXPECT_EQ(c.get_duration("d", "s", 0ns), 3s);
  EXPECT_EQ(c.get_duration("d", "sec", 0ns), 4s);
  EXPECT_EQ(c.get_duration("d", "m", 0ns), 1min);
  EXPECT_EQ(c.get_duration("d", "min", 0ns), 2min);
  EXPECT_EQ(c.get_duration("d", "h", 0ns), 1h);
  EXPECT_EQ(c.get_duration("d", "hour", 0ns), 2h);
  EXPECT_EQ(c.get_duration("d", "zero", 1s), 0ns);
  EXPECT_EQ(c.get_duration("d", "big", 0ns), 8h);
}

TEST(ConfigValues, BadDurations) {
  auto c =
      Config::parse("[d]\nunit 5x\nneg -1s\nword soon\nhuge 9999999999999h\nsp 5 s\n", "d.conf");
  EXPECT_EQ(error_of([&] { c.get_duration("d", "unit", 0ns); }),
            "d.conf:2: [d] unit: duration \"5x\" has unknown unit \"x\" (use ms, s, m, h)");
  EXPECT_EQ(error_of([&] { c.get_duration("d", "neg", 0ns); }),
            "d.conf:3: [d] neg: duration \"-1s\" is negative");
  EXPECT_EQ(error_of([&] { c.get_duration("d", "word", 0ns); }).rfind("d.conf:4: [d] word: ", 0),
            0u);
  EXPECT_EQ(error_of([&] { c.get_duration("d", "huge", 0ns); }),
            "d.conf:5: [d] huge: duration \"9999999999999h\" is too large");
  EXPECT_EQ(error_of([&] { c.get_duration("d", "sp", 0ns); }),
            "d.conf:6: [d] sp: duration \"5 s\" has unknown unit \" s\" (use ms, s, m, h)");
}

TEST(ConfigValues, SizesAre1024BasedAnyCase) {
  auto c = Config::parse("[channel]\nsndbuf.size 2048\nk 4k\nkb 4KB\nm 2m\nmb 2Mb\ng 1g\ngb 3GB\n");
  EXPECT_EQ(c.get_size("channel", "sndbuf.size", 0), 2048);
  EXPECT_EQ(c.get_size("channel", "k", 0), 4096);
  EXPECT_EQ(c.get_size("channel", "kb", 0), 4096);
  EXPECT_EQ(c.get_size("channel", "m", 0), 2 * 1024 * 1024);
  EXPECT_EQ(c.get_size("channel", "mb", 0), 2 * 1024 * 1024);
  EXPECT_EQ(c.get_size("channel", "g", 0), 1LL << 30);
  EXPECT_EQ(c.get_size("channel", "gb", 0), 3LL << 30);
}

TEST(ConfigValues, BadSizes) {
  auto c = Config::parse("[c]\nunit 4t\nover 9999999999999g\nneg -1k\nfrac 1.5m\n", "c.conf");
  EXPECT_EQ(error_of([&] { c.get_size("c", "unit", 0); }),
            "c.conf:2: [c] unit: size \"4t\" has unknown unit \"t\" (use k, m, g)");
  EXPECT_EQ(error_of([&] { c.get_size("c", "over", 0); }),
            "c.conf:3: [c] over: size \"9999999999999g\" is too large");
  EXPECT_EQ(error_of([&] { c.get_size("c", "neg", 0); }),
            "c.conf:4: [c] neg: size \"-1k\" is negative");
  EXPECT_EQ(error_of([&] { c.get_size("c", "frac", 0); }),
            "c.conf:5: [c] frac: size \"1.5m\" is not a whole number");
}

TEST(ConfigValues, BadBoolean) {
  auto c = Config::parse("[channel]\nauth maybe\n", "comet.conf");
  const std::string err = error_of([&] { c.get_bool("channel", "auth", false); });
  EXPECT_EQ(err.rfind("comet.conf:2: [channel] auth: \"maybe\" is not a boolean", 0), 0u) << err;
}

// ---- parse errors ----

TEST(ConfigParseErrors, UnterminatedSection) {
  const std::string err = parse_error("[base]\na 1\n[zookeeper\n");
  EXPECT_EQ(err.rfind("test.conf:3: unterminated section header \"[zookeeper\"", 0), 0u) << err;
}

TEST(ConfigParseErrors, EmptySectionName) {
  EXPECT_EQ(parse_error("[ ]\n"), "test.conf:1: empty section name");
}

TEST(ConfigParseErrors, KeyOutsideSection) {
  EXPECT_EQ(parse_error("# top\nmaxproc 4\n[base]\n"),
            "test.conf:2: key \"maxproc\" outside any section");
}

TEST(ConfigParseErrors, OversizedLine) {
  std::string text = "[base]\nok 1\nbig " + std::string(Config::kMaxLineBytes, 'x') + "\n";
  EXPECT_EQ(parse_error(text), "test.conf:3: line longer than 65536 bytes");
  // Exactly at the limit is fine.
  std::string fits = "[base]\nbig " + std::string(Config::kMaxLineBytes - 4, 'x') + "\n";
  EXPECT_EQ(Config::parse(fits).get_string("base", "big", "").size(), Config::kMaxLineBytes - 4);
}

// Appends `line` to `text` until it passes the file limit; returns the number of that line.
int grow_past_file_limit(std::string& text, const std::string& line) {
  int line_no = static_cast<int>(std::count(text.begin(), text.end(), '\n'));
  while (text.size() <= Config::kMaxFileBytes) {
    text += line;
    ++line_no;
  }
  return line_no;
}

TEST(ConfigParseErrors, OversizedText) {
  std::string text = "[base]\n";
  const int line_no = grow_past_file_limit(text, "# " + std::string(1000, 'x') + "\n");
  EXPECT_EQ(parse_error(text),
            "test.conf:" + std::to_string(line_no) + ": file larger than 16777216 bytes");
  // Exactly at the limit is fine.
  text.resize(Config::kMaxFileBytes);
  text.back() = '\n';
  EXPECT_EQ(parse_error(text), "");
}

// ---- files and include ----

class ConfigFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/config_test.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string write(const std::string& name, const std::string& text) {
    const std::string path = dir_ + "/" + name;
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }

  std::string dir_;
};

TEST_F(ConfigFiles, LoadFile) {
  const std::string path = write("comet.conf", "[base]\nmaxproc 4\n");
  EXPECT_EQ(Config::load_file(path).get_int("base", "maxproc", 0), 4);
}

TEST_F(ConfigFiles, MissingFileNamesTheFile) {
  const std::string path = dir_ + "/nope.conf";
  EXPECT_EQ(error_of([&] { Config::load_file(path); }),
            path + ": cannot open: No such file or directory");
}

TEST_F(ConfigFiles, ErrorInFileNamesPathAndLine) {
  const std::string path = write("web.conf", "[base]\n\n[rpc\n");
  const std::string err = error_of([&] { Config::load_file(path); });
  EXPECT_EQ(err.rfind(path + ":3: unterminated section header", 0), 0u) << err;
}

TEST_F(ConfigFiles, IncludedFilesAreParsedAfterTheCurrentFile) {
  write("conf.d/b.conf", "[base]\nmaxproc 8\nfrom.b yes\n");
  write("conf.d/a.conf", "[zookeeper]\naddr z:1\n");
  const std::string main = write("main.conf", "[base]\ninclude conf.d/*.conf\nmaxproc 2\ndir ./\n");
  auto c = Config::load_file(main);
  EXPECT_EQ(c.get_int("base", "maxproc", 0), 8);  // the include is read after main.conf
  EXPECT_EQ(c.where("base", "maxproc"), dir_ + "/conf.d/b.conf:2");
  EXPECT_TRUE(c.get_bool("base", "from.b", false));
  EXPECT_EQ(c.get_list("zookeeper", "addr", {}), std::vector<std::string>{"z:1"});
  EXPECT_EQ(c.get_string("base", "dir", ""), "./");
}

TEST_F(ConfigFiles, IncludedFileStartsWithNoSection) {
  const std::string inc = write("inc.conf", "# no section here\nmaxproc 8\n");
  const std::string main = write("main.conf", "[base]\ninclude inc.conf\n");
  EXPECT_EQ(error_of([&] { Config::load_file(main); }),
            inc + ":2: key \"maxproc\" outside any section");
}

TEST_F(ConfigFiles, AbsoluteIncludeFromParsedText) {
  write("abs.conf", "[rpc]\nping 2s\n");
  auto c = Config::parse("include " + dir_ + "/abs.conf\n[base]\n");
  EXPECT_EQ(c.get_duration("rpc", "ping", 0ns), 2s);
}

TEST_F(ConfigFiles, MissingIncludeNamesTheIncludeLine) {
  const std::string main = write("main.conf", "[base]\n\ninclude missing/*.conf\n");
  EXPECT_EQ(error_of([&] { Config::load_file(main); }),
            main + ":3: include: no file matches \"" + dir_ + "/missing/*.conf\"");
}

TEST_F(ConfigFiles, IncludeCycleIsAnError) {
  const std::string a = write("a.conf", "[base]\ninclude b.conf\n");
  const std::string b = write("b.conf", "[rpc]\n\ninclude a.conf\n");
  EXPECT_EQ(error_of([&] { Config::load_file(a); }),
            b + ":3: include: \"" + dir_ + "/a.conf\" is already included (include cycle?)");
}

TEST_F(ConfigFiles, SameFileIncludedTwiceIsAnError) {
  write("x.conf", "[x]\n");
  const std::string main = write("main.conf", "include x.conf\ninclude ./x.conf\n");
  const std::string err = error_of([&] { Config::load_file(main); });
  EXPECT_EQ(err.rfind(main + ":2: include: ", 0), 0u) << err;
  EXPECT_NE(err.find("already included"), std::string::npos) << err;
}

TEST_F(ConfigFiles, IncludeDepthIsBounded) {
  for (int i = 0; i <= Config::kMaxIncludeDepth + 1; ++i) {
    write("f" + std::to_string(i) + ".conf", "include f" + std::to_string(i + 1) + ".conf\n");
  }
  const std::string err = error_of([&] { Config::load_file(dir_ + "/f0.conf"); });
  EXPECT_EQ(err, dir_ + "/f16.conf:1: include: nested deeper than 16");
}

TEST_F(ConfigFiles, OversizedFileNamesFileAndLine) {
  std::string text = "[base]\n";
  const int line_no = grow_past_file_limit(text, "k " + std::string(4093, 'v') + "\n");
  const std::string path = write("big.conf", text + "more 1\n");
  EXPECT_EQ(error_of([&] { Config::load_file(path); }),
            path + ":" + std::to_string(line_no) + ": file larger than 16777216 bytes");
}

}  // namespace
}  // namespace appmsg
