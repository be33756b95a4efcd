// The root of a document: which tables exist, how many resources, and [telemetry] once.
#include <span>

#include "tests/policy/support.hpp"

using mesh::policy::test::decode;
using mesh::policy::test::decode_errors;

TEST_CASE("every resource kind is read from its top-level array of tables") {
  auto r = decode(R"(
[[workload]]
name = "w"
[[service]]
name = "s"
[[external]]
name = "e"
hosts = ["e.example.com"]
ports = [{ port = 443 }]
[[route]]
name = "r"
hosts = ["s"]
[[route.http]]
to = [{ host = "s" }]
[[destination]]
name = "d"
host = "s"
[[authorization]]
name = "a"
[[peer_authentication]]
name = "p"
[[gateway]]
name = "g"
selector = { app = "gw" }
servers = [{ port = 80, protocol = "http", hosts = ["*"] }]
[telemetry]
)");
  REQUIRE(r.ok());
  CHECK(r.set.workloads.size() == 1);
  CHECK(r.set.services.size() == 1);
  CHECK(r.set.externals.size() == 1);
  CHECK(r.set.routes.size() == 1);
  CHECK(r.set.destinations.size() == 1);
  CHECK(r.set.authorizations.size() == 1);
  CHECK(r.set.peer_authentications.size() == 1);
  CHECK(r.set.gateways.size() == 1);
  CHECK(r.set.telemetry);
}

TEST_CASE("an unknown top-level table is named with the closest kind") {
  CHECK(decode_errors("[[workloads]]\nname = \"w\"\n") == "test.toml:1:3: unknown table 'workloads'; did you mean 'workload'?\n");
  CHECK(decode_errors("[[virtualservice]]\nname = \"w\"\n") == "test.toml:1:3: unknown table 'virtualservice'\n");
}

TEST_CASE("telemetry may be defined in one file of a set only") {
  std::vector<mesh::policy::SourceFile> files{{"a.toml", "[telemetry]\n"}, {"b.toml", "\n[telemetry]\n"}};
  auto r = mesh::policy::decode_toml(files, {});
  CHECK(mesh::policy::test::errors(r.errors) ==
        "b.toml:2:1: [telemetry] is already defined at a.toml:1:1; define it once per set\n");
}

TEST_CASE("resources beyond max_resources are refused") {
  mesh::policy::Limits limits;
  limits.max_resources = 2;
  CHECK(decode_errors("[[workload]]\nname = \"a\"\n[[workload]]\nname = \"b\"\n[[workload]]\nname = \"c\"\n", limits) ==
        "test.toml:1:1: workload: 3 entries exceed the limit max_resources = 2\n");
  std::vector<mesh::policy::SourceFile> files{{"a.toml", "[[workload]]\nname = \"a\"\n[[workload]]\nname = \"b\"\n"},
                                              {"b.toml", "[[workload]]\nname = \"c\"\n"}};
  CHECK(mesh::policy::test::errors(mesh::policy::decode_toml(files, limits).errors) ==
        "b.toml:1:1: workload: the set has more than max_resources = 2 [[workload]] entries\n");
}

TEST_CASE("resource arrays are bounded by max_resources, not max_list_items") {
  mesh::policy::Limits limits;
  limits.max_list_items = 2;
  CHECK(decode("[[workload]]\nname = \"a\"\n[[workload]]\nname = \"b\"\n[[workload]]\nname = \"c\"\n", limits).ok());
}
