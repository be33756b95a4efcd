#include "daemon/admin/router.hpp"

#include <doctest/doctest.h>

using namespace mesh;
using tunnel::http::Message;

namespace {
Message request(std::string method, std::string target) {
  Message m;
  m.method = std::move(method);
  m.target = std::move(target);
  return m;
}
}  // namespace

TEST_CASE("a request is dispatched by method and exact path, with its query") {
  admin::Router r;
  r.add("GET", "/v1/status", [](const admin::Request& req) {
    return admin::Response::text(std::string(req.param("output")) + "|" + std::string(req.param("missing")));
  });
  auto resp = r.dispatch(request("GET", "/v1/status?output=json&x=1"));
  CHECK(resp.status == 200);
  CHECK(resp.body == "json|");
}

TEST_CASE("an unknown path is 404 and a wrong method is 405 naming the allowed ones") {
  admin::Router r;
  r.add("POST", "/v1/reload", [](const admin::Request&) { return admin::Response::text("ok"); });
  CHECK(r.dispatch(request("GET", "/nope")).status == 404);
  auto resp = r.dispatch(request("GET", "/v1/reload"));
  CHECK(resp.status == 405);
  CHECK(resp.body.find("POST") != std::string::npos);
}

TEST_CASE("error responses are JSON objects") {
  auto r = admin::Response::error(400, "bad \"input\"");
  CHECK(r.body == "{\"error\":\"bad \\\"input\\\"\"}\n");
  CHECK(r.content_type == "application/json");
}
