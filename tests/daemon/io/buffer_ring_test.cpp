#include "daemon/io/buffer_ring.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <doctest/doctest.h>

#include "daemon/io/loop.hpp"

using namespace mesh;

namespace {
struct FnOp final : io::Op {
  std::function<void(int, uint32_t)> fn;
  void complete(int res, uint32_t flags) override { fn(res, flags); }
};
}  // namespace

TEST_CASE("a provided-buffer recv picks a buffer from the ring and reports its id") {
  auto loop = io::Loop::create({}).value();
  auto ring = io::BufferRing::create(loop->ring(), 1, 4, 64);
  REQUIRE(ring);
  int sv[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
  base::Fd a(sv[0]), b(sv[1]);
  std::string got;
  FnOp op;
  op.fn = [&](int res, uint32_t flags) {
    REQUIRE(res > 0);
    REQUIRE((flags & IORING_CQE_F_BUFFER) != 0);
    uint16_t bid = io::BufferRing::buffer_id(flags);
    auto buf = (*ring)->take(bid, static_cast<size_t>(res));
    got.assign(reinterpret_cast<char*>(buf.data()), buf.size());
    CHECK((*ring)->in_use() == 1);
    (*ring)->recycle(bid);
    loop->request_stop();
  };
  loop->recv_provided(op, a.get(), (*ring)->group());
  REQUIRE(::write(b.get(), "provided", 8) == 8);
  REQUIRE(loop->run());
  CHECK(got == "provided");
  CHECK((*ring)->in_use() == 0);
}

TEST_CASE("an exhausted ring fails the recv with ENOBUFS and a recycle wakes the waiter") {
  auto loop = io::Loop::create({}).value();
  auto ring = io::BufferRing::create(loop->ring(), 2, 1, 16).value();
  int sv[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
  base::Fd a(sv[0]), b(sv[1]);
  REQUIRE(::write(b.get(), "0123456789abcdefXYZ", 19) == 19);

  struct Reader : io::BufferRing::Waiter {
    void on_buffer_available() override { woken = true; }
    bool woken = false;
  } waiter;
  int results[2] = {0, 0};
  int n = 0;
  uint16_t held = 0;
  FnOp op;
  op.fn = [&](int res, uint32_t flags) {
    results[n++] = res;
    if (n == 1) {
      held = io::BufferRing::buffer_id(flags);
      ring->take(held, static_cast<size_t>(res));
      loop->recv_provided(op, a.get(), ring->group());  // ring is empty now
    } else {
      loop->request_stop();
    }
  };
  loop->recv_provided(op, a.get(), ring->group());
  REQUIRE(loop->run());
  CHECK(results[0] == 16);
  CHECK(results[1] == -ENOBUFS);
  ring->wait(waiter);
  CHECK_FALSE(waiter.woken);
  ring->recycle(held);
  CHECK(waiter.woken);
}

TEST_CASE("a ring size that is not a power of two is refused") {
  auto loop = io::Loop::create({}).value();
  auto ring = io::BufferRing::create(loop->ring(), 3, 3, 16);
  CHECK_FALSE(ring);
}
