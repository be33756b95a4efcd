#include "daemon/upstream/cluster.hpp"

#include <doctest/doctest.h>

#include "tests/daemon/upstream/fleet.hpp"

using namespace mesh;
using namespace mesh::upstream;
using namespace std::chrono_literals;
using test::addr;
using test::spec;
using test::specs;

namespace {

constexpr const char* kName = "outbound|8080|v1|reviews.default.svc.cluster.local";

LbConfig with_kind(LbKind kind) {
  LbConfig c;
  c.kind = kind;
  return c;
}

std::string picked(Cluster& c, base::RandomSource& random) {
  Pick p = c.pick(PickContext{random});
  return p.endpoint ? p.endpoint->address().to_string() : "none";
}

}  // namespace

TEST_CASE("update adds, keeps and removes endpoints by address") {
  base::FakeClock clock;
  Cluster c(kName, LbConfig{}, clock);
  CHECK(c.name() == kName);
  UpdateSummary s = c.update(specs(3));
  CHECK(s.added == 3);
  CHECK(c.endpoints().size() == 3);
  s = c.update(specs(3, 1));  // .2 .3 .4
  CHECK(s.added == 1);
  CHECK(s.kept == 2);
  CHECK(s.removed == 1);
  CHECK(c.find(addr("10.0.0.1:8080")) == nullptr);
  CHECK(c.find(addr("10.0.0.4:8080")) != nullptr);
}

TEST_CASE("update keeps the state of surviving endpoints") {
  base::FakeClock clock;
  Cluster c(kName, with_kind(LbKind::PeakEwma), clock);
  (void)c.update(specs(3));
  Endpoint* kept = c.find(addr("10.0.0.2:8080"));
  REQUIRE(kept != nullptr);
  const uint64_t id = kept->id();
  kept->begin_request();
  kept->begin_request();
  clock.advance(1s);
  kept->record_result(250ms, false);
  REQUIRE(c.set_ejected(addr("10.0.0.2:8080"), true));

  auto next = specs(2, 1);  // .2 .3, with a new identity for .2
  next[0].identity = "spiffe://cluster.local/ns/default/sa/reviews";
  (void)c.update(next);
  Endpoint* after = c.find(addr("10.0.0.2:8080"));
  REQUIRE(after == kept);
  CHECK(after->id() == id);
  CHECK(after->identity() == "spiffe://cluster.local/ns/default/sa/reviews");
  CHECK(after->active_requests() == 2);
  CHECK(after->failures() == 1);
  CHECK(after->rtt().last_estimate() == doctest::Approx(250e6));
  CHECK(after->ejected());
}

TEST_CASE("update keeps the round-robin position of surviving endpoints") {
  base::FakeClock clock;
  Cluster c(kName, with_kind(LbKind::RoundRobin), clock);
  (void)c.update(specs(3));
  base::SplitMix64 random(1);
  CHECK(picked(c, random) == "10.0.0.1:8080");
  CHECK(picked(c, random) == "10.0.0.2:8080");
  (void)c.update(specs(4));  // adds .4
  CHECK(picked(c, random) == "10.0.0.3:8080");
  CHECK(picked(c, random) == "10.0.0.1:8080");
  CHECK(picked(c, random) == "10.0.0.2:8080");
  CHECK(picked(c, random) == "10.0.0.4:8080");
}

TEST_CASE("the balancer is rebuilt only when membership, a weight or a health changes") {
  base::FakeClock clock;
  Cluster c(kName, LbConfig{}, clock);
  (void)c.update(specs(3));
  const uint64_t base_rebuilds = c.rebuilds();
  base::SplitMix64 random(1);
  for (int i = 0; i < 100; ++i) (void)c.pick(PickContext{random});
  CHECK(c.rebuilds() == base_rebuilds);

  auto same = specs(3);
  same[1].identity = "spiffe://cluster.local/ns/a/sa/b";  // not a balancing input
  same[2].locality = "eu/west-1a";
  (void)c.update(same);
  CHECK(c.rebuilds() == base_rebuilds);

  struct Row {
    const char* what;
    void (*edit)(std::vector<EndpointSpec>&);
  };
  const Row rows[] = {
      {"a weight", [](std::vector<EndpointSpec>& s) { s[0].weight = 5; }},
      {"a health", [](std::vector<EndpointSpec>& s) { s[1].health = HealthState::Draining; }},
      {"a member more", [](std::vector<EndpointSpec>& s) { s.push_back(spec("10.0.0.9:8080")); }},
      {"a member less", [](std::vector<EndpointSpec>& s) { s.pop_back(); }},
  };
  for (const Row& r : rows) {
    CAPTURE(r.what);
    auto edited = specs(3);
    r.edit(edited);
    (void)c.update(specs(3));
    const uint64_t before = c.rebuilds();
    (void)c.update(edited);
    (void)c.pick(PickContext{random});
    CHECK(c.rebuilds() == before + 1);
  }
}

