// json_text: members cut out of object text as written, JSONP separators, string literals.
#include "common/json_text.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace appmsg {
namespace {

using Members = std::vector<std::pair<std::string_view, std::string_view>>;

TEST(JsonText, object_members_are_the_raw_text_in_order) {
  const std::string text =
      R"( { "z" : {"b":1, "a":[1,{"c":"}"}]} , "k":["x","y"],"e":"\u00e9<","n":-1.5e3 } )";
  ASSERT_TRUE(is_json(text));
  auto m = object_members(text);
  ASSERT_TRUE(m);
  EXPECT_EQ(*m, (Members{{R"("z")", R"({"b":1, "a":[1,{"c":"}"}]})"},
                         {R"("k")", R"(["x","y"])"},
                         {R"("e")", R"("\u00e9<")"},
                         {R"("n")", "-1.5e3"}}));
  EXPECT_EQ(object_members("{}"), Members{});
  EXPECT_EQ(object_members(R"({"a\"b":"c\\"})"), (Members{{R"("a\"b")", R"("c\\")"}}));
}

TEST(JsonText, object_members_refuse_what_is_not_an_object) {
  for (std::string_view bad : {"", "[1]", "{", R"({"a")", R"({"a":)", R"({"a":1)", R"({"a":1,})",
                               R"({"a":"x)", R"({a:1})", R"({"a":[1,2})"}) {
    SCOPED_TRACE(bad);
    EXPECT_FALSE(object_members(bad));
  }
}

TEST(JsonText, jsonp_separators_are_escaped_inside_strings_only_as_escapes) {
  EXPECT_EQ(escape_js_separators("\"a\xE2\x80\xA8"
                                 "b\xE2\x80\xA9\""),
            R"("a\u2028b\u2029")");
  EXPECT_EQ(escape_js_separators("\"\xE2\x82\xAC\""), "\"\xE2\x82\xAC\"");  // the euro sign stays
  auto v = nlohmann::json::parse(escape_js_separators("\"\xE2\x80\xA8\""));
  EXPECT_EQ(v, "\xE2\x80\xA8");
}

TEST(JsonText, old_format_holds_the_raw_text) {
  const std::string body = "{ \"b\" : 1,\n \"a\" : \"\\u00e9 <\" }";
  auto p = nlohmann::json::parse(encode_old(body, 7));
  EXPECT_EQ(p["msg"], body);
  EXPECT_EQ(json_string("a\"\n"), R"("a\"\n")");
}

}  // namespace
}  // namespace appmsg
