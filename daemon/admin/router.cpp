#include "daemon/admin/router.hpp"

#include <nlohmann/json.hpp>

namespace mesh::admin {

std::string_view Request::param(std::string_view name) const {
  std::string_view q = query;
  while (!q.empty()) {
    auto amp = q.find('&');
    std::string_view pair = q.substr(0, amp);
    auto eq = pair.find('=');
    if (pair.substr(0, eq) == name) return eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
    if (amp == std::string_view::npos) break;
    q.remove_prefix(amp + 1);
  }
  return {};
}

Response Response::error(int status, std::string_view message) {
  nlohmann::json j = {{"error", message}};
  return json(j.dump() + "\n", status);
}

void Router::add(std::string method, std::string path, Handler handler) {
  routes_[{std::move(method), std::move(path)}] = std::move(handler);
}

Response Router::dispatch(const tunnel::http::Message& message) const {
  std::string_view target = message.target;
  auto qmark = target.find('?');
  std::string_view path = target.substr(0, qmark);
  std::string_view query = qmark == std::string_view::npos ? std::string_view() : target.substr(qmark + 1);
  auto it = routes_.find({message.method, std::string(path)});
  if (it != routes_.end()) return it->second(Request{message, path, query});
  std::string allowed;
  for (const auto& [key, handler] : routes_) {
    if (key.second != path) continue;
    if (!allowed.empty()) allowed += ", ";
    allowed += key.first;
  }
  if (!allowed.empty()) return Response::error(405, "method not allowed; use " + allowed);
  return Response::error(404, "no such endpoint: " + std::string(path));
}

}  // namespace mesh::admin
