#pragma once
// Router: maps (method, path) to a handler that turns a parsed HTTP request into a response.
// Paths match exactly; the query string is split off and handed to the handler. Built once
// at start-up, then only read (by the control thread that serves requests).
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tunnel/http/h1_message_parser.hpp"

namespace mesh::admin {

struct Request {
  const tunnel::http::Message& message;
  std::string_view path;
  std::string_view query;
  // The value of query parameter `name` ("" when absent; no percent-decoding needed for
  // the parameters meshd defines).
  std::string_view param(std::string_view name) const;
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;

  static Response json(std::string body, int status = 200) { return {status, "application/json", std::move(body)}; }
  static Response text(std::string body, int status = 200) { return {status, "text/plain; charset=utf-8", std::move(body)}; }
  // {"error": message} with the given status.
  static Response error(int status, std::string_view message);
};

class Router {
 public:
  using Handler = std::function<Response(const Request&)>;

  void add(std::string method, std::string path, Handler handler);
  // 404 for an unknown path, 405 (with the allowed methods) for a known path and wrong method.
  Response dispatch(const tunnel::http::Message& message) const;

 private:
  std::map<std::pair<std::string, std::string>, Handler> routes_;
};

}  // namespace mesh::admin
