// Tests for the process helpers: the pid file (written, locked against a second instance,
// removed on destruction) and the command line (both the new and the original's flag spellings).
#include "common/process.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace appmsg {
namespace {

namespace fs = std::filesystem;

// A fresh folder for one test, removed with its contents afterwards.
class ProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "appmsg-process-test-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  fs::path dir_;
};

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// ---- PidFile ----

TEST_F(ProcessTest, PidFileHoldsOurPid) {
  const auto p = path("daemon.pid");
  PidFile pid(p);
  EXPECT_EQ(read_file(p), std::to_string(::getpid()) + "\n");
}

TEST_F(ProcessTest, PidFileOverwritesAStaleFile) {
  const auto p = path("daemon.pid");
  std::ofstream(p) << "99999999999 stale content that is longer than a pid\n";
  PidFile pid(p);
  EXPECT_EQ(read_file(p), std::to_string(::getpid()) + "\n");
}

TEST_F(ProcessTest, SecondPidFileOnTheSamePathThrowsWhileTheFirstLives) {
  const auto p = path("daemon.pid");
  auto first = std::make_unique<PidFile>(p);
  EXPECT_THROW(PidFile second(p), std::runtime_error);
  // The failed attempt must not have removed or rewritten the first instance's file.
  EXPECT_EQ(read_file(p), std::to_string(::getpid()) + "\n");
  first.reset();
  EXPECT_NO_THROW(PidFile again(p));
}

TEST_F(ProcessTest, PidFileIsRemovedOnDestruction) {
  const auto p = path("daemon.pid");
  {
    PidFile pid(p);
    ASSERT_TRUE(fs::exists(p));
  }
  EXPECT_FALSE(fs::exists(p));
}

TEST_F(ProcessTest, UnwritablePidFilePathThrows) {
  const auto p = path("no/such/dir/daemon.pid");
  EXPECT_THROW(PidFile pid(p), std::runtime_error);
}

// ---- parse_command_line ----

std::optional<CommandLine> parse(std::vector<std::string> args) {
  args.insert(args.begin(), "appmsg-test");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  return parse_command_line(static_cast<int>(args.size()), argv.data(), "appmsg-test",
                            "./default.conf");
}

TEST(CommandLine, DefaultsWithoutFlags) {
  auto cli = parse({});
  ASSERT_TRUE(cli);
  EXPECT_EQ(cli->config_path, "./default.conf");
  EXPECT_EQ(cli->log_level, "");
  EXPECT_FALSE(cli->check_only);
}

TEST(CommandLine, ShortConfigFlag) {
  auto cli = parse({"-c", "/etc/comet.conf"});
  ASSERT_TRUE(cli);
  EXPECT_EQ(cli->config_path, "/etc/comet.conf");
}

TEST(CommandLine, LongConfigFlagWithEquals) {
  auto cli = parse({"--config=/etc/comet.conf"});
  ASSERT_TRUE(cli);
  EXPECT_EQ(cli->config_path, "/etc/comet.conf");
}

TEST(CommandLine, LogLevelWithSpace) {
  auto cli = parse({"--log-level", "debug"});
  ASSERT_TRUE(cli);
  EXPECT_EQ(cli->log_level, "debug");
}

TEST(CommandLine, OriginalSingleDashLogLevel) {
  auto cli = parse({"-log_level=debug"});
  ASSERT_TRUE(cli);
  EXPECT_EQ(cli->log_level, "debug");
}

TEST(CommandLine, CheckOnlyFlag) {
  auto cli = parse({"-t", "-c", "x.conf"});
  ASSERT_TRUE(cli);
  EXPECT_TRUE(cli->check_only);
  EXPECT_EQ(cli->config_path, "x.conf");
}

TEST(CommandLine, UnknownFlagThrowsInvalidArgument) {
  EXPECT_THROW(parse({"--no-such-flag"}), std::invalid_argument);
  EXPECT_THROW(parse({"-x"}), std::invalid_argument);
}

TEST(CommandLine, ConfigFlagWithoutValueThrowsInvalidArgument) {
  EXPECT_THROW(parse({"-c"}), std::invalid_argument);
}

TEST(CommandLine, VersionPrintsAndReturnsNothing) {
  testing::internal::CaptureStdout();
  auto cli = parse({"--version"});
  std::string out = testing::internal::GetCapturedStdout();
  EXPECT_FALSE(cli);
  EXPECT_EQ(out, std::string("appmsg-test ") + APPMSG_VERSION + "\n");
}

TEST(CommandLine, HelpPrintsUsageAndReturnsNothing) {
  testing::internal::CaptureStdout();
  auto cli = parse({"--help"});
  std::string out = testing::internal::GetCapturedStdout();
  EXPECT_FALSE(cli);
  EXPECT_NE(out.find("Usage: appmsg-test"), std::string::npos);
}

}  // namespace
}  // namespace appmsg
