#include "daemon/io/timer_queue.hpp"

#include <algorithm>
#include <memory>
#include <vector>

#include <doctest/doctest.h>

using namespace mesh;
using namespace std::chrono_literals;

namespace {
struct Recorder final : io::Timer::Handler {
  std::vector<int>* log;
  int id;
  Recorder(std::vector<int>* l, int i) : log(l), id(i) {}
  void on_timer(io::Timer&) override { log->push_back(id); }
};
}  // namespace

TEST_CASE("timers fire in deadline order and only once expired") {
  base::FakeClock clock;
  io::TimerQueue q;
  std::vector<int> fired;
  Recorder r1(&fired, 1), r2(&fired, 2), r3(&fired, 3);
  io::Timer t1(&r1), t2(&r2), t3(&r3);
  q.schedule(t1, clock.now() + 30ms);
  q.schedule(t2, clock.now() + 10ms);
  q.schedule(t3, clock.now() + 20ms);
  CHECK(q.next_deadline() == clock.now() + 10ms);
  clock.advance(5ms);
  CHECK(q.fire_expired(clock.now()) == 0);
  clock.advance(20ms);
  CHECK(q.fire_expired(clock.now()) == 2);
  CHECK(fired == std::vector<int>{2, 3});
  CHECK(t1.armed());
  CHECK_FALSE(t2.armed());
}

TEST_CASE("a cancelled or destroyed timer never fires") {
  base::FakeClock clock;
  io::TimerQueue q;
  std::vector<int> fired;
  Recorder r1(&fired, 1), r2(&fired, 2);
  io::Timer t1(&r1);
  q.schedule(t1, clock.now() + 1ms);
  {
    io::Timer t2(&r2);
    q.schedule(t2, clock.now() + 1ms);
  }
  q.cancel(t1);
  clock.advance(1s);
  CHECK(q.fire_expired(clock.now()) == 0);
  CHECK(fired.empty());
  CHECK(q.size() == 0);
}

TEST_CASE("rescheduling moves a timer instead of duplicating it") {
  base::FakeClock clock;
  io::TimerQueue q;
  std::vector<int> fired;
  Recorder r(&fired, 7);
  io::Timer t(&r);
  q.schedule(t, clock.now() + 1ms);
  q.schedule(t, clock.now() + 50ms);
  CHECK(q.size() == 1);
  clock.advance(10ms);
  CHECK(q.fire_expired(clock.now()) == 0);
  clock.advance(40ms);
  CHECK(q.fire_expired(clock.now()) == 1);
  CHECK(fired == std::vector<int>{7});
}

TEST_CASE("a handler may re-arm its own timer (lazy idle timeout)") {
  base::FakeClock clock;
  io::TimerQueue q;
  struct Rearm : io::Timer::Handler {
    io::TimerQueue* q;
    base::FakeClock* clock;
    int fires = 0;
    void on_timer(io::Timer& t) override {
      if (++fires < 3) q->schedule(t, clock->now() + 10ms);
    }
  } h;
  h.q = &q;
  h.clock = &clock;
  io::Timer t(&h);
  q.schedule(t, clock.now() + 10ms);
  for (int i = 0; i < 5; ++i) {
    clock.advance(10ms);
    q.fire_expired(clock.now());
  }
  CHECK(h.fires == 3);
  CHECK_FALSE(t.armed());
}

TEST_CASE("many timers with random deadlines come out sorted") {
  base::FakeClock clock;
  io::TimerQueue q;
  std::vector<int> fired;
  std::vector<std::unique_ptr<Recorder>> recs;
  std::vector<std::unique_ptr<io::Timer>> timers;
  uint32_t x = 12345;
  for (int i = 0; i < 500; ++i) {
    x = x * 1103515245 + 12345;
    int ms = static_cast<int>((x >> 8) % 1000);
    recs.push_back(std::make_unique<Recorder>(&fired, ms));
    timers.push_back(std::make_unique<io::Timer>(recs.back().get()));
    q.schedule(*timers.back(), clock.now() + std::chrono::milliseconds(ms));
  }
  for (int i = 0; i < 100; i += 3) q.cancel(*timers[static_cast<size_t>(i)]);
  clock.advance(2s);
  q.fire_expired(clock.now());
  CHECK(fired.size() == 500 - 34);
  CHECK(std::is_sorted(fired.begin(), fired.end()));
}
