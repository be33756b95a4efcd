// The codec's public entry points: files and directories, the examples, deliberately broken
// files, and hostile input (sizes, nesting, encodings, counts, regexes).
#include "policy/toml/codec.hpp"

#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>

#include "policy/engine.hpp"
#include "tests/policy/support.hpp"

namespace fs = std::filesystem;
using namespace mesh::policy;
using mesh::policy::test::compile_toml;
using mesh::policy::test::errors;

namespace {

const std::string kRoot = MESH_SOURCE_ROOT;

struct TempDir {
  fs::path path;
  TempDir() {
    char templ[] = "/tmp/meshd-policy-XXXXXX";
    REQUIRE(mkdtemp(templ));
    path = templ;
  }
  ~TempDir() { fs::remove_all(path); }
  void write(const std::string& name, const std::string& text) const {
    std::ofstream(path / name, std::ios::binary) << text;
  }
};

CompileResult load(const std::string& path, const CompileOptions& options = {}) {
  std::vector<std::string> paths{path};
  return load_policy(paths, options);
}

}  // namespace

TEST_CASE("every example under examples/ validates on its own") {
  size_t count = 0;
  for (const auto& entry : fs::directory_iterator(kRoot + "/examples")) {
    if (entry.path().extension() != ".toml") continue;
    ++count;
    CompileResult r = load(entry.path().string());
    INFO(entry.path().string() << "\n" << errors(r));
    CHECK(r.ok());
  }
  CHECK(count >= 12);
}

TEST_CASE("deliberately broken files produce exactly the expected errors") {
  const std::string dir = kRoot + "/tests/policy/broken/";
  CHECK(errors(load(dir + "misspelt-key.toml")) ==
        dir + "misspelt-key.toml:7:27: route.http.to: unknown key 'weigth'; did you mean 'weight'?\n");
  CHECK(errors(load(dir + "weights.toml")) ==
        dir + "weights.toml:22:1: route rule: destination weights sum to 110; they must sum to 100\n" +
        dir + "weights.toml:25:32: route destination: unknown subset 'v2' of host 'reviews.default.svc.cluster.local' "
              "(destination 'default/reviews' at " + dir + "weights.toml:13:1); did you mean 'v1'?\n");
  CHECK(errors(load(dir + "syntax.toml")) ==
        dir + "syntax.toml:3:23: Error while parsing inline table: expected key or closing '}', saw '\\n'\n");
  CHECK(errors(load(dir + "unknown-host.toml")) ==
        dir + "unknown-host.toml:10:16: route destination: unknown host 'rating' (not a [[service]] or [[external]] "
              "host); did you mean 'ratings.default.svc.cluster.local'?\n");
}

TEST_CASE("a directory is read as its *.toml files in name order, skipping dotfiles and others") {
  TempDir dir;
  dir.write("b.toml", "[[workload]]\nname = \"b\"\n");
  dir.write("a.toml", "[[workload]]\nname = \"a\"\n");
  dir.write(".#a.toml", "not toml at all");
  dir.write("notes.txt", "not toml either");
  fs::create_directory(dir.path / "sub.toml");
  CompileResult r = load(dir.path.string());
  INFO(errors(r));
  REQUIRE(r.ok());
  REQUIRE(r.policy->source().files.size() == 2);
  CHECK(r.policy->source().files[0] == (dir.path / "a.toml").string());
  CHECK(r.policy->workloads().all()[0].name == "a");
}

TEST_CASE("errors in several files are all reported, in file order") {
  TempDir dir;
  dir.write("a.toml", "[[workload]]\nname = 1\n");
  dir.write("b.toml", "[[service]]\nnome = \"s\"\n");
  CHECK(errors(load(dir.path.string())) ==
        (dir.path / "a.toml").string() + ":2:8: workload.name: expected a string, found integer\n" +
            (dir.path / "b.toml").string() + ":1:1: service: missing required key 'name'\n" +
            (dir.path / "b.toml").string() + ":2:1: service: unknown key 'nome'; did you mean 'name'?\n");
}

TEST_CASE("a missing path is an error, an empty directory an empty policy") {
  TempDir dir;
  CHECK(errors(load((dir.path / "nope").string())) ==
        (dir.path / "nope").string() + ":1:1: cannot read: No such file or directory\n");
  CompileResult r = load(dir.path.string());
  REQUIRE(r.ok());
  CHECK(r.policy->workloads().all().empty());
}

TEST_CASE("a failed load returns no policy, so the caller keeps the running one") {
  PolicySnapshot running = test::must_compile("[[workload]]\nname = \"a\"\naddresses = [\"198.18.0.1\"]\n");
  CompileResult next = compile_toml("[[workload]]\nname = \"a\"\naddresses = [\"198.18.0.1\"\n");
  CHECK_FALSE(next.ok());
  CHECK(next.policy == nullptr);
  CHECK(running->workloads().by_ip(*mesh::base::IpAddr::parse("198.18.0.1")) != nullptr);
}

TEST_CASE("files over max_file_bytes and sets over max_total_bytes are refused unread") {
  TempDir dir;
  dir.write("big.toml", std::string(2 << 20, '#'));
  CompileOptions options;
  options.limits.max_file_bytes = 1 << 20;
  CHECK(errors(load((dir.path / "big.toml").string(), options)) ==
        (dir.path / "big.toml").string() + ":1:1: file is 2097152 bytes, over the limit max_file_bytes = 1048576\n");
  options.limits.max_file_bytes = 4 << 20;
  options.limits.max_total_bytes = 1 << 20;
  CHECK(errors(load((dir.path / "big.toml").string(), options)) ==
        (dir.path / "big.toml").string() + ":1:1: the policy files exceed the limit max_total_bytes = 1048576\n");
}

