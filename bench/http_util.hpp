// HTTP pieces the load tools share: "host:port" endpoints, one HTTP/1.1 exchange on a kept-alive
// socket, web's /1/server/get, and the "ret" of a JSON answer.
#pragma once

#include <boost/asio.hpp>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

namespace appmsg::bench {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using nlohmann::json;

inline tcp::endpoint endpoint(const std::string& hostport) {
  auto colon = hostport.rfind(':');
  return {asio::ip::make_address(hostport.substr(0, colon)),
          static_cast<uint16_t>(std::stoi(hostport.substr(colon + 1)))};
}

// One HTTP/1.1 exchange on a kept-alive socket; returns the body. Throws on any failure.
inline asio::awaitable<std::string> exchange(tcp::socket& s, std::string& buf,
                                             std::string request) {
  co_await asio::async_write(s, asio::buffer(request), asio::use_awaitable);
  size_t head_end;
  while ((head_end = buf.find("\r\n\r\n")) == std::string::npos) {
    char tmp[4096];
    size_t n = co_await s.async_read_some(asio::buffer(tmp), asio::use_awaitable);
    buf.append(tmp, n);
  }
  auto cl = buf.find("Content-Length: ");
  if (cl == std::string::npos || cl > head_end) cl = buf.find("content-length: ");
  if (cl == std::string::npos || cl > head_end) throw std::runtime_error("no content-length");
  size_t len = std::stoul(buf.substr(cl + 16));
  while (buf.size() < head_end + 4 + len) {
    char tmp[4096];
    size_t n = co_await s.async_read_some(asio::buffer(tmp), asio::use_awaitable);
    buf.append(tmp, n);
  }
  std::string body = buf.substr(head_end + 4, len);
  buf.erase(0, head_end + 4 + len);
  co_return body;
}

inline std::string server_for(asio::io_context& io, const std::string& pub,
                              const std::string& key) {
  tcp::socket s(io);
  s.connect(endpoint(pub));
  std::string req =
      "GET /1/server/get?k=" + key + "&p=2 HTTP/1.1\r\nHost: b\r\nConnection: close\r\n\r\n";
  asio::write(s, asio::buffer(req));
  std::string resp;
  boost::system::error_code ec;
  asio::read(s, asio::dynamic_buffer(resp), ec);
  json j = json::parse(resp.substr(resp.find("\r\n\r\n") + 4));
  if (j.value("ret", -1) != 0) throw std::runtime_error("/1/server/get " + key + ": " + j.dump());
  return j["data"]["server"].get<std::string>();
}

inline  // The "ret" of a JSON answer, as written ("?" when there is none).
    std::string
    ret_of(const std::string& answer) {
  auto at = answer.find("\"ret\":");
  if (at == std::string::npos) return "?";
  auto begin = at + 6, end = answer.find_first_not_of("-0123456789", begin);
  return answer.substr(begin, end - begin);
}

}  // namespace appmsg::bench
