#include "daemon/config/settings_loader.hpp"

#include <doctest/doctest.h>

using namespace mesh;
using namespace std::chrono_literals;

namespace {
std::string errors_of(const config::SettingsResult& r) {
  std::string out;
  if (!r) {
    for (const auto& d : r.error()) out += d.to_string() + "\n";
  }
  return out;
}
}  // namespace

TEST_CASE("an empty file gives the documented defaults") {
  auto s = config::parse_settings("", "meshd.toml");
  REQUIRE(s);
  CHECK(s->node.trust_domain == "cluster.local");
  CHECK_FALSE(s->node.name.empty());
  CHECK(s->runtime.workers == 0);
  CHECK(s->runtime.drain_timeout == 5s);
  CHECK(s->runtime.local_tunnel_worker == "same");
  CHECK(s->admin.socket_path == "/run/meshd/admin.sock");
  CHECK(s->admin.metrics->port() == 15020);
  CHECK(s->admin.readiness->port() == 15021);
  CHECK(s->relays.empty());
}

TEST_CASE("a complete file is read into the settings") {
  auto s = config::parse_settings(R"(
[node]
name = "node-a"
trust_domain = "example.org"

[runtime]
workers = 2
max_connections = 500
drain_timeout = "250ms"
log_level = "debug"
buffer_size = "32KiB"
buffers_per_worker = 512
local_tunnel_worker = "other"

[admin]
socket = "/tmp/meshd.sock"
metrics_address = "127.0.0.1:0"
readiness_address = "off"

[[relay]]
name = "web"
listen = "127.0.0.1:18080"
upstream = "[::1]:18081"
idle_timeout = "30s"
)", "meshd.toml");
  REQUIRE_MESSAGE(s, errors_of(s));
  CHECK(s->node.name == "node-a");
  CHECK(s->node.trust_domain == "example.org");
  CHECK(s->runtime.workers == 2);
  CHECK(s->runtime.max_connections == 500);
  CHECK(s->runtime.drain_timeout == 250ms);
  CHECK(s->runtime.log_level == base::log::Level::Debug);
  CHECK(s->runtime.buffer_size == 32768);
  CHECK(s->runtime.local_tunnel_worker == "other");
  CHECK(s->admin.socket_path == "/tmp/meshd.sock");
  CHECK(s->admin.metrics->to_string() == "127.0.0.1:0");
  CHECK_FALSE(s->admin.readiness.has_value());
  REQUIRE(s->relays.size() == 1);
  CHECK(s->relays[0].upstream.to_string() == "[::1]:18081");
  CHECK(s->relays[0].idle_timeout == 30s);
  CHECK(s->relays[0].connect_timeout == 10s);
}

TEST_CASE("an unknown key is reported at its position with a suggestion") {
  auto s = config::parse_settings("[runtime]\nworker = 3\n", "/etc/meshd/meshd.toml");
  REQUIRE_FALSE(s);
  CHECK(errors_of(s) == "/etc/meshd/meshd.toml:2:1: unknown key 'worker' (did you mean 'workers'?)\n");
}

TEST_CASE("every error in a file is reported, each with file:line:col") {
  auto s = config::parse_settings(R"([runtime]
workers = "two"
drain_timeout = "5 parsecs"
buffers_per_worker = 100
local_tunnel_worker = "any"

[[relay]]
name = "a"
listen = "127.0.0.1"
upstream = "127.0.0.1:9"
)", "m.toml");
  REQUIRE_FALSE(s);
  CHECK(errors_of(s) ==
        "m.toml:2:11: 'workers' must be an integer\n"
        "m.toml:3:17: 'drain_timeout': invalid duration '5 parsecs': expected e.g. \"250ms\", \"2s\", \"1h30m\"\n"
        "m.toml:4:1: 'buffers_per_worker' must be a power of two (got 100)\n"
        "m.toml:5:1: unknown local_tunnel_worker 'any' (other, same)\n"
        "m.toml:9:10: 'listen': invalid socket address '127.0.0.1': missing port\n");
}

TEST_CASE("a TOML syntax error is reported where the parser stopped") {
  auto s = config::parse_settings("[runtime\nworkers = 1\n", "bad.toml");
  REQUIRE_FALSE(s);
  REQUIRE(s.error().size() == 1);
  CHECK(s.error()[0].file == "bad.toml");
  CHECK(s.error()[0].line == 1);
  CHECK(s.error()[0].column > 0);
}

