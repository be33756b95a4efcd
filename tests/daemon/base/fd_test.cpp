#include "daemon/base/fd.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <doctest/doctest.h>

using mesh::base::Fd;

namespace {
bool is_open(int fd) { return ::fcntl(fd, F_GETFD) != -1; }
}  // namespace

TEST_CASE("an Fd closes its descriptor when destroyed") {
  int raw = ::open("/dev/null", O_RDONLY);
  REQUIRE(raw >= 0);
  { Fd fd(raw); CHECK(fd.valid()); }
  CHECK_FALSE(is_open(raw));
}

TEST_CASE("moving an Fd transfers ownership and release gives it up") {
  int raw = ::open("/dev/null", O_RDONLY);
  Fd a(raw);
  Fd b(std::move(a));
  CHECK_FALSE(a.valid());
  CHECK(b.get() == raw);
  int released = b.release();
  CHECK_FALSE(b.valid());
  CHECK(is_open(released));
  ::close(released);
}

TEST_CASE("reset closes the old descriptor") {
  int first = ::open("/dev/null", O_RDONLY);
  int second = ::open("/dev/null", O_RDONLY);
  Fd fd(first);
  fd.reset(second);
  CHECK_FALSE(is_open(first));
  CHECK(fd.get() == second);
}
