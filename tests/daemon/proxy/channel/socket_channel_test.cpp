// SocketChannel on a real loop and loopback sockets: what the splice and the HTTP code rely
// on — received bytes left unconsumed survive the ring buffer going back, write() queues
// and signals Writable, close_write() is a FIN after the queue, a peer's reset is a Reset
// fault, a refused dial names its reason, and a closed channel is Quiet once its ops drain.
#include "daemon/proxy/channel/socket_channel.hpp"

#include <doctest/doctest.h>

#include <functional>
#include <string>
#include <vector>

#include "daemon/io/socket.hpp"
#include "tests/daemon/proxy/relay_fixture.hpp"

using namespace mesh;
using namespace std::chrono_literals;
using proxy::ChannelEvent;

namespace {

struct Harness : proxy::ChannelHandler, io::Timer::Handler {
  std::unique_ptr<io::Loop> loop = std::move(*io::Loop::create(io::RingOptions{}));
  std::unique_ptr<io::BufferRing> buffers = std::move(*io::BufferRing::create(loop->ring(), 0, 64, 16 * 1024));
  proxy::ConnectionBudget budget{100};
  proxy::WorkerContext ctx{*loop, *buffers, budget, {}, {}, {}, nullptr, nullptr, false};
  std::vector<ChannelEvent> events;
  std::function<void(proxy::ByteChannel&, ChannelEvent)> on_event;
  std::function<bool()> done;
  io::Timer timer{this};
  base::MonoTime deadline{};

