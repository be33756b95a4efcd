#include "tunnel/http/grpc.hpp"

#include <chrono>
#include <string>

#include <doctest/doctest.h>

using namespace mesh::tunnel::http;
using namespace std::chrono_literals;
using mesh::base::Duration;

TEST_CASE("every gRPC status code has its spec name and parses from its number") {
  const std::string_view names[] = {"OK",        "CANCELLED",         "UNKNOWN",           "INVALID_ARGUMENT",
                                    "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS",    "PERMISSION_DENIED",
                                    "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
                                    "UNIMPLEMENTED", "INTERNAL",      "UNAVAILABLE",       "DATA_LOSS",
                                    "UNAUTHENTICATED"};
  for (int i = 0; i < 17; ++i) {
    CAPTURE(i);
    CHECK(to_string(static_cast<GrpcStatus>(i)) == names[i]);
    CHECK(parse_grpc_status(std::to_string(i)) == static_cast<GrpcStatus>(i));
  }
  for (std::string_view bad : {"", "17", "-1", "1 ", "+1", "x", "100", "01", "00"}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_grpc_status(bad).has_value());
  }
}

TEST_CASE("grpc-timeout parses 1 to 8 digits and one unit") {
  struct Row {
    std::string_view text;
    Duration value;
  };
  const Row rows[] = {{"1H", 1h},           {"2M", 2min},         {"3S", 3s},        {"250m", 250ms},
                      {"7u", 7us},          {"9n", 9ns},          {"0n", 0ns},       {"00000001S", 1s},
                      {"99999999m", 99999999ms}, {"99999999H", Duration::max()}};
  for (const auto& r : rows) {
    CAPTURE(r.text);
    auto d = parse_grpc_timeout(r.text);
    REQUIRE(d.has_value());
    CHECK(d->count() == r.value.count());
  }
}

TEST_CASE("grpc-timeout rejects anything else") {
  for (std::string_view bad : {"", "S", "1", "123456789S", "1s", "1h", "1x", "-1S", "+1S", " 1S", "1S ", "1 S",
                               "1.5S", "1SS", "0x1S", "1ms"}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_grpc_timeout(bad).has_value());
  }
}

TEST_CASE("grpc-timeout is encoded in the finest unit that fits, rounded up") {
  CHECK(encode_grpc_timeout(0ns) == "0n");
  CHECK(encode_grpc_timeout(-5s) == "0n");
  CHECK(encode_grpc_timeout(1ns) == "1n");
  CHECK(encode_grpc_timeout(99999999ns) == "99999999n");
  CHECK(encode_grpc_timeout(100000000ns) == "100000u");
  CHECK(encode_grpc_timeout(100000001ns) == "100001u");  // never shortened
  CHECK(encode_grpc_timeout(15s) == "15000000u");
  CHECK(encode_grpc_timeout(250s) == "250000m");
  CHECK(encode_grpc_timeout(30h) == "108000S");
  CHECK(encode_grpc_timeout(Duration::max()) == "2562048H");
  for (Duration d : {Duration(1), Duration(123456789), Duration(1s), Duration(36h), Duration(Duration::max() / 3)}) {
    CAPTURE(d.count());
    auto back = parse_grpc_timeout(encode_grpc_timeout(d));
    REQUIRE(back.has_value());
    CHECK(*back >= d);
  }
}

TEST_CASE("HTTP statuses map to gRPC statuses as the spec's table says") {
  struct Row {
    int http;
    GrpcStatus grpc;
  };
  const Row rows[] = {{400, GrpcStatus::Internal},        {401, GrpcStatus::Unauthenticated},
                      {403, GrpcStatus::PermissionDenied}, {404, GrpcStatus::Unimplemented},
                      {429, GrpcStatus::Unavailable},      {502, GrpcStatus::Unavailable},
                      {503, GrpcStatus::Unavailable},      {504, GrpcStatus::Unavailable},
                      {200, GrpcStatus::Unknown},          {405, GrpcStatus::Unknown},
                      {500, GrpcStatus::Unknown},          {0, GrpcStatus::Unknown}};
  for (const auto& r : rows) {
    CAPTURE(r.http);
    CHECK(to_string(grpc_status_from_http(r.http)) == to_string(r.grpc));
  }
}

TEST_CASE("application/grpc and its +subtypes are gRPC; look-alikes are not") {
  for (std::string_view yes : {"application/grpc", "application/grpc+proto", "application/grpc+json",
                               "Application/GRPC+proto", "application/grpc;charset=utf-8"}) {
    CAPTURE(yes);
    CHECK(is_grpc(yes));
  }
  for (std::string_view no : {"", "application/grpc-web", "application/grpc-web+proto", "application/grpcx",
                              "application/json", "text/grpc", " application/grpc", "application/grp"}) {
    CAPTURE(no);
    CHECK_FALSE(is_grpc(no));
  }
}

TEST_CASE("grpc-message is percent-encoded outside printable ASCII and for '%'") {
  CHECK(percent_encode_grpc_message("no route to host") == "no route to host");
  CHECK(percent_encode_grpc_message("100% sure") == "100%25 sure");
  CHECK(percent_encode_grpc_message("caf\xc3\xa9\n\t~") == "caf%C3%A9%0A%09~");
  CHECK(percent_encode_grpc_message(std::string("\x00\x7f", 2)) == "%00%7F");
}

TEST_CASE("grpc-message decoding keeps broken escapes as they are") {
  CHECK(percent_decode_grpc_message("caf%C3%A9%0a") == "caf\xc3\xa9\n");
  CHECK(percent_decode_grpc_message("100%25") == "100%");
  CHECK(percent_decode_grpc_message("50%") == "50%");
  CHECK(percent_decode_grpc_message("50%2") == "50%2");
  CHECK(percent_decode_grpc_message("%zz%4") == "%zz%4");
  CHECK(percent_decode_grpc_message("%%41") == "%A");
  std::string all;
  for (int b = 0; b < 256; ++b) all += static_cast<char>(b);
  CHECK(percent_decode_grpc_message(percent_encode_grpc_message(all)) == all);
}

TEST_CASE("a proxy error becomes a trailers-only gRPC response") {
  ResponseHead head = grpc_trailers_only(GrpcStatus::Unavailable, "upstream connect error: 100%");
  CHECK(head.status == 200);
  CHECK(head.version == Version::Http2);
  CHECK(head.headers == HeaderMap{{"content-type", "application/grpc"},
                                  {"grpc-status", "14"},
                                  {"grpc-message", "upstream connect error: 100%25"}});
  ResponseHead bare = grpc_trailers_only(GrpcStatus::Unimplemented, "");
  CHECK(bare.headers == HeaderMap{{"content-type", "application/grpc"}, {"grpc-status", "12"}});
}
