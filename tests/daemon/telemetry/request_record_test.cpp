#include "daemon/telemetry/request_record.hpp"

#include <doctest/doctest.h>

using namespace mesh::telemetry;
using F = ResponseFlag;

TEST_CASE("no response flag is rendered as a dash") {
  CHECK(ResponseFlags{}.to_string() == "-");
  ResponseFlags f{F::NoRouteFound};
  f.clear(F::NoRouteFound);
  CHECK(f.empty());
  CHECK(f.to_string() == "-");
}

TEST_CASE("response flags are comma-joined in Envoy's order, whatever order they were set in") {
  CHECK(ResponseFlags{F::NoRouteFound, F::NoHealthyUpstream}.to_string() == "UH,NR");
  CHECK(ResponseFlags{F::UpstreamRetryLimitExceeded, F::DownstreamConnectionTermination, F::UpstreamConnectionFailure}
            .to_string() == "UF,DC,URX");
  CHECK(ResponseFlags{F::UnauthorizedExternalService, F::RateLimited, F::FaultInjected}.to_string() == "FI,RL,UAEX");
  ResponseFlags all;
  for (size_t i = 0; i < kResponseFlagCount; ++i) all.set(static_cast<F>(i));
  CHECK(all.to_string() == "LH,UH,UT,LR,UR,UF,UC,UO,NR,DI,FI,RL,UAEX,RLSE,DC,URX,SI,IH,DPE,UMSDR,RFCF,NFCF,DT,UPE,NC,OM,DF");
}

TEST_CASE("every flag's short name parses back to it; names Envoy does not have do not parse") {
  for (size_t i = 0; i < kResponseFlagCount; ++i) {
    auto f = static_cast<F>(i);
    CAPTURE(short_name(f));
    CHECK(parse_response_flag(short_name(f)) == f);
  }
  for (std::string_view bad : {"", "-", "FD", "uh", "UH,NR"}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_response_flag(bad).has_value());
  }
}

TEST_CASE("flags survive a round trip through their bits, unknown bits dropped") {
  ResponseFlags f{F::UpstreamOverflow, F::DnsResolutionFailed};
  CHECK(ResponseFlags::from_bits(f.bits()) == f);
  CHECK(ResponseFlags::from_bits(0xffffffffu).to_string().find("DF") != std::string::npos);
  CHECK(ResponseFlags::from_bits(uint32_t{1} << kResponseFlagCount).empty());
}

TEST_CASE("a fresh record is a destination-reported HTTP request with no response yet") {
  RequestRecord r;
  CHECK(r.reporter == Reporter::Destination);
  CHECK(r.request_protocol == RequestProtocol::Http);
  CHECK(r.response_code == 0);
  CHECK_FALSE(r.grpc_status.has_value());
  CHECK_FALSE(r.to_first_upstream_byte.has_value());
  CHECK(r.response_flags.empty());
  CHECK(to_string(Reporter::Source) == "source");
  CHECK(to_string(Reporter::Destination) == "destination");
  CHECK(to_string(RequestProtocol::Http) == "http");
  CHECK(to_string(RequestProtocol::Grpc) == "grpc");
}
