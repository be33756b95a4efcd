#include "daemon/base/byte_queue.hpp"

#include <doctest/doctest.h>

#include <numeric>
#include <vector>

using mesh::base::ByteQueue;

namespace {
std::vector<uint8_t> pattern(size_t n, uint8_t seed = 0) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(seed + i * 7);
  return v;
}
std::vector<uint8_t> drain(ByteQueue& q) {
  std::vector<uint8_t> out(q.size());
  CHECK(q.peek(out) == out.size());
  q.consume(out.size());
  return out;
}
}  // namespace

TEST_CASE("bytes come out in order across block boundaries") {
  ByteQueue q(16);
  auto a = pattern(40, 1);
  auto b = pattern(9, 100);
  q.append(a);
  q.append(b);
  CHECK(q.size() == 49);
  auto out = drain(q);
  a.insert(a.end(), b.begin(), b.end());
  CHECK(out == a);
  CHECK(q.empty());
}

TEST_CASE("queued bytes keep their address while more bytes are appended") {
  ByteQueue q(64);
  q.append(pattern(10));
  const uint8_t* first = q.front().data();
  for (int i = 0; i < 100; ++i) q.append(pattern(33, static_cast<uint8_t>(i)));
  CHECK(q.front().data() == first);
  CHECK(q.front()[0] == pattern(10)[0]);
}

TEST_CASE("gather returns iovecs covering the front bytes, limited by count and bytes") {
  ByteQueue q(10);
  q.append(pattern(35));
  iovec iov[8];
  size_t n = q.gather(iov);
  REQUIRE(n == 4);
  size_t total = 0;
  for (size_t i = 0; i < n; ++i) total += iov[i].iov_len;
  CHECK(total == 35);
  CHECK(q.gather(std::span<iovec>(iov, 2)) == 2);
  n = q.gather(iov, 15);
  REQUIRE(n == 2);
  CHECK(iov[0].iov_len + iov[1].iov_len == 15);
}

TEST_CASE("partial consume keeps the rest and prepare/commit writes in place") {
  ByteQueue q(8);
  q.append(pattern(20));
  q.consume(11);
  CHECK(q.size() == 9);
  CHECK(q.front()[0] == pattern(20)[11]);
  auto room = q.prepare();
  REQUIRE(!room.empty());
  room[0] = 0xAB;
  q.commit(1);
  auto out = drain(q);
  REQUIRE(out.size() == 10);
  CHECK(out.back() == 0xAB);
}

TEST_CASE("a moved-from queue is empty and the moved-to queue has the bytes") {
  ByteQueue a(16);
  a.append(pattern(40));
  ByteQueue b = std::move(a);
  CHECK(a.empty());  // NOLINT(bugprone-use-after-move): the state after a move is specified
  CHECK(a.allocated() == 0);
  CHECK(b.size() == 40);
  ByteQueue c(16);
  c.append(pattern(3));
  c = std::move(b);
  CHECK(c.size() == 40);
  CHECK(drain(c) == pattern(40));
}

TEST_CASE("a drained queue owns no memory and starts a fresh block on the next append") {
  ByteQueue q(32);
  q.append(pattern(70));
  CHECK(q.allocated() == 3 * 32);
  q.consume(40);  // one block emptied while bytes remain: back to the pool
  CHECK(q.allocated() == 2 * 32);
  q.consume(30);
  CHECK(q.empty());
  CHECK(q.allocated() == 0);
  CHECK(q.front().empty());
  iovec iov[2];
  CHECK(q.gather(iov) == 0);
  q.append(pattern(3));
  CHECK(q.size() == 3);
  CHECK(q.allocated() == 32);
  q.clear();
  CHECK(q.allocated() == 0);
}