  void on_channel(proxy::ByteChannel& ch, ChannelEvent ev) override {
    events.push_back(ev);
    if (on_event) on_event(ch, ev);
  }
  void on_timer(io::Timer&) override {
    if ((done && done()) || loop->now() >= deadline) return loop->request_stop();
    loop->schedule_after(timer, 1ms);
  }
  // Runs the loop until `until` holds (true) or 5 s pass (false).
  bool run(std::function<bool()> until) {
    done = std::move(until);
    deadline = loop->now() + 5s;
    loop->schedule_after(timer, 1ms);
    (void)loop->run();
    return done();
  }
  bool saw(ChannelEvent ev) const { return std::find(events.begin(), events.end(), ev) != events.end(); }
};

// A connected pair: `ours` for a channel, `theirs` a blocking socket for the test.
struct Pair {
  base::Fd ours, theirs;
};
Pair tcp_pair() {
  auto l = io::listen_tcp(base::SocketAddr::parse("127.0.0.1:0").value());
  REQUIRE(l);
  auto addr = io::local_address(l->get());
  REQUIRE(addr);
  Pair p;
  p.theirs = testing::connect_to(*addr);
  p.ours = base::Fd(::accept4(l->get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
  REQUIRE(p.ours.valid());
  return p;
}

}  // namespace

TEST_CASE("bytes a reader leaves unconsumed survive the ring buffer going back, in order") {
  Harness h;
  auto pair = tcp_pair();
  proxy::SocketChannel ch(h.ctx, proxy::Side::Downstream);
  ch.set_handler(&h);
  ch.adopt(std::move(pair.ours));
  std::string got;
  // Take only 3 bytes per Data event: the rest stays in the channel.
  h.on_event = [&](proxy::ByteChannel& c, ChannelEvent ev) {
    if (ev != ChannelEvent::Data) return;
    auto b = c.peek();
    size_t n = std::min<size_t>(3, b.size());
    got.append(reinterpret_cast<const char*>(b.data()), n);
    c.consume(n);
  };
  ch.start_reading();
  REQUIRE(testing::send_all(pair.theirs.get(), "hello, channel"));
  REQUIRE(h.run([&] { return !ch.peek().empty(); }));
  CHECK(h.buffers->in_use() == 0);  // nothing pinned while the reader dawdles
  // The reader catches up outside any event.
  while (!ch.peek().empty()) {
    auto b = ch.peek();
    got.append(reinterpret_cast<const char*>(b.data()), b.size());
    ch.consume(b.size());
  }
  CHECK(got == "hello, channel");
  ch.close(false);
  CHECK(h.run([&] { return ch.quiet(); }));
}

TEST_CASE("a write the peer cannot take is queued, Writable follows, and close_write is a FIN after it") {
  Harness h;
  auto pair = tcp_pair();
  proxy::SocketChannel ch(h.ctx, proxy::Side::Upstream);
  ch.set_handler(&h);
  ch.adopt(std::move(pair.ours));
  std::string big(32 << 20, 'x');  // more than the socket buffers take at once
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>('a' + i % 26);
  bool more = ch.write({reinterpret_cast<const uint8_t*>(big.data()), big.size()});
  CHECK_FALSE(more);
  CHECK_FALSE(ch.writable());
  ch.close_write();
  CHECK_FALSE(ch.write_closed());  // the queue is not out yet
  std::string received;
  std::thread reader([&] { testing::read_to_eof(pair.theirs.get(), received); });
  CHECK(h.run([&] { return h.saw(ChannelEvent::Writable) && ch.write_closed(); }));
  reader.join();
  CHECK(received == big);
  ch.close(false);
  CHECK(h.run([&] { return ch.quiet(); }));
}

TEST_CASE("a peer's reset is a Reset fault, reported as Closed") {
  Harness h;
  auto pair = tcp_pair();
  proxy::SocketChannel ch(h.ctx, proxy::Side::Upstream);
  ch.set_handler(&h);
  ch.adopt(std::move(pair.ours));
  ch.start_reading();
  io::set_reset_on_close(pair.theirs.get());
  pair.theirs.reset();
  REQUIRE(h.run([&] { return h.saw(ChannelEvent::Closed); }));
  CHECK(ch.fault() == proxy::ChannelFault::Reset);
  ch.close(true);
  CHECK(h.run([&] { return ch.quiet(); }));
}

TEST_CASE("a dial to a closed port is Closed with UpstreamRefused; a good one is Connected") {
  Harness h;
  proxy::DialProfile profile;
  profile.name = "test";
  // A port that was just free: nothing listens there.
  base::SocketAddr closed_port = [] {
    auto l = io::listen_tcp(base::SocketAddr::parse("127.0.0.1:0").value());
    return *io::local_address(l->get());
  }();
  proxy::SocketChannel refused(h.ctx, proxy::Side::Upstream);
  refused.set_handler(&h);
  REQUIRE(refused.dial(profile, closed_port));
  REQUIRE(h.run([&] { return h.saw(ChannelEvent::Closed); }));
  CHECK(refused.dial_error() == proxy::RejectReason::UpstreamRefused);
  CHECK_FALSE(refused.connected());

  auto l = io::listen_tcp(base::SocketAddr::parse("127.0.0.1:0").value());
  REQUIRE(l);
  h.events.clear();
  proxy::SocketChannel ok(h.ctx, proxy::Side::Upstream);
  ok.set_handler(&h);
  REQUIRE(ok.dial(profile, *io::local_address(l->get())));
  REQUIRE(h.run([&] { return h.saw(ChannelEvent::Connected); }));
  CHECK(ok.connected());
  CHECK(ok.dial_error() == proxy::RejectReason::kCount);
  refused.close(false);
  ok.close(false);
  CHECK(h.run([&] { return ok.quiet() && refused.quiet(); }));
}

TEST_CASE("closing a reading channel cancels its receive and reports Quiet once it has drained") {
  Harness h;
  auto pair = tcp_pair();
  proxy::SocketChannel ch(h.ctx, proxy::Side::Downstream);
  ch.set_handler(&h);
  ch.adopt(std::move(pair.ours));
  ch.start_reading();
  h.run([] { return true; });  // the receive is in flight
  CHECK_FALSE(ch.quiet());
  ch.close(true);
  REQUIRE(h.run([&] { return ch.quiet(); }));
  CHECK(h.saw(ChannelEvent::Quiet));
  // The peer sees the reset.
  char c;
  CHECK(::recv(pair.theirs.get(), &c, 1, 0) < 0);
}