TEST_CASE("duplicate relay names and listen addresses are rejected") {
  auto s = config::parse_settings(R"([[relay]]
name = "a"
listen = "127.0.0.1:1000"
upstream = "127.0.0.1:9"
[[relay]]
name = "a"
listen = "127.0.0.1:1000"
upstream = "127.0.0.1:9"
)", "d.toml");
  REQUIRE_FALSE(s);
  CHECK(errors_of(s) == "d.toml:6:1: duplicate relay name 'a'\n"
                        "d.toml:7:1: address 127.0.0.1:1000 is already used by another relay\n");
}

TEST_CASE("a relay without its required keys is rejected") {
  auto s = config::parse_settings("[[relay]]\nname = \"x\"\n", "r.toml");
  REQUIRE_FALSE(s);
  CHECK(errors_of(s).find("needs a 'listen' address") != std::string::npos);
  CHECK(errors_of(s).find("needs an 'upstream' address") != std::string::npos);
}

TEST_CASE("a file that does not exist is one clear error") {
  auto s = config::load_settings("/nonexistent/meshd.toml");
  REQUIRE_FALSE(s);
  CHECK(errors_of(s) == "/nonexistent/meshd.toml: cannot open file\n");
}

TEST_CASE("an oversized file is refused before parsing") {
  std::string big(config::kMaxConfigBytes + 10, '#');
  auto s = config::parse_settings(big, "big.toml");
  REQUIRE_FALSE(s);
  CHECK(errors_of(s).find("larger than") != std::string::npos);
}

TEST_CASE("the [identity] table is read; a leaf validity below 10s is refused") {
  auto s = config::parse_settings(R"(
[identity]
ca_dir = "/etc/meshd/ca"
cert_dirs = ["/etc/meshd/certs/a", "/etc/meshd/certs/b"]
cert_root = "/var/run/secrets/meshd"
leaf_validity = "10s"
)", "meshd.toml");
  REQUIRE(s);
  CHECK(s->identity.ca_dir == "/etc/meshd/ca");
  CHECK(s->identity.cert_dirs == std::vector<std::string>{"/etc/meshd/certs/a", "/etc/meshd/certs/b"});
  CHECK(s->identity.cert_root == "/var/run/secrets/meshd");
  CHECK(s->identity.leaf_validity == 10s);
  CHECK(config::parse_settings("", "meshd.toml")->identity.leaf_validity == 24h);
  auto bad = config::parse_settings("[identity]\nleaf_validity = \"9s\"\n", "meshd.toml");
  REQUIRE_FALSE(bad);
  CHECK(errors_of(bad) == "meshd.toml:2:1: 'leaf_validity' must be at least 10s\n");
}

TEST_CASE("[http]: detection and request-head timeouts and the server-first ports") {
  auto d = config::parse_settings("", "meshd.toml");
  REQUIRE(d);
  CHECK(d->http.detect_timeout == 5s);
  CHECK(d->http.request_headers_timeout == 15s);
  CHECK(d->http.server_first_ports == std::vector<uint16_t>{25, 587, 3306, 4444, 5432, 6379, 9300, 11211});
  auto s = config::parse_settings(R"([http]
detect_timeout = "500ms"
request_headers_timeout = "30s"
server_first_ports = [3306, 2222]
)", "m.toml");
  REQUIRE(s);
  CHECK(s->http.detect_timeout == 500ms);
  CHECK(s->http.request_headers_timeout == 30s);
  CHECK(s->http.server_first_ports == std::vector<uint16_t>{3306, 2222});
  auto none = config::parse_settings("[http]\nserver_first_ports = []\n", "m.toml");
  REQUIRE(none);
  CHECK(none->http.server_first_ports.empty());  // every undeclared port is sniffed
  auto bad = config::parse_settings("[http]\ndetect_timeout = \"1ms\"\nserver_first_ports = [0]\n", "m.toml");
  REQUIRE_FALSE(bad);
  CHECK(errors_of(bad).find("m.toml:2:1: 'detect_timeout' must be at least 10ms") != std::string::npos);
  CHECK(errors_of(bad).find("m.toml:3:23: 'server_first_ports': ports are integers from 1 to 65535") != std::string::npos);
}
