#pragma once
// Clock: the one source of time for code that schedules or expires things. `now()` is
// monotonic (timeouts, rates), `wall()` is calendar time (certificate validity, logs).
// SystemClock reads the kernel; FakeClock is advanced by tests, so no test sleeps.
// SystemClock is thread-safe; a FakeClock belongs to the test that drives it.
#include <chrono>

namespace mesh::base {

using Duration = std::chrono::nanoseconds;
using MonoTime = std::chrono::steady_clock::time_point;
using WallTime = std::chrono::system_clock::time_point;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual MonoTime now() const = 0;
  virtual WallTime wall() const = 0;
};

class SystemClock final : public Clock {
 public:
  MonoTime now() const override { return std::chrono::steady_clock::now(); }
  WallTime wall() const override { return std::chrono::system_clock::now(); }
  static SystemClock& instance();
};

class FakeClock final : public Clock {
 public:
  FakeClock() : wall_(std::chrono::sys_days{std::chrono::year{2026} / 1 / 1}) {}
  MonoTime now() const override { return mono_; }
  WallTime wall() const override { return wall_; }
  void advance(Duration d) {
    mono_ += d;
    wall_ += std::chrono::duration_cast<WallTime::duration>(d);
  }
  void set_wall(WallTime t) { wall_ = t; }

 private:
  MonoTime mono_{std::chrono::seconds(1000)};
  WallTime wall_;
};

}  // namespace mesh::base
