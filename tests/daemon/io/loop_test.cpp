#include "daemon/io/loop.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <thread>

#include <doctest/doctest.h>

#include "daemon/io/socket.hpp"

using namespace mesh;
using namespace std::chrono_literals;

namespace {

std::unique_ptr<io::Loop> make_loop() {
  auto loop = io::Loop::create({});
  REQUIRE(loop);
  return std::move(*loop);
}

struct FnOp final : io::Op {
  std::function<void(int, uint32_t)> fn;
  void complete(int res, uint32_t flags) override { fn(res, flags); }
};

}  // namespace

TEST_CASE("a recv completes with the bytes written to the peer") {
  auto loop = make_loop();
  int sv[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
  base::Fd a(sv[0]), b(sv[1]);
  char buf[16] = {};
  int got = -1;
  FnOp op;
  op.fn = [&](int res, uint32_t) {
    got = res;
    loop->request_stop();
  };
  loop->recv(op, a.get(), buf, sizeof buf);
  REQUIRE(::write(b.get(), "hello", 5) == 5);
  REQUIRE(loop->run());
  CHECK(got == 5);
  CHECK(std::string(buf, 5) == "hello");
}

TEST_CASE("timers fire from the loop in deadline order") {
  auto loop = make_loop();
  struct H : io::Timer::Handler {
    H(std::vector<int>* o, int i, io::Loop* l, bool is_last) : order(o), id(i), loop(l), last(is_last) {}
    std::vector<int>* order;
    int id;
    io::Loop* loop;
    bool last;
    void on_timer(io::Timer&) override {
      order->push_back(id);
      if (last) loop->request_stop();
    }
  };
  std::vector<int> order;
  H h1(&order, 1, loop.get(), false), h2(&order, 2, loop.get(), true);
  io::Timer t1(&h1), t2(&h2);
  // schedule_after counts from the loop's cached now(), which may be older than a clock read
  // taken here: measure from that same instant, or the check below fails now and then.
  auto start = loop->refresh_now();
  loop->schedule_after(t2, 20ms);
  loop->schedule_after(t1, 5ms);
  REQUIRE(loop->run());
  CHECK(order == std::vector<int>{1, 2});
  CHECK(std::chrono::steady_clock::now() - start >= 20ms);
}

TEST_CASE("work posted from another thread runs on the loop thread") {
  auto loop = make_loop();
  std::thread::id ran_on;
  std::thread poster([&] {
    loop->post([&] {
      ran_on = std::this_thread::get_id();
      loop->request_stop();
    });
  });
  auto loop_thread = std::this_thread::get_id();
  REQUIRE(loop->run());
  poster.join();
  CHECK(ran_on == loop_thread);
}

TEST_CASE("cancel_fd completes a pending recv with ECANCELED") {
  auto loop = make_loop();
  int sv[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
  base::Fd a(sv[0]), b(sv[1]);
  char buf[8];
  int got = 0;
  FnOp op;
  op.fn = [&](int res, uint32_t) {
    got = res;
    loop->request_stop();
  };
  loop->recv(op, a.get(), buf, sizeof buf);
  loop->defer([&] { loop->cancel_fd(a.get()); });
  REQUIRE(loop->run());
  CHECK(got == -ECANCELED);
}

TEST_CASE("multishot accept delivers every connection and stays armed") {
  auto loop = make_loop();
  auto listener = io::listen_tcp(base::SocketAddr::parse("127.0.0.1:0").value());
  REQUIRE(listener);
  auto addr = io::local_address(listener->get()).value();
  std::vector<base::Fd> accepted;
  bool more = true;
  FnOp op;
  op.fn = [&](int res, uint32_t flags) {
    REQUIRE(res >= 0);
    accepted.emplace_back(res);
    more = (flags & IORING_CQE_F_MORE) != 0;
    if (accepted.size() == 3) loop->request_stop();
  };
  loop->accept_multishot(op, listener->get());
  std::vector<base::Fd> clients;
  for (int i = 0; i < 3; ++i) {
    base::Fd c(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_storage ss;
    socklen_t len = addr.to_sockaddr(ss);
    REQUIRE(::connect(c.get(), reinterpret_cast<sockaddr*>(&ss), len) == 0);
    clients.push_back(std::move(c));
  }
  REQUIRE(loop->run());
  CHECK(accepted.size() == 3);
  CHECK(more);
  CHECK(loop->stats().completions.value() >= 3);
}
