// The shared HTTP/2 machinery: flow control with a slow consumer, window return on release,
// ping, graceful drain and GOAWAY. Streams here are long POSTs answered 200 before their
// body, so bytes flow both ways as they do in a tunnel.
#include "tunnel/http/h2_connection.hpp"

#include <doctest/doctest.h>

#include "tests/support/h2_link.hpp"

using namespace mesh;
namespace h2 = mesh::tunnel::http;
using Link = mesh::testing::H2Link<>;
using h2::EventKind;

namespace {

constexpr size_t kStreamWindow = 4 << 20;
constexpr size_t kConnWindow = 16 << 20;

h2::RequestHead post(std::string authority = "svc.ns:80") {
  return {.method = "POST", .scheme = "https", .authority = std::move(authority), .path = "/stream"};
}

h2::StreamId open_stream(Link& link) {
  auto id = link.client->open(post(), false);
  REQUIRE(id.has_value());
  link.pump();
  REQUIRE(link.server->respond(*id, h2::ResponseHead{.status = 200}, false).has_value());
  link.pump();
  return *id;
}

void write_n(h2::H2Connection& c, h2::StreamId id, size_t n) {
  std::vector<uint8_t> chunk(1 << 20, 'd');
  while (n > 0) {
    size_t k = std::min(n, chunk.size());
    c.write(id, {chunk.data(), k});
    n -= k;
  }
}

}  // namespace

TEST_CASE("a slow consumer holds at most one stream window and the sender keeps the rest") {
  Link link;
  auto id = open_stream(link);
  write_n(*link.client, id, 10 << 20);
  link.pump();
  CHECK(link.server->readable(id) == kStreamWindow);
  CHECK(link.client->send_buffered(id) == (10 << 20) - kStreamWindow);
  // Consuming reopens the window; the next pump delivers more.
  link.server->consume(id, 3 << 20);
  link.pump();
  CHECK(link.server->readable(id) == kStreamWindow);
  CHECK(link.client->send_buffered(id) == (10 << 20) - kStreamWindow - (3 << 20));
}

TEST_CASE("write asks the caller to pause above the send buffer limit and Writable resumes it") {
  Link link;
  auto id = open_stream(link);
  std::vector<uint8_t> mb(1 << 20, 'w');
  CHECK(link.client->write(id, {mb.data(), (1 << 20) - 1}));
  CHECK_FALSE(link.client->write(id, {mb.data(), 2}));  // over 1 MiB buffered: pause
  link.pump();  // drains into the stream window
  CHECK(link.count(link.client_events, EventKind::Writable, id) == 1);
}

TEST_CASE("the connection window bounds what several unread streams can hold") {
  Link link;
  std::vector<h2::StreamId> ids;
  for (int i = 0; i < 6; ++i) ids.push_back(open_stream(link));
  for (auto id : ids) write_n(*link.client, id, kStreamWindow);
  link.pump();
  size_t held = 0;
  for (auto id : ids) held += link.server->readable(id);
  // Our connection window is 16 MiB plus the 64 KiB - 1 that HTTP/2 starts with.
  CHECK(held <= kConnWindow + 65535);
  CHECK(held >= kConnWindow);
}

TEST_CASE("releasing a stream with unread data gives its bytes back to the connection window") {
  Link link;
  std::vector<h2::StreamId> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(open_stream(link));
  for (auto id : ids) write_n(*link.client, id, kStreamWindow);
  link.pump();
  size_t stuck = 0;
  for (auto id : ids) stuck += link.client->send_buffered(id);
  REQUIRE(stuck > 0);  // the connection window is exhausted
  // The application gives up on two streams: RST_STREAM, and their 8 MiB of unread bytes go
  // back to the connection window (nghttp2 sends WINDOW_UPDATE once half of it is consumed).
  link.server->release(ids[0]);
  link.server->release(ids[1]);
  link.pump();
  size_t after = 0;
  for (size_t i = 2; i < ids.size(); ++i) after += link.client->send_buffered(ids[i]);
  CHECK(after < stuck);
  CHECK(link.count(link.client_events, EventKind::Closed, ids[0]) == 1);
}

TEST_CASE("bytes returned by peek stay in place while more data arrives") {
  Link link;
  auto id = open_stream(link);
  link.client->write(id, std::vector<uint8_t>(100, 'a'));
  link.pump();
  auto first = link.server->peek(id);
  REQUIRE(first.size() == 100);
  const uint8_t* where = first.data();
  link.client->write(id, std::vector<uint8_t>(100000, 'b'));
  link.pump();
  CHECK(link.server->peek(id).data() == where);
  iovec iov[16];
  size_t n = link.server->gather(id, iov);
  size_t total = 0;
  for (size_t i = 0; i < n; ++i) total += iov[i].iov_len;
  CHECK(total == link.server->readable(id));
}

TEST_CASE("ping is answered with a PingAck event") {
  Link link;
  link.pump();
  link.client->ping();
  link.pump();
  CHECK(link.count(link.client_events, EventKind::PingAck) == 1);
}

TEST_CASE("drain lets open streams finish, refuses new ones and then the connection is done") {
  Link link;
  auto id = open_stream(link);
  link.server->drain();
  link.pump();
  CHECK(link.count(link.client_events, EventKind::GoAway) == 1);
  CHECK(link.client->available_streams() == 0);
  auto refused = link.client->open(post(), true);
  REQUIRE_FALSE(refused.has_value());
  CHECK(refused.error().code() == base::Errc::Closed);
  link.client->write(id, std::vector<uint8_t>(10, 'z'));
  link.pump();
  CHECK(link.server->readable(id) == 10);
  CHECK_FALSE(link.server->done());
  link.client->close_write(id);
  link.server->close_write(id);
  link.pump();
  link.client->release(id);
  link.server->release(id);
  link.pump();
  CHECK(link.server->done());
  CHECK(link.server->failure() == h2::ConnectionFailure::None);
}

TEST_CASE("operations on unknown or released streams are harmless no-ops") {
  Link link;
  auto id = open_stream(link);
  link.server->release(id);
  CHECK(link.server->readable(id) == 0);
  CHECK(link.server->peek(id).empty());
  CHECK_FALSE(link.server->write(id, std::vector<uint8_t>(1, 'x')));
  link.server->consume(id, 10);
  link.server->close_write(id);
  link.server->reset(id, 0);
  link.server->release(id);
  link.pump();
  CHECK(link.server->failure() == h2::ConnectionFailure::None);
}
