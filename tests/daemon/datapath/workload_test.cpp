#include "daemon/datapath/workload.hpp"

#include <doctest/doctest.h>

using namespace mesh;
using namespace mesh::datapath;

namespace {
WorkloadSpec pod() {
  WorkloadSpec s;
  s.name = "web-1";
  s.k8s_namespace = "default";
  s.service_account = "web";
  s.netns_path = "/run/netns/web-1";
  s.ips = {*base::IpAddr::parse("198.18.1.2"), *base::IpAddr::parse("2001:db8:1::2")};
  return s;
}
}  // namespace

TEST_CASE("a well-formed pod spec validates") { CHECK(validate(pod())); }

TEST_CASE("validation names the field that is wrong") {
  auto s = pod();
  s.name = "bad name";
  CHECK(validate(s).error().message().find("workload name") != std::string::npos);
  s = pod();
  s.ips.clear();
  CHECK(validate(s).error().message().find("at least one IP") != std::string::npos);
  s = pod();
  s.ips.push_back(*base::IpAddr::parse("198.18.1.3"));
  CHECK(validate(s).error().message().find("at most one IPv4") != std::string::npos);
  s = pod();
  s.cgroup_path = "system.slice/x.service";
  CHECK(validate(s).error().message().find("exactly one of") != std::string::npos);
  s = pod();
  s.ips = {*base::IpAddr::parse("127.0.0.1")};
  CHECK_FALSE(validate(s));
  s = pod();
  s.netns_path = "/run/netns/has space";
  CHECK_FALSE(validate(s));
}

TEST_CASE("bare-metal workloads are IPv4 only") {
  auto s = pod();
  s.netns_path.clear();
  s.cgroup_path = "system.slice/web.service";
  CHECK_FALSE(validate(s));
  s.ips = {*base::IpAddr::parse("198.18.0.1")};
  CHECK(validate(s));
  CHECK(s.bare_metal());
}

TEST_CASE("a record survives encoding and decoding unchanged") {
  WorkloadRecord r{pod(), CaptureMode::Nftables, 4026532389u, 4106, 0, 15001};
  auto back = decode_record(encode(r));
  REQUIRE(back);
  CHECK(back->spec.name == "web-1");
  CHECK(back->spec.ips == r.spec.ips);
  CHECK(back->mode == CaptureMode::Nftables);
  CHECK(back->netns_ino == 4026532389u);
  CHECK(back->netns_cookie == 4106);
  CHECK(back->outbound_port == 15001);
}

TEST_CASE("decoding rejects unknown keys and malformed fields") {
  CHECK_FALSE(decode_spec("name=a\tnamespace=b\tsa=c\tnetns=/x\tip=198.18.0.1\tcolour=red"));
  CHECK_FALSE(decode_spec("name=a\tnamespace=b\tsa=c\tnetns=/x\tip=not-an-ip"));
  CHECK_FALSE(decode_spec("name=a namespace=b"));
  CHECK_FALSE(decode_record(encode(WorkloadRecord{pod()}) + "\tport=70000"));
}
