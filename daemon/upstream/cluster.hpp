#pragma once
// Cluster: a named set of endpoints and the balancer that picks among them — one concrete
// backend (service or subset) in L7.md's logical → concrete → endpoint chain. The name is a
// stable key such as Istio's "outbound|8080|v1|reviews.default.svc.cluster.local", so the
// proxy can keep one Cluster per key and per worker across policy reloads.
//
// update() applies discovery's full list: endpoints whose address stays keep their state
// (active requests, RTT estimate, ejection, round-robin position), new ones are added, gone
// ones removed — freed at once if idle, otherwise retired until their last request ends.
// The balancer is rebuilt only when the eligible set or a weight changes, lazily at the
// next pick. Eligibility: Healthy endpoints; when fewer than panic_threshold_percent of the
// non-draining endpoints are healthy, healthy and unhealthy alike (Envoy's panic mode);
// Draining endpoints never get new requests. Passthrough clusters use every member.
//
// A picked Endpoint* stays valid until the next update(); call begin_request() on it before
// then and it stays valid until the matching end_request(). One worker thread owns a
// Cluster; the Clock and the endpoints' state are not shared.
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "daemon/base/clock.hpp"
#include "daemon/upstream/endpoint.hpp"
#include "daemon/upstream/lb_config.hpp"
#include "daemon/upstream/load_balancer.hpp"

namespace mesh::upstream {

enum class PickStatus : uint8_t {
  Endpoint,             // send to `endpoint`
  OriginalDestination,  // Passthrough: send to the original destination; `endpoint` is its
                        // member record when it has one, else nullptr
  NoEndpoint,           // nothing eligible (Envoy's "no healthy upstream")
};

struct Pick {
  PickStatus status = PickStatus::NoEndpoint;
  Endpoint* endpoint = nullptr;
};

struct UpdateSummary {
  size_t added = 0;
  size_t removed = 0;
  size_t kept = 0;
  size_t duplicates = 0;  // repeated addresses in the input; the first one counts
};

class Cluster {
 public:
  // `config` must have passed validate().
  Cluster(std::string name, const LbConfig& config, const base::Clock& clock);
  Cluster(const Cluster&) = delete;
  Cluster& operator=(const Cluster&) = delete;

  const std::string& name() const { return name_; }
  const LbConfig& config() const { return config_; }

  UpdateSummary update(std::vector<EndpointSpec> specs);
  // A new balancer kind or parameters (a policy reload); endpoint state is kept.
  void reconfigure(const LbConfig& config);

  Pick pick(const PickContext& ctx);

  Endpoint* find(const base::SocketAddr& address);
  // The outlier detector's verdict; false when the address is not a member.
  bool set_ejected(const base::SocketAddr& address, bool ejected);

  std::span<const std::unique_ptr<Endpoint>> endpoints() const { return endpoints_; }
  // Whether the last rebuild balanced over unhealthy endpoints too.
  bool in_panic();
  uint64_t rebuilds() const { return rebuilds_; }
  size_t retired() const { return retired_.size(); }

 private:
  void refresh();
  void retire(std::unique_ptr<Endpoint> endpoint);

  std::string name_;
  LbConfig config_;
  const base::Clock* clock_;
  std::unique_ptr<LoadBalancer> lb_;
  std::vector<std::unique_ptr<Endpoint>> endpoints_;  // sorted by address
  std::vector<std::unique_ptr<Endpoint>> retired_;    // removed, requests still active
  std::vector<Endpoint*> eligible_;
  uint64_t next_id_ = 1;
  uint64_t rebuilds_ = 0;
  bool dirty_ = true;
  bool panic_ = false;
};

}  // namespace mesh::upstream
