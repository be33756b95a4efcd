#include "daemon/base/log.hpp"

#include <unistd.h>

#include <string>

#include <doctest/doctest.h>

using namespace mesh::base;

namespace {
std::string capture(auto&& fn) {
  int p[2];
  REQUIRE(::pipe(p) == 0);
  log::set_output_fd(p[1]);
  fn();
  log::set_output_fd(2);
  ::close(p[1]);
  std::string out;
  char buf[512];
  ssize_t n;
  while ((n = ::read(p[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  ::close(p[0]);
  return out;
}
}  // namespace

TEST_CASE("journald format prefixes the syslog priority and omits the timestamp") {
  log::set_journal_format(true);
  auto out = capture([] { log::warn("failed to open listener '{}': {}", "demo", "in use"); });
  CHECK(out == "<4>failed to open listener 'demo': in use\n");
}

TEST_CASE("terminal format starts with a UTC timestamp and the level") {
  log::set_journal_format(false);
  auto out = capture([] { log::info("hello {}", 1); });
  CHECK(out.size() > 25);
  CHECK(out[4] == '-');
  CHECK(out.find("Z info  hello 1\n") != std::string::npos);
}

TEST_CASE("messages below the level are not written") {
  log::set_journal_format(true);
  log::set_level(log::Level::Warn);
  auto out = capture([] { log::info("quiet"); log::error("loud"); });
  log::set_level(log::Level::Info);
  CHECK(out == "<3>loud\n");
}

TEST_CASE("level names parse") {
  CHECK(log::parse_level("debug") == log::Level::Debug);
  CHECK(log::parse_level("warning") == log::Level::Warn);
  CHECK_FALSE(log::parse_level("loud"));
}