TEST_CASE("invalid UTF-8 is a parse error at its position") {
  CHECK(errors(compile_toml("[[workload]]\nname = \"a\xff\xfe\"\n")) ==
        "test.toml:2:9: Encountered invalid utf-8 sequence\n");
}

TEST_CASE("input that trips toml++'s internal checks is refused with the parser's error") {
  // Found by fuzzing: toml++ 3.3 asserts in parse_key here (and assumes under NDEBUG).
  CHECK(errors(compile_toml("[[)service]]\nname = \"x\"\n")) ==
        "test.toml:1:3: Error while parsing key: expected bare key starting character or string delimiter, saw ')'\n");
}

TEST_CASE("a non-ASCII character where TOML allows none is refused before toml++ sees it") {
  // Found by fuzzing: toml++ 3.3's whitespace test is undefined behaviour for U+0495.
  CHECK(errors(compile_toml("[[route\xd2\x95http]]\n")) ==
        "test.toml:1:8: non-ASCII character outside a string or comment\n");
}

TEST_CASE("a 1 MiB string is parsed and then refused by max_string_bytes") {
  std::string text = "[[workload]]\nname = \"" + std::string(1 << 20, 'a') + "\"\n";
  CHECK(errors(compile_toml(text)) == "test.toml:2:8: workload.name: string of 1048576 bytes exceeds the limit "
                                      "max_string_bytes = 8192\n");
}

TEST_CASE("nesting beyond max_depth is refused before toml++ builds it") {
  std::string deep;
  for (int i = 0; i < 200000; ++i) deep += "a.";
  deep += "a = 1\n";
  CHECK(errors(compile_toml(deep)).find("test.toml:1:64: nesting depth 33 exceeds the limit max_depth = 32") == 0);
  std::string arrays = "x = " + std::string(300, '[') + std::string(300, ']') + "\n";
  CHECK(errors(compile_toml(arrays)) == "test.toml:1:37: nesting depth 33 exceeds the limit max_depth = 32 (dotted "
                                        "keys, table headers, arrays and inline tables all nest)\n");
}

TEST_CASE("100 000 rules are handled within the limits, and refused beyond them") {
  std::string text;
  for (int p = 0; p < 1000; ++p) {
    text += "[[authorization]]\nname = \"p" + std::to_string(p) + "\"\naction = \"deny\"\n";
    for (int r = 0; r < 100; ++r) text += "[[authorization.rules]]\nfrom = [{ namespaces = [\"n" + std::to_string(r) + "\"] }]\n";
  }
  CompileResult r = compile_toml(text);
  INFO(errors(r).substr(0, 500));
  REQUIRE(r.ok());
  CHECK(r.policy->authorizations().all().size() == 1000);
  CompileOptions options;
  options.limits.max_total_rules = 50000;
  CHECK(errors(compile_toml(text, options)).find("the set has more than max_total_rules = 50000 rules") != std::string::npos);
  std::string one = "[[authorization]]\nname = \"big\"\n";
  for (int i = 0; i < 1001; ++i) one += "[[authorization.rules]]\n";
  CHECK(errors(compile_toml(one)) == "test.toml:3:1: authorization.rules: 1001 entries exceed the limit "
                                     "max_rules_per_resource = 1000\n");
}

TEST_CASE("regexes run in linear time, and oversized or non-RE2 ones are refused") {
  const std::string head = "[[service]]\nname = \"s\"\n[[route]]\nname = \"r\"\nhosts = [\"s\"]\n[[route.http]]\nto = [{ host = \"s\" }]\n";
  // (a|aa)*c backtracks exponentially in a backtracking engine; RE2 answers in linear time.
  PolicySnapshot p = test::must_compile(head + "match = [{ path = { regex = \"/(a|aa)*c\" } }]\n");
  std::string path = "/" + std::string(100000, 'a');
  RequestAttrs req{"GET", path, "s", "http", {}};
  SplitMix64 random(1);
  auto start = std::chrono::steady_clock::now();
  HttpRouteDecision d = select_http_route(*p, HttpRouteQuery{"s.default.svc.cluster.local", 80, &req}, random);
  CHECK(d.outcome == RouteOutcome::NoMatch);
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(2));
  CHECK(errors(compile_toml(head + "match = [{ path = { regex = \"a{1000}\" } }]\n")).find(
            "test.toml:8:29: regex 'a{1000}' has program size") == 0);
  CHECK(errors(compile_toml(head + "match = [{ path = { regex = \"(a)\\\\1\" } }]\n")) ==
        "test.toml:8:29: invalid regex '(a)\\1': invalid escape sequence: \\1\n");
}

TEST_CASE("the version fingerprint changes with the bytes of the files") {
  PolicySnapshot a = test::must_compile("[[workload]]\nname = \"a\"\n");
  PolicySnapshot b = test::must_compile("[[workload]]\nname = \"b\"\n");
  PolicySnapshot a2 = test::must_compile("[[workload]]\nname = \"a\"\n");
  CHECK(a->version() != b->version());
  CHECK(a->version() == a2->version());
  CHECK(a->version().size() == 16);
}
