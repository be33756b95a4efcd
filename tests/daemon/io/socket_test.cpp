#include "daemon/io/socket.hpp"

#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <doctest/doctest.h>

using namespace mesh;

TEST_CASE("two reuse-port listeners can share one address") {
  auto first = io::listen_tcp(base::SocketAddr::parse("127.0.0.1:0").value());
  REQUIRE(first);
  auto addr = io::local_address(first->get()).value();
  CHECK(addr.port() != 0);
  auto second = io::listen_tcp(addr);
  CHECK(second);
}

TEST_CASE("binding an address in use without reuse-port fails with the address in the message") {
  auto first = io::listen_tcp(base::SocketAddr::parse("127.0.0.1:0").value(), {.reuse_port = false});
  REQUIRE(first);
  auto addr = io::local_address(first->get()).value();
  auto second = io::listen_tcp(addr, {.reuse_port = false});
  REQUIRE_FALSE(second);
  CHECK(second.error().message().find(addr.to_string()) != std::string::npos);
}

TEST_CASE("an IPv6 listener binds to ::1") {
  auto l = io::listen_tcp(base::SocketAddr::parse("[::1]:0").value());
  REQUIRE(l);
  CHECK(io::local_address(l->get()).value().ip().is_v6());
}

TEST_CASE("a unix listener gets the requested mode and replaces a stale socket") {
  std::string path = "/tmp/meshd-socket-test-" + std::to_string(::getpid()) + ".sock";
  {
    auto l = io::listen_unix(path, 0660);
    REQUIRE(l);
  }
  auto again = io::listen_unix(path, 0660);
  REQUIRE(again);
  struct stat st;
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0660);
  ::unlink(path.c_str());
}

TEST_CASE("a unix listener refuses to replace a regular file") {
  std::string path = "/tmp/meshd-socket-test-file-" + std::to_string(::getpid());
  FILE* f = std::fopen(path.c_str(), "w");
  REQUIRE(f);
  std::fclose(f);
  auto l = io::listen_unix(path, 0660);
  CHECK_FALSE(l);
  ::unlink(path.c_str());
}
