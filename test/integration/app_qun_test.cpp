// The qun (chat group) routes of the /app API (create-qun, getQunMembers, updateQunTopic,
// addQunMember, delQunMember) against a real cluster in app mode (app_fixture.hpp): the
// membership and creator rules, the limit under concurrent adds, tenant isolation, and the
// msgType 51 notices with their exact texts arriving on members' live connections.
#include <gtest/gtest.h>

#include <regex>
#include <thread>

#include "app_fixture.hpp"

namespace appmsg {
namespace {

using namespace test_app;
using nlohmann::json;
using test::eventually;
using test::Proto;
using test::Subscriber;

class AppQunTest : public AppApiTest {
 protected:
  static json members(std::initializer_list<const char*> uids) {
    json list = json::array();
    for (auto* u : uids) list.push_back({{"uid", u}, {"nickName", "EVIL"}});
    return list;
  }
  // A qun of u1 with `others`; its id.
  std::string create(const std::string& token, const std::string& topic, const json& list) {
    json a = post("device/create-qun", {{"baseRequest", base(token)},
                                        {"topic", topic},
                                        {"memberCount", list.size()},
                                        {"memberList", list}});
    EXPECT_EQ(ret(a), 0) << a.dump();
    std::string room = a.value("ChatRoomName", "");
    return room.substr(0, room.find('@'));
  }
  static std::vector<std::string> uids_of(const json& list) {
    std::vector<std::string> out;
    for (auto& m : list) out.push_back(m.value("uid", ""));
    return out;
  }
  // The next message on `sub` is the qun's notice with exactly `text`.
  void expect_notice(Subscriber& sub, const std::string& qun, const std::string& name,
                     const std::string& text, const std::string& who) {
    json m = next_msg(sub, who);
    EXPECT_EQ(m.value("msgType", 0), 51) << who << ": " << m.dump();
    EXPECT_EQ(m.value("fromUserName", ""), qun + "@qun") << who;
    EXPECT_EQ(m.value("fromDisplayName", ""), name) << who;
    EXPECT_EQ(m.value("content", ""), text) << who;
  }
};

TEST_F(AppQunTest, CreateQunMakesTheTokensUserTheOwnerAndNotifiesEveryMember) {
  std::string t1 = login("alice", "pw1", "qc1");
  auto a1 = session("u1", "iOS-qc1");
  auto b1 = session("u2", "android-qc2", Proto::websocket);
  json req{{"baseRequest", base(t1, "qc1", "iOS", "u2")},  // a forged uid: the token decides
           {"topic", "Plan <b>\"x\""},
           {"memberCount", 7},
           {"memberList", members({"u2", "u3", "u2", "u1"})}};
  json a = post("device/create-qun", req);
  ASSERT_EQ(ret(a), 0) << a.dump();
  const std::string room = a.value("ChatRoomName", "");
  ASSERT_TRUE(std::regex_match(
      room, std::regex("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}@qun")))
      << room;
  const std::string id = room.substr(0, room.size() - 4);
  EXPECT_EQ(a["topic"], "Plan <b>\"x\"");
  EXPECT_EQ(a["memberCount"], 7) << "echoed unchanged";
  EXPECT_EQ(uids_of(a["memberList"]), (std::vector<std::string>{"u1", "u2", "u3"}));
  EXPECT_EQ(a["memberList"][0]["password"], "");
  EXPECT_EQ(sql1("SELECT CONCAT(creator_id, ' ', max_member, ' ', tenant_id) FROM qun WHERE id='" +
                 id + "'"),
            "u1 100 t1");
  EXPECT_EQ(sql1("SELECT GROUP_CONCAT(user_id, ':', role ORDER BY sort) FROM qun_user WHERE "
                 "qun_id='" +
                 id + "'"),
            "u1:0,u2:2,u3:2");
  expect_notice(*a1, id, "Plan <b>\"x\"", "您创建了群\"Plan <b>\"x\"\"", "creator");
  expect_notice(*b1, id, "Plan <b>\"x\"", "您被Alice邀请加入群聊", "member");
  // u3 is offline: its notice waits on its offline key.
  auto waiting = stored("u3@user");
  ASSERT_FALSE(waiting.empty());
  EXPECT_EQ(waiting.back().value("content", ""), "您被Alice邀请加入群聊");

  // A member reads the qun; a user who is not one may not.
  std::string t2 = login("bob", "pw2", "qc2");
  json m = post("device/getQunMembers", {{"baseRequest", base(t2)}, {"userName", room}});
  ASSERT_EQ(ret(m), 0) << m.dump();
  EXPECT_EQ(m["memberCount"], 3);
  EXPECT_EQ(m["quninfo"]["creatorUserName"], "u1@user");
  EXPECT_EQ(m["quninfo"]["name"], "Plan <b>\"x\"");
  EXPECT_EQ(m["quninfo"]["maxMember"], 100);
  std::string t4 = login("dave", "pw4", "qc4");
  EXPECT_EQ(ret(post("device/getQunMembers", {{"baseRequest", base(t4)}, {"userName", room}})),
            65538);
  EXPECT_EQ(
      ret(post("device/getQunMembers", {{"baseRequest", base(t2)},
                                        {"userName", "00000000-0000-4000-8000-00000000dead@qun"}})),
      65531);
}

TEST_F(AppQunTest, CreateQunRefusesBadListsForeignUsersAndOverTheLimitAndWritesNothing) {
  cluster().sql(
      "INSERT IGNORE INTO tenant VALUES ('tq2','other','Other',1,'c1',NOW(),NOW());"
      "INSERT IGNORE INTO user (id,name,nickname,password,tenant_id) VALUES "
      "('qx1','xavier','Xavier','pwx','tq2');");
  std::string t1 = login("alice", "pw1", "qr1");
  const std::string before = sql1("SELECT COUNT(*) FROM qun");
  auto create_with = [&](const json& list, const json& topic = "T") {
    return post("device/create-qun",
                {{"baseRequest", base(t1)}, {"topic", topic}, {"memberList", list}});
  };
  json big = json::array();
  for (int i = 0; i < 100; ++i) big.push_back({{"uid", "many" + std::to_string(i)}});
  EXPECT_EQ(ret(create_with(big)), 65532) << "101 with the creator";
  EXPECT_EQ(ret(create_with(members({"u2", "qx1"}))), 65533) << "a user of another tenant";
  EXPECT_EQ(ret(create_with(members({"u2", "nobody"}))), 65531);
  EXPECT_EQ(ret(create_with(json::array({{{"nickName", "no uid"}}}))), 65534);
  EXPECT_EQ(ret(create_with(json::array({"u2"}))), 65534);
  EXPECT_EQ(ret(create_with(members({"u2"}), 5)), 65534) << "topic must be a string";
  EXPECT_EQ(ret(post("device/create-qun", {{"baseRequest", base(t1)},
                                           {"topic", "T"},
                                           {"memberCount", "zzz"},
                                           {"memberList", members({"u2"})}})),
            65534);
  EXPECT_EQ(ret(create_with(members({"u2"}), std::string(46, 'x'))), 65532);
  EXPECT_EQ(ret(post("device/create-qun", {{"baseRequest", base(t1)}, {"topic", "T"}})), 65534);
  EXPECT_EQ(ret(post("device/create-qun", {{"baseRequest", base("u1_nope")},
                                           {"topic", "T"},
                                           {"memberList", members({"u2"})}})),
            65533);
  EXPECT_EQ(sql1("SELECT COUNT(*) FROM qun"), before) << "nothing was written";
  // A user of the foreign tenant cannot read or change t1's qun.
  std::string tx = login("xavier", "pwx", "qr9");
  const std::string room = std::string(kQun) + "@qun";
  EXPECT_EQ(ret(post("device/getQunMembers", {{"baseRequest", base(tx)}, {"userName", room}})),
            65538);
  EXPECT_EQ(ret(post("device/addQunMember", {{"baseRequest", base(tx)},
                                             {"ChatRoomName", room},
                                             {"memberList", members({"qx1"})}})),
            65538);
  EXPECT_EQ(sql1("SELECT COUNT(*) FROM qun_user WHERE qun_id='" + std::string(kQun) + "'"), "3");
}

TEST_F(AppQunTest, RenameIsForMembersAndTellsTheRenamerAndTheOthers) {
  std::string t1 = login("alice", "pw1", "qn1");
  std::string id = create(t1, "Before", members({"u2"}));
  const std::string room = id + "@qun";
  // getQunMembers caches the qun on web; the rename must show at once all the same.
  std::string t2 = login("bob", "pw2", "qn2");
  ASSERT_EQ(post("device/getQunMembers",
                 {{"baseRequest", base(t2)}, {"userName", room}})["quninfo"]["name"],
            "Before");
  auto a1 = session("u1", "iOS-qn1");
  auto b1 = session("u2", "android-qn2");
  std::string t4 = login("dave", "pw4", "qn4");
  EXPECT_EQ(ret(post("device/updateQunTopic",
                     {{"baseRequest", base(t4)}, {"ChatRoomName", room}, {"topic", "Hijack"}})),
            65538);
  json a = post("device/updateQunTopic",
                {{"baseRequest", base(t2)}, {"ChatRoomName", room}, {"topic", "After"}});
  ASSERT_EQ(ret(a), 0) << a.dump();
  EXPECT_EQ(a["baseResponse"]["errMsg"], "update Qun Topic success");
  expect_notice(*b1, id, "After", "您修改了群名为\"After\"", "renamer");
  expect_notice(*a1, id, "After", "Bob修改了群名为\"After\"", "other member");
  EXPECT_EQ(post("device/getQunMembers",
                 {{"baseRequest", base(t2)}, {"userName", room}})["quninfo"]["name"],
            "After");
  EXPECT_EQ(ret(post("device/updateQunTopic", {{"baseRequest", base(t2)},
                                               {"ChatRoomName",
                                                "00000000-0000-4000-8000-"
                                                "00000000beef@qun"},
                                               {"topic", "x"}})),
            65535);
  EXPECT_EQ(ret(post("device/updateQunTopic",
                     {{"baseRequest", base(t2)}, {"ChatRoomName", id}, {"topic", "x"}})),
            65534)
      << "ChatRoomName must name a qun";
}

TEST_F(AppQunTest, AddQunMemberUsesNicknamesFromTheDatabaseAndTheNewMemberMayPushAtOnce) {
  std::string t1 = login("alice", "pw1", "qa1");
  std::string id = create(t1, "Adders", members({"u2"}));
  const std::string room = id + "@qun";
  std::string t4 = login("dave", "pw4", "qa4");
  // Dave is not a member yet: he may not push (and web caches that membership) nor add.
  json push{
      {"baseRequest", base(t4, "qa4")},
      {"msg",
       {{"fromUserName", "u4@user"}, {"toUserName", room}, {"content", "hi"}, {"msgType", 1}}}};
  EXPECT_EQ(ret(post("device/push", push)), 65538);
  EXPECT_EQ(ret(post("device/addQunMember", {{"baseRequest", base(t4)},
                                             {"ChatRoomName", room},
                                             {"memberList", members({"u4"})}})),
            65538);
  auto a1 = session("u1", "iOS-qa1");
  auto b1 = session("u2", "android-qa2");
  auto d1 = session("u4", "iOS-qa4");
  std::string t2 = login("bob", "pw2", "qa2");
  auto calls = [&](const char* method) {
    uint64_t n = 0;
    for (int c = 1; c <= 2; ++c) {
      n += metric("appmsg_web_comet_calls_total{node=\"" + test::TestCluster::comet_name(c) +
                  "\",method=\"" + method + "\"}");
    }
    return n;
  };
  const uint64_t batches = calls("push_batch"), singles = calls("push");
  json a = post(
      "device/addQunMember",
      {{"baseRequest", base(t2)}, {"ChatRoomName", room}, {"memberList", members({"u4", "u1"})}});
  ASSERT_EQ(ret(a), 0) << a.dump();
  EXPECT_EQ(uids_of(a["memberList"]), (std::vector<std::string>{"u1", "u2", "u4"}));
  EXPECT_EQ(a["memberCount"], 3);
  EXPECT_EQ(a["quninfo"]["id"], id);
  expect_notice(*b1, id, "Adders", "您邀请Dave等1人加入了群聊", "inviter");
  expect_notice(*d1, id, "Adders", "您被Bob邀请加入群聊", "invited");
  expect_notice(*a1, id, "Adders", "Bob邀请Dave等1人加入了群聊", "other member");
  // Three notices, six copies (offline and live) over two comets: one push_batch per comet.
  EXPECT_LE(calls("push_batch") - batches, 2u);
  EXPECT_EQ(calls("push"), singles);
  EXPECT_EQ(sql1("SELECT role FROM qun_user WHERE qun_id='" + id + "' AND user_id='u4'"), "2");
  // The membership cache followed the change: Dave's push reaches Alice.
  json p = post("device/push", push);
  ASSERT_EQ(ret(p), 0) << p.dump();
  EXPECT_EQ(next_msg(*a1, "alice").value("content", ""), "u4@user|dave|Dave&&hi");
  EXPECT_EQ(next_msg(*b1, "bob").value("content", ""), "u4@user|dave|Dave&&hi");
  // Adding members who are all there already changes nothing and tells no one.
  json again =
      post("device/addQunMember",
           {{"baseRequest", base(t2)}, {"ChatRoomName", room}, {"memberList", members({"u4"})}});
  EXPECT_EQ(ret(again), 0) << again.dump();
  expect_nothing_before_marker(*b1, "u2_android-qa2@user");
}

TEST_F(AppQunTest, ConcurrentAddsNeverPassTheQunsLimit) {
  std::string values;
  for (int i = 0; i < 6; ++i) {
    values += std::string(i ? "," : "") + "('ql" + std::to_string(i) + "','limit" +
              std::to_string(i) + "','L" + std::to_string(i) + "','pw','t1')";
  }
  cluster().sql("INSERT IGNORE INTO user (id,name,nickname,password,tenant_id) VALUES " + values +
                ";");
  std::string t1 = login("alice", "pw1", "ql1");
  std::string id = create(t1, "Small", json::array());
  cluster().sql("UPDATE qun SET max_member = 4 WHERE id = '" + id + "';");
  std::vector<int> rets(6, -1);
  std::vector<std::thread> threads;
  for (int i = 0; i < 6; ++i) {
    threads.emplace_back([&, i] {
      json body{{"baseRequest", base(t1)},
                {"ChatRoomName", id + "@qun"},
                {"memberList", json::array({{{"uid", "ql" + std::to_string(i)}}})}};
      auto r = cluster().app_post("/app/client/device/addQunMember", body.dump());
      rets[i] = ret(r.json());
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(std::count(rets.begin(), rets.end(), 0), 3);
  EXPECT_EQ(std::count(rets.begin(), rets.end(), 65532), 3);
  EXPECT_EQ(sql1("SELECT COUNT(*) FROM qun_user WHERE qun_id='" + id + "'"), "4");
}

TEST_F(AppQunTest, RemovalIsForTheCreatorLeavingForAnyoneAndTheLastOneDeletesTheQun) {
  std::string t1 = login("alice", "pw1", "qd1");
  std::string t2 = login("bob", "pw2", "qd2");
  std::string t3 = login("carol", "pw3", "qd3");
  std::string id = create(t1, "Leavers", members({"u2", "u3"}));
  const std::string room = id + "@qun";
  auto a1 = session("u1", "iOS-qd1");
  auto b1 = session("u2", "android-qd2");
  auto c1 = session("u3", "iOS-qd3");
  auto del = [&](const std::string& token, const json& list) {
    return post("device/delQunMember",
                {{"baseRequest", base(token)}, {"ChatRoomName", room}, {"memberList", list}});
  };
  json refused = del(t2, members({"u3"}));
  EXPECT_EQ(ret(refused), 65535);
  EXPECT_EQ(refused["baseResponse"]["errMsg"],
            "delete Qun Member faild,only qun creater can delete");

  json removed = del(t1, members({"u3"}));
  ASSERT_EQ(ret(removed), 0) << removed.dump();
  EXPECT_EQ(uids_of(removed["memberList"]), (std::vector<std::string>{"u1", "u2"}));
  expect_notice(*c1, id, "Leavers", "您被Alice移出了群聊", "removed");
  expect_notice(*b1, id, "Leavers", "Alice将Carol移除了群聊", "other member");
  expect_notice(*a1, id, "Leavers", "您将Carol移出了群聊", "remover");
  json push{{"baseRequest", base(t3, "qd3")},
            {"msg", {{"fromUserName", "u3@user"}, {"toUserName", room}, {"content", "hi"}}}};
  EXPECT_EQ(ret(post("device/push", push)), 65538) << "a removed member no longer pushes";

  // The creator leaves: Bob, the longest-standing member, owns the qun.
  json left = del(t1, members({"u1"}));
  ASSERT_EQ(ret(left), 0) << left.dump();
  expect_notice(*a1, id, "Leavers", "您退出了群聊", "leaver");
  expect_notice(*b1, id, "Leavers", "Alice退出了群聊", "remaining member");
  EXPECT_EQ(left["quninfo"]["creatorId"], "u2");
  EXPECT_EQ(sql1("SELECT role FROM qun_user WHERE qun_id='" + id + "' AND user_id='u2'"), "0");

  // The last member leaves: the qun is gone.
  json last = del(t2, members({"u2"}));
  ASSERT_EQ(ret(last), 0) << last.dump();
  EXPECT_EQ(last["memberCount"], 0);
  expect_notice(*b1, id, "Leavers", "您退出了群聊", "last member");
  EXPECT_EQ(sql1("SELECT COUNT(*) FROM qun WHERE id='" + id + "'"), "0");
  EXPECT_EQ(ret(post("device/getQunMembers", {{"baseRequest", base(t2)}, {"userName", room}})),
            65531);
  EXPECT_EQ(ret(post("device/delQunMember", {{"baseRequest", base(t2)},
                                             {"ChatRoomName", std::string(kQun) + "@qun"},
                                             {"memberList", json::array()}})),
            65534);
}

}  // namespace
}  // namespace appmsg
