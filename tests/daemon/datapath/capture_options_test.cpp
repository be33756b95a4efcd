#include "daemon/datapath/capture_options.hpp"

#include <doctest/doctest.h>

using namespace mesh::datapath;

TEST_CASE("capture modes parse from their config spelling and print back the same") {
  for (auto m : {CaptureMode::Auto, CaptureMode::Ebpf, CaptureMode::Nftables}) {
    auto parsed = parse_capture_mode(to_string(m));
    REQUIRE(parsed);
    CHECK(*parsed == m);
  }
}

TEST_CASE("an unknown capture mode is rejected with the accepted spellings") {
  auto r = parse_capture_mode("iptables");
  REQUIRE_FALSE(r);
  CHECK(r.error().message().find("auto, ebpf or nftables") != std::string::npos);
}

TEST_CASE("the default options are the production values") {
  CaptureOptions o;
  CHECK(o.mode == CaptureMode::Auto);
  CHECK(o.pin_dir == "/sys/fs/bpf/meshd/v1");
  CHECK(o.mark == 0x539);
  CHECK(o.outbound_port == 15001);
  CHECK(o.inbound_port == 15006);
  CHECK(o.tunnel_port == 15008);
}