TEST_CASE("repeated addresses count once: the first spec wins") {
  base::FakeClock clock;
  Cluster c(kName, LbConfig{}, clock);
  auto s = specs(2);
  s.push_back(spec("10.0.0.1:8080", 9));
  UpdateSummary sum = c.update(s);
  CHECK(sum.duplicates == 1);
  CHECK(c.endpoints().size() == 2);
  CHECK(c.find(addr("10.0.0.1:8080"))->weight() == 1);
}

TEST_CASE("an endpoint removed with active requests lives until they end") {
  base::FakeClock clock;
  Cluster c(kName, LbConfig{}, clock);
  (void)c.update(specs(2));
  Endpoint* gone = c.find(addr("10.0.0.1:8080"));
  gone->begin_request();
  (void)c.update(specs(1, 1));
  CHECK(c.find(addr("10.0.0.1:8080")) == nullptr);
  CHECK(c.retired() == 1);
  base::SplitMix64 random(1);
  for (int i = 0; i < 50; ++i) CHECK(picked(c, random) == "10.0.0.2:8080");
  gone->end_request();  // still a valid object
  (void)c.update(specs(1, 1));
  CHECK(c.retired() == 0);
}

TEST_CASE("eligibility: unhealthy and draining skipped, panic below the threshold") {
  // Decision table: which endpoints a pick may return, by health mix and threshold.
  struct Row {
    const char* what;
    std::vector<HealthState> health;
    uint32_t threshold;
    std::set<std::string> want;  // reachable picks
    bool panic;
  };
  using H = HealthState;
  const Row rows[] = {
      {"all healthy", {H::Healthy, H::Healthy, H::Healthy}, 50, {"1", "2", "3"}, false},
      {"one unhealthy of three", {H::Healthy, H::Unhealthy, H::Healthy}, 50, {"1", "3"}, false},
      {"draining is never picked", {H::Draining, H::Healthy, H::Healthy}, 50, {"2", "3"}, false},
      {"two of three unhealthy: panic", {H::Unhealthy, H::Unhealthy, H::Healthy}, 50, {"1", "2", "3"}, true},
      {"panic leaves draining out", {H::Unhealthy, H::Draining, H::Unhealthy}, 50, {"1", "3"}, true},
      {"threshold 0: one healthy is enough", {H::Unhealthy, H::Unhealthy, H::Healthy}, 0, {"3"}, false},
      {"threshold 0: none healthy, none picked", {H::Unhealthy, H::Unhealthy, H::Unhealthy}, 0, {"none"}, false},
      {"only draining", {H::Draining, H::Draining, H::Draining}, 50, {"none"}, false},
      {"exactly at the threshold is not panic", {H::Healthy, H::Unhealthy}, 50, {"1"}, false},
  };
  for (const Row& r : rows) {
    CAPTURE(r.what);
    base::FakeClock clock;
    LbConfig config = with_kind(LbKind::Random);
    config.panic_threshold_percent = r.threshold;
    Cluster c(kName, config, clock);
    std::vector<EndpointSpec> s;
    for (size_t i = 0; i < r.health.size(); ++i) {
      s.push_back(spec("10.0.0." + std::to_string(i + 1) + ":8080", 1, r.health[i]));
    }
    (void)c.update(s);
    base::SplitMix64 random(2);
    std::set<std::string> got;
    for (int i = 0; i < 200; ++i) {
      std::string a = picked(c, random);
      got.insert(a == "none" ? a : a.substr(7, 1));
    }
    CHECK(got == r.want);
    CHECK(c.in_panic() == r.panic);
  }
}

TEST_CASE("an ejected endpoint is skipped until it returns, and ejecting rebuilds lazily") {
  base::FakeClock clock;
  Cluster c(kName, with_kind(LbKind::RoundRobin), clock);
  (void)c.update(specs(4));
  base::SplitMix64 random(1);
  const uint64_t before = c.rebuilds();
  CHECK(c.set_ejected(addr("10.0.0.2:8080"), true));
  CHECK(c.set_ejected(addr("10.0.0.2:8080"), true));  // no change
  CHECK_FALSE(c.set_ejected(addr("10.9.9.9:8080"), true));
  CHECK(c.find(addr("10.0.0.2:8080"))->health() == HealthState::Unhealthy);
  std::set<std::string> got;
  for (int i = 0; i < 30; ++i) got.insert(picked(c, random));
  CHECK(c.rebuilds() == before + 1);
  CHECK_FALSE(got.contains("10.0.0.2:8080"));
  CHECK(got.size() == 3);
  CHECK(c.set_ejected(addr("10.0.0.2:8080"), false));
  got.clear();
  for (int i = 0; i < 30; ++i) got.insert(picked(c, random));
  CHECK(got.contains("10.0.0.2:8080"));
}

