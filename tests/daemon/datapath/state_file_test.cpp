#include "daemon/datapath/state_file.hpp"

#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include <doctest/doctest.h>

using namespace mesh;
using namespace mesh::datapath;

namespace {
struct TempDir {
  TempDir() {
    char t[] = "/tmp/mesh-state-XXXXXX";
    path = ::mkdtemp(t);
  }
  ~TempDir() { std::system(("rm -rf " + path).c_str()); }
  std::string path;
};

WorkloadRecord record(const std::string& name, const std::string& ip) {
  WorkloadRecord r;
  r.spec = {name, "default", "sa", "/run/netns/" + name, "", {*base::IpAddr::parse(ip)}};
  r.netns_ino = 7;
  return r;
}
}  // namespace

TEST_CASE("a missing state file is an empty list") {
  TempDir d;
  auto r = load_state(d.path + "/nothing.state");
  REQUIRE(r);
  CHECK(r->empty());
}

TEST_CASE("saved workloads load back in order, in a directory created on demand") {
  TempDir d;
  std::string file = d.path + "/sub/workloads.state";
  REQUIRE(save_state(file, {record("a", "198.18.1.2"), record("b", "198.18.1.3")}));
  auto r = load_state(file);
  REQUIRE(r);
  REQUIRE(r->size() == 2);
  CHECK((*r)[1].spec.name == "b");
  CHECK(::access((file + ".tmp").c_str(), F_OK) != 0);
}

TEST_CASE("a malformed state file is reported with file and line") {
  TempDir d;
  std::string file = d.path + "/w.state";
  std::ofstream(file) << "meshd-workloads 1\nname=a\tbogus\n";
  auto r = load_state(file);
  REQUIRE_FALSE(r);
  CHECK(r.error().message().find(file + ":2:") != std::string::npos);
  std::ofstream(file) << "something else\n";
  CHECK_FALSE(load_state(file));
}

TEST_CASE("pending enrollments are read back in name order, bad ones reported") {
  TempDir d;
  REQUIRE(write_pending(d.path, record("b", "198.18.1.3").spec));
  REQUIRE(write_pending(d.path, record("a", "198.18.1.2").spec));
  std::ofstream(d.path + "/c.workload") << "name=c\n";
  auto p = read_pending(d.path);
  REQUIRE(p.size() == 3);
  CHECK(p[0].spec->name == "a");
  CHECK(p[1].spec->name == "b");
  CHECK_FALSE(p[2].spec);
  CHECK(read_pending(d.path + "/missing").empty());
}
