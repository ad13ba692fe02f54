/*
 * app_envelope_fuzz: libFuzzer target for the /app wire format (web/app/envelope and the
 * request parsing of web/app/push_pipeline): the baseRequest envelope of JSON and of form
 * (appweb) requests, the field getters, the baseResponse answer, the `sessions` selector,
 * msgType 2's responseUpload, destination names, and the per-copy message text.
 *
 * Input: the body of a request, as JSON and as a form. Besides crashing (ASan/UBSan, or an
 * exception escaping), it aborts when:
 *  - a request is accepted whose body is not an object, whose baseRequest is not an object, or
 *    whose baseRequest fields are not strings (or null), or its fields are not those strings;
 *  - an answer (with the body's fields as payload) is not JSON with baseResponse first,
 *    carrying the ret and errMsg given;
 *  - a selector is accepted from a `sessions` that is not an array of strings;
 *  - an upload is accepted with a size that is not a whole number in 0..2^31-1;
 *  - split_name does not split at the last '@';
 *  - a copy's text (open_text of the body, then copy_for) is not the body's object with
 *    toUserKey and activeSessions added.
 */
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "web/app/envelope.hpp"
#include "web/app/push_pipeline.hpp"

namespace {

using namespace appmsg::web::app;
using nlohmann::json;

void check(bool ok) {
  if (!ok) std::abort();
}

// Serialisable without replacing invalid UTF-8.
bool clean_utf8(const json& j) {
  try {
    (void)j.dump();
    return true;
  } catch (const json::type_error&) {
    return false;
  }
}

void check_request(const appmsg::HttpRequest& req) {
  const auto in = parse_json_request(req);
  if (!in) return;
  check(in->body.is_object());
  const json* base = object_field(in->body, "baseRequest");
  check(base != nullptr);
  const auto field = [&](const char* name) {
    auto it = base->find(name);
    if (it == base->end() || it->is_null()) return std::string();
    check(it->is_string());
    return it->get<std::string>();
  };
  check(in->base.uid == field("uid") && in->base.device_id == field("deviceID"));
  check(in->base.device_type == field("deviceType") && in->base.token == field("token"));
  (void)in->base.is_device();
}

void check_answer(const json& body, int ret) {
  const std::string* msg = string_field(body, "errMsg");
  Answer a{ret, msg ? *msg : "x", ojson::object()};
  if (body.is_object()) {
    for (auto& [k, v] : body.items()) {
      if (k != "baseResponse") a.payload[k] = v;  // handlers never set it; it is the envelope
    }
  }
  const ojson out = ojson::parse(answer_text(a));
  check(out.begin().key() == "baseResponse");
  check(out["baseResponse"]["ret"] == ret);
  if (clean_utf8(a.err_msg)) {
    check(out["baseResponse"]["errMsg"].get<std::string>() == a.err_msg);
  }
}

void check_selector(const json& body) {
  const auto sel = SessionSelector::parse(body);
  const auto it = body.find("sessions");
  if (it == body.end() || it->is_null()) {
    check(sel && sel->kind == SessionSelector::Kind::all);
    return;
  }
  bool strings = it->is_array();
  if (strings) {
    for (auto& v : *it) strings = strings && v.is_string();
  }
  check(sel.has_value() == strings);
  if (sel && sel->kind == SessionSelector::Kind::ids) check(!sel->ids.empty());
}

void check_upload(const json& body) {
  const json* oc = object_field(body, "objectContent");
  if (!oc) return;
  if (const auto up = file_upload_of(*oc)) {
    const double size = (*oc)["responseUpload"]["size"].get<double>();
    check(size >= 0 && size <= 2147483647.0 && std::floor(size) == size);
    check(up->size == static_cast<int64_t>(size));
  }
}

void check_copy(json body) {
  for (auto* k : {"toUserKey", "activeSessions"}) body.erase(k);
  Name name{"u1", "u1_ios-d1", {"u1_web-w1"}, ""};
  const Copy c = copy_for(name, open_text(body), json{{"toUserName", "u1@user"}}, 60);
  json expected = body;
  expected["toUserName"] = "u1@user";
  expected["toUserKey"] = "u1_ios-d1@user";
  expected["activeSessions"] = json::array({"u1_web-w1"});
  const json got = json::parse(*c.msg, nullptr, false);
  // Invalid UTF-8 in the body is replaced when serialised, so compare only clean bodies.
  if (clean_utf8(body)) {
    check(got == expected);
  } else {
    check(got.is_object());
  }
  check(c.key == "u1_ios-d1@user" && c.expire == 0);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  appmsg::HttpRequest req;
  req.method = "POST";
  req.body = text;
  check_request(req);

  // The appweb form: baseRequest[uid]=... from a query string.
  req.form = appmsg::parse_query(text);
  const BaseRequest b = base_from_params(req);
  check(b.uid == req.param_or("baseRequest[uid]") && b.token == req.param_or("baseRequest[token]"));

  const auto [id, suffix] = split_name(text);
  if (const auto at = text.rfind('@'); at == std::string::npos) {
    check(id == text && suffix.empty());
  } else {
    check(id + "@" + suffix == text && suffix.find('@') == std::string::npos);
  }

  const json body = json::parse(text, nullptr, false);
  if (body.is_discarded()) return 0;
  check_answer(body, size % 70000);
  if (!body.is_object()) return 0;
  check_selector(body);
  check_upload(body);
  check_copy(body);
  return 0;
}