TEST_CASE("a draining endpoint stays draining while ejected and after") {
  base::FakeClock clock;
  Cluster c(kName, LbConfig{}, clock);
  (void)c.update({spec("10.0.0.1:8080", 1, HealthState::Draining)});
  Endpoint* e = c.find(addr("10.0.0.1:8080"));
  CHECK(e->health() == HealthState::Draining);
  (void)c.set_ejected(addr("10.0.0.1:8080"), true);
  CHECK(e->health() == HealthState::Draining);
}

TEST_CASE("passthrough answers with the original destination and its member record") {
  base::FakeClock clock;
  Cluster c(kName, with_kind(LbKind::Passthrough), clock);
  (void)c.update({spec("10.0.0.1:8080", 1, HealthState::Unhealthy), spec("10.0.0.2:8080")});
  base::SplitMix64 random(1);
  Pick p = c.pick(PickContext{random, std::nullopt, addr("10.0.0.1:8080")});
  CHECK(p.status == PickStatus::OriginalDestination);
  REQUIRE(p.endpoint != nullptr);  // unhealthy, but passthrough does not judge
  CHECK(p.endpoint->address() == addr("10.0.0.1:8080"));
  p = c.pick(PickContext{random, std::nullopt, addr("192.0.2.1:443")});
  CHECK(p.status == PickStatus::OriginalDestination);
  CHECK(p.endpoint == nullptr);
  CHECK(c.pick(PickContext{random}).status == PickStatus::NoEndpoint);
}

TEST_CASE("every balancer kind picks members of a cluster, and none from an empty one") {
  const LbKind kinds[] = {LbKind::RoundRobin, LbKind::LeastRequest, LbKind::Random, LbKind::PeakEwma,
                          LbKind::ConsistentHash};
  for (LbKind kind : kinds) {
    for (HashAlgorithm algo : {HashAlgorithm::RingHash, HashAlgorithm::Maglev}) {
      CAPTURE(to_string(kind));
      base::FakeClock clock;
      LbConfig config = with_kind(kind);
      config.hash_algorithm = algo;
      Cluster c(kName, config, clock);
      base::SplitMix64 random(4);
      CHECK(c.pick(PickContext{random, 7}).status == PickStatus::NoEndpoint);
      (void)c.update(specs(5));
      std::set<std::string> got;
      for (int i = 0; i < 200; ++i) {
        Pick p = c.pick(PickContext{random});
        REQUIRE(p.status == PickStatus::Endpoint);
        got.insert(p.endpoint->address().to_string());
      }
      CHECK(got.size() == 5);
    }
  }
}

TEST_CASE("consistent hash through the cluster is sticky for a key across unrelated updates") {
  base::FakeClock clock;
  LbConfig config = with_kind(LbKind::ConsistentHash);
  config.hash_algorithm = HashAlgorithm::Maglev;
  Cluster c(kName, config, clock);
  (void)c.update(specs(10));
  base::SplitMix64 random(4);
  Endpoint* first = c.pick(PickContext{random, 12345}).endpoint;
  for (int i = 0; i < 20; ++i) CHECK(c.pick(PickContext{random, 12345}).endpoint == first);
  auto more = specs(10);
  more[3].identity = "spiffe://x";
  (void)c.update(more);
  CHECK(c.pick(PickContext{random, 12345}).endpoint == first);
}

TEST_CASE("reconfigure switches the balancer and keeps endpoint state") {
  base::FakeClock clock;
  Cluster c(kName, with_kind(LbKind::RoundRobin), clock);
  (void)c.update(specs(3));
  Endpoint* e = c.find(addr("10.0.0.1:8080"));
  e->begin_request();
  c.reconfigure(with_kind(LbKind::LeastRequest));
  CHECK(c.config().kind == LbKind::LeastRequest);
  CHECK(c.find(addr("10.0.0.1:8080")) == e);
  CHECK(e->active_requests() == 1);
  base::SplitMix64 random(1);
  CHECK(c.pick(PickContext{random}).status == PickStatus::Endpoint);
}

TEST_CASE("reconfigure with the same balancer keeps the round-robin position") {
  base::FakeClock clock;
  Cluster c(kName, with_kind(LbKind::RoundRobin), clock);
  (void)c.update(specs(3));
  base::SplitMix64 random(1);
  CHECK(picked(c, random) == "10.0.0.1:8080");
  LbConfig next = with_kind(LbKind::RoundRobin);
  next.panic_threshold_percent = 10;
  c.reconfigure(next);
  CHECK(picked(c, random) == "10.0.0.2:8080");
}
