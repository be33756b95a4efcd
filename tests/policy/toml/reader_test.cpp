// The TableReader's behaviour as seen through decoding: positions, types, limits, unknown
// keys and their suggestions.
#include "policy/toml/reader.hpp"

#include "tests/policy/support.hpp"

using mesh::policy::Limits;
using mesh::policy::test::decode;
using mesh::policy::test::decode_errors;

TEST_CASE("an unknown key is reported at the key with the closest known key") {
  CHECK(decode_errors("[[workload]]\nname = \"a\"\nservice_acount = \"x\"\n") ==
        "test.toml:3:1: workload: unknown key 'service_acount'; did you mean 'service_account'?\n");
}

TEST_CASE("an unknown key far from every known key gets no suggestion") {
  CHECK(decode_errors("[[workload]]\nname = \"a\"\nzzzzzzzz = 1\n") == "test.toml:3:1: workload: unknown key 'zzzzzzzz'\n");
}

TEST_CASE("a value of the wrong type is reported at the value with both types named") {
  CHECK(decode_errors("[[workload]]\nname = 5\n") == "test.toml:2:8: workload.name: expected a string, found integer\n");
  CHECK(decode_errors("[[service]]\nname = \"s\"\nports = [{ port = \"80\" }]\n") ==
        "test.toml:3:19: service.ports.port: expected an integer, found string\n");
}

TEST_CASE("integers outside their range are rejected with the range") {
  CHECK(decode_errors("[[service]]\nname = \"s\"\nports = [{ port = 70000 }]\n") ==
        "test.toml:3:19: service.ports.port: 70000 is out of range [1, 65535]\n");
}

TEST_CASE("a missing required key is reported at the table") {
  CHECK(decode_errors("\n[[workload]]\nnamespace = \"x\"\n") == "test.toml:2:1: workload: missing required key 'name'\n");
}

TEST_CASE("strings longer than max_string_bytes are rejected") {
  Limits limits;
  limits.max_string_bytes = 8;
  CHECK(decode_errors("[[workload]]\nname = \"abcdefghij\"\n", limits) ==
        "test.toml:2:8: workload.name: string of 10 bytes exceeds the limit max_string_bytes = 8\n");
}

TEST_CASE("arrays longer than max_list_items are rejected") {
  Limits limits;
  limits.max_list_items = 2;
  CHECK(decode_errors("[[workload]]\nname = \"a\"\naddresses = [\"198.18.0.1\", \"198.18.0.2\", \"198.18.0.3\"]\n", limits) ==
        "test.toml:3:13: workload.addresses: 3 items exceed the limit max_list_items = 2\n");
}

TEST_CASE("enumerations accept Istio's upper-case spelling and suggest near misses") {
  CHECK(decode("[[authorization]]\nname = \"a\"\naction = \"DENY\"\n").ok());
  CHECK(decode_errors("[[authorization]]\nname = \"a\"\naction = \"alow\"\n") ==
        "test.toml:3:10: authorization.action: unknown value 'alow'; did you mean 'allow'?\n");
  CHECK(decode_errors("[[authorization]]\nname = \"a\"\naction = \"permit\"\n") ==
        "test.toml:3:10: authorization.action: unknown value 'permit'; expected one of: allow, deny, audit\n");
}

TEST_CASE("durations are strings like 2s or 250ms") {
  CHECK(decode("[[route]]\nname = \"r\"\nhosts = [\"a\"]\n[[route.http]]\nto = [{ host = \"a\" }]\ntimeout = \"250ms\"\n").ok());
  CHECK(decode_errors("[[route]]\nname = \"r\"\nhosts = [\"a\"]\n[[route.http]]\nto = [{ host = \"a\" }]\ntimeout = 2\n") ==
        "test.toml:6:11: route.http.timeout: expected a duration string such as \"2s\" or \"250ms\", found integer\n");
  CHECK(decode_errors("[[route]]\nname = \"r\"\nhosts = [\"a\"]\n[[route.http]]\nto = [{ host = \"a\" }]\ntimeout = \"2 s\"\n")
            .find("test.toml:6:11: route.http.timeout: invalid duration '2 s'") == 0);
}

TEST_CASE("labels must be strings with Kubernetes label syntax") {
  CHECK(decode_errors("[[workload]]\nname = \"a\"\nlabels = { app = 1 }\n") ==
        "test.toml:3:18: workload.labels.app: expected a string, found integer\n");
  CHECK(decode_errors("[[workload]]\nname = \"a\"\nlabels = { app = \"a b\" }\n") ==
        "test.toml:3:18: workload.labels: label value 'a b' may contain only letters, digits, '-', '_' and '.'\n");
}

TEST_CASE("a single table where an array of tables belongs gets the [[...]] hint") {
  CHECK(decode_errors("[workload]\nname = \"a\"\n") ==
        "test.toml:1:1: workload: expected an array of tables: write [[workload]] (or workload = [{...}]), not [workload]\n");
}
