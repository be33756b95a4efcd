#include "daemon/proxy/listener.hpp"

#include <sys/ioctl.h>

#include "tests/daemon/proxy/relay_fixture.hpp"

using namespace mesh;
using namespace mesh::testing;

TEST_CASE("connections over the limit are reset and counted, and the budget is returned") {
  Upstream up([](int fd) {
    std::string ignored;
    read_to_eof(fd, ignored);
  }, 2);
  RelayFixture relay(up.addr, std::chrono::hours(1), 2);
  base::Fd a = connect_to(relay.listen), b = connect_to(relay.listen);
  REQUIRE(eventually([&] { return relay.stats().opened.value() == 2; }));
  base::Fd c = connect_to(relay.listen);
  std::string got;
  CHECK_FALSE(read_to_eof(c.get(), got));  // reset
  CHECK(relay.stats().rejected[static_cast<size_t>(proxy::RejectReason::ConnectionLimit)].value() == 1);
  ::shutdown(a.get(), SHUT_WR);
  ::shutdown(b.get(), SHUT_WR);
  CHECK(read_to_eof(a.get(), got));
  CHECK(read_to_eof(b.get(), got));
  CHECK(eventually([&] { return relay.budget.active() == 0; }));
}

TEST_CASE("after stop_accepting the listener is closed and open connections continue") {
  Upstream up([](int fd) {
    std::string req;
    read_to_eof(fd, req);
    send_all(fd, req);
  });
  RelayFixture relay(up.addr);
  base::Fd a = connect_to(relay.listen);
  REQUIRE(eventually([&] { return relay.stats().opened.value() == 1; }));
  relay.worker->stop_accepting();
  CHECK(eventually([&] { return !connect_to(relay.listen).valid(); }));
  REQUIRE(send_all(a.get(), "drain me"));
  ::shutdown(a.get(), SHUT_WR);
  std::string got;
  CHECK(read_to_eof(a.get(), got));
  CHECK(got == "drain me");
}

TEST_CASE("a destination function can refuse a connection with a counted reason") {
  Upstream up([](int) {}, 0);
  RelayFixture relay(up.addr, std::chrono::hours(1), 10, std::chrono::seconds(5), 64,
                     [](int) { return proxy::FlowTarget::refuse(proxy::RejectReason::NoDestination); });
  base::Fd c = connect_to(relay.listen);
  std::string got;
  CHECK_FALSE(read_to_eof(c.get(), got));
  CHECK(eventually([&] {
    return relay.stats().rejected[static_cast<size_t>(proxy::RejectReason::NoDestination)].value() == 1;
  }));
  CHECK(eventually([&] { return relay.budget.active() == 0; }));
}

TEST_CASE("removing a listener with abort resets its connections and closes its socket") {
  Upstream up([](int fd) {
    std::string ignored;
    read_to_eof(fd, ignored);
  });
  RelayFixture relay(up.addr);
  base::Fd a = connect_to(relay.listen);
  REQUIRE(eventually([&] { return relay.stats().opened.value() == 1; }));
  relay.worker->remove_listener(1, true);
  std::string got;
  CHECK_FALSE(read_to_eof(a.get(), got));
  CHECK(eventually([&] {
    return relay.stats().closed[static_cast<size_t>(proxy::CloseReason::Unenrolled)].value() == 1;
  }));
  CHECK(eventually([&] { return !connect_to(relay.listen).valid(); }));
}

TEST_CASE("abort_connections resets every open connection") {
  Upstream up([](int fd) {
    std::string ignored;
    read_to_eof(fd, ignored);
  });
  RelayFixture relay(up.addr);
  base::Fd a = connect_to(relay.listen);
  REQUIRE(eventually([&] { return relay.stats().opened.value() == 1; }));
  relay.worker->abort_connections(proxy::CloseReason::DrainDeadline);
  std::string got;
  CHECK_FALSE(read_to_eof(a.get(), got));
  CHECK(eventually([&] {
    return relay.stats().closed[static_cast<size_t>(proxy::CloseReason::DrainDeadline)].value() == 1;
  }));
}
