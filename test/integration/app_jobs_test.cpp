// The web node's background jobs against a real cluster in app mode (app_fixture.hpp) and a
// weedfs-compatible file server run by this test (an HTTP server answering DELETE /<fid> as
// weedfs does): expired file links are deleted there and then from file_link, a failure keeps
// its row, links to other servers are dropped without a call, and the original's stale session
// rows are purged.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <mutex>
#include <thread>

#include "app_fixture.hpp"
#include "common/http_server.hpp"

namespace appmsg {
namespace {

using namespace test_app;
using namespace std::chrono_literals;

// DELETE /<fid>: {"size":N} for a stored fid, 404 {"error":"not found"} for an unknown one,
// 500 {"error":...} for fids starting "3,bad". Records every request.
class FakeWeedfs {
 public:
  FakeWeedfs() {
    auto router = std::make_shared<HttpRouter>();
    router->add_prefix("/", {"DELETE", "GET", "POST"},
                       [this](const HttpRequest& req) -> boost::asio::awaitable<HttpResponse> {
                         HttpResponse r;
                         std::lock_guard lock(mu_);
                         requests_.push_back(req.method + " " + req.path);
                         const std::string fid = req.path.substr(1);
                         if (fid.rfind("3,bad", 0) == 0) {
                           r.status = 500;
                           r.body = R"({"error":"volume is read only"})";
                         } else if (stored_.erase(fid)) {
                           r.status = 202;
                           r.body = R"({"size":1234})";
                         } else {
                           r.status = 404;
                           r.body = R"({"error":"not found"})";
                         }
                         co_return r;
                       });
    server_ = std::make_unique<HttpServer>(ioc_.get_executor(), HttpServerOptions{}, router);
    port_ = server_->listen("127.0.0.1:0");
    thread_ = std::thread([this] { ioc_.run(); });
  }
  ~FakeWeedfs() {
    ioc_.stop();
    thread_.join();
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  void store(const std::string& fid) {
    std::lock_guard lock(mu_);
    stored_.insert(fid);
  }
  std::vector<std::string> requests() {
    std::lock_guard lock(mu_);
    return requests_;
  }

 private:
  boost::asio::io_context ioc_;
  std::unique_ptr<HttpServer> server_;
  uint16_t port_ = 0;
  std::thread thread_;
  std::mutex mu_;
  std::set<std::string> stored_;
  std::vector<std::string> requests_;
};

class AppJobsTest : public AppApiTest {
 protected:
  static void SetUpTestSuite() {
    weedfs_ = new FakeWeedfs();
    web_extra_ = "filelink.interval 1s\nfilelink.batch 2\nsession.purge 1s\n\n[weedfs]\naddress " +
                 weedfs_->address() + "\n";
    AppApiTest::SetUpTestSuite();
  }
  static void TearDownTestSuite() {
    AppApiTest::TearDownTestSuite();
    delete weedfs_;
    weedfs_ = nullptr;
  }
  static inline FakeWeedfs* weedfs_ = nullptr;
};

TEST_F(AppJobsTest, ExpiredFileLinksAreDeletedOnWeedfsThenFromTheTable) {
  const std::string own = weedfs_->address();
  weedfs_->store("3,01aa");
  weedfs_->store("3,02bb");
  weedfs_->store("3,03cc");
  weedfs_->store("3,05ab");
  // Expired rows (over [msg] expire, 7 days, old): three stored files, one weedfs no longer
  // has (404: gone already), one it fails to delete, one of another server, one whose fid is
  // not one (a user could aim the DELETE anywhere); and two fresh ones: fl7, and fl9 of
  // another sender who sent fl1's file an hour ago (so that file is not deleted).
  auto row = [&](const std::string& id, const std::string& fid, const char* age,
                 std::string url = "") {
    if (url.empty()) url = own + "/" + fid;
    return "('" + id + "','" + id + "-sender','" + fid + "','f.txt','" + url +
           "',1,NOW() - INTERVAL " + age + ",NOW() - INTERVAL " + age + ")";
  };
  cluster().sql(
      "INSERT INTO file_link (id,sender_id,file_id,file_name,file_url,size,created,updated) "
      "VALUES " +
      row("fl1", "3,01aa", "8 DAY") + "," + row("fl2", "3,02bb", "30 DAY") + "," +
      row("fl3", "3,03cc", "8 DAY") + "," + row("fl4", "3,04ee", "9 DAY") + "," +
      row("fl5", "3,bad1", "8 DAY") + "," + row("fl6", "3,06ff", "8 DAY", "10.9.9.9:8080/3,06ff") +
      "," + row("fl7", "3,05ab", "1 DAY") + "," +
      row("fl8", "3,07a?x=1", "8 DAY", own + "/3,07a?x=1") + "," + row("fl9", "3,01aa", "1 HOUR") +
      ";");
  const std::string left_over =
      "SELECT GROUP_CONCAT(id ORDER BY id) FROM file_link WHERE id LIKE 'fl%'";
  ASSERT_TRUE(eventually([&] { return sql1(left_over) == "fl5,fl7,fl9"; }, 20s)) << sql1(left_over);
  auto seen = weedfs_->requests();
  std::set<std::string> calls(seen.begin(), seen.end());
  EXPECT_EQ(calls, (std::set<std::string>{"DELETE /3,02bb", "DELETE /3,03cc", "DELETE /3,04ee",
                                          "DELETE /3,bad1"}));
  for (auto& c : seen) EXPECT_EQ(c.rfind("DELETE /3,", 0), 0u) << c;
  // The failing one is tried again at the next round, and kept.
  const size_t tries = std::count(seen.begin(), seen.end(), "DELETE /3,bad1");
  ASSERT_TRUE(eventually(
      [&] {
        auto again = weedfs_->requests();
        return static_cast<size_t>(std::count(again.begin(), again.end(), "DELETE /3,bad1")) >
               tries;
      },
      10s));
  EXPECT_EQ(sql1(left_over), "fl5,fl7,fl9");
  // Three files deleted (3,04ee was gone already: 404 counts too), the failures counted.
  EXPECT_EQ(metric("appmsg_web_app_files_deleted_total"), 3u);
  EXPECT_GE(metric("appmsg_web_app_file_delete_failures_total"), 2u);
}

TEST_F(AppJobsTest, StaleSessionRowsOfTheOriginalArePurged) {
  cluster().sql(
      "INSERT INTO session (id,type,user_id,state,created,updated) VALUES "
      "('u1_iOS-old','iOS','u1','init',NOW() - INTERVAL 3 DAY,NOW() - INTERVAL 25 HOUR),"
      "('u1_iOS-new','iOS','u1','init',NOW(),NOW());");
  ASSERT_TRUE(eventually(
      [&] { return sql1("SELECT COUNT(*) FROM session WHERE id='u1_iOS-old'") == "0"; }, 20s));
  EXPECT_EQ(sql1("SELECT COUNT(*) FROM session WHERE id='u1_iOS-new'"), "1");
  EXPECT_GE(metric("appmsg_web_app_sessions_purged_total"), 1u);
}

}  // namespace
}  // namespace appmsg
