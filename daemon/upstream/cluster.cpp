#include "daemon/upstream/cluster.hpp"

#include <algorithm>

namespace mesh::upstream {
namespace {

bool by_address(const EndpointSpec& a, const EndpointSpec& b) { return a.address < b.address; }

// Whether a balancer built for `a` serves `b` unchanged (and may keep its state).
bool same_balancer(const LbConfig& a, const LbConfig& b) {
  if (a.kind != b.kind) return false;
  switch (a.kind) {
    case LbKind::LeastRequest: return a.choice_count == b.choice_count;
    case LbKind::ConsistentHash:
      return a.hash_algorithm == b.hash_algorithm &&
             a.ring_hash.minimum_ring_size == b.ring_hash.minimum_ring_size &&
             a.ring_hash.maximum_ring_size == b.ring_hash.maximum_ring_size &&
             a.maglev.table_size == b.maglev.table_size;
    default: return true;
  }
}

}  // namespace

Cluster::Cluster(std::string name, const LbConfig& config, const base::Clock& clock)
    : name_(std::move(name)), config_(config), clock_(&clock), lb_(make_load_balancer(config)) {
  refresh();
}

UpdateSummary Cluster::update(std::vector<EndpointSpec> specs) {
  UpdateSummary summary;
  std::stable_sort(specs.begin(), specs.end(), by_address);
  auto last = std::unique(specs.begin(), specs.end(),
                          [](const EndpointSpec& a, const EndpointSpec& b) { return a.address == b.address; });
  summary.duplicates = static_cast<size_t>(specs.end() - last);
  specs.erase(last, specs.end());

  // Both lists are sorted by address: one merge pass.
  std::vector<std::unique_ptr<Endpoint>> next;
  next.reserve(specs.size());
  bool changed = false;
  size_t i = 0;
  for (const EndpointSpec& spec : specs) {
    for (; i < endpoints_.size() && endpoints_[i]->address() < spec.address; ++i) {
      retire(std::move(endpoints_[i]));
      ++summary.removed;
    }
    if (i < endpoints_.size() && endpoints_[i]->address() == spec.address) {
      changed |= endpoints_[i]->apply(spec);
      next.push_back(std::move(endpoints_[i++]));
      ++summary.kept;
    } else {
      next.push_back(std::make_unique<Endpoint>(next_id_++, spec, *clock_, config_.peak_ewma));
      ++summary.added;
    }
  }
  for (; i < endpoints_.size(); ++i) {
    retire(std::move(endpoints_[i]));
    ++summary.removed;
  }
  endpoints_ = std::move(next);
  std::erase_if(retired_, [](const std::unique_ptr<Endpoint>& e) { return e->active_requests() == 0; });
  // Rebuilt now rather than at the next pick: the balancer may point at freed endpoints.
  if (changed || summary.added > 0 || summary.removed > 0) refresh();
  return summary;
}

void Cluster::reconfigure(const LbConfig& config) {
  if (!same_balancer(config_, config)) lb_ = make_load_balancer(config);
  config_ = config;
  for (auto& e : endpoints_) e->set_ewma(config.peak_ewma);
  for (auto& e : retired_) e->set_ewma(config.peak_ewma);
  refresh();
}

Pick Cluster::pick(const PickContext& ctx) {
  if (dirty_) refresh();
  if (config_.kind == LbKind::Passthrough) {
    if (!ctx.original_destination) return Pick{};
    return Pick{PickStatus::OriginalDestination, lb_->pick(ctx)};
  }
  Endpoint* e = lb_->pick(ctx);
  return e ? Pick{PickStatus::Endpoint, e} : Pick{};
}

Endpoint* Cluster::find(const base::SocketAddr& address) {
  auto it = std::lower_bound(endpoints_.begin(), endpoints_.end(), address,
                             [](const std::unique_ptr<Endpoint>& e, const base::SocketAddr& a) {
                               return e->address() < a;
                             });
  return it != endpoints_.end() && (*it)->address() == address ? it->get() : nullptr;
}

bool Cluster::set_ejected(const base::SocketAddr& address, bool ejected) {
  Endpoint* e = find(address);
  if (!e) return false;
  if (e->set_ejected(ejected)) dirty_ = true;
  return true;
}

bool Cluster::in_panic() {
  if (dirty_) refresh();
  return panic_;
}

// Which endpoints the balancer gets (mirrored by cluster_test's eligibility table):
//
//   health      normal   panic (healthy < threshold% of non-draining; threshold 0 = never)
//   Healthy     yes      yes
//   Unhealthy   no       yes
//   Draining    no       no
//   (Passthrough: every member, whatever its health)
void Cluster::refresh() {
  eligible_.clear();
  panic_ = false;
  if (config_.kind == LbKind::Passthrough) {
    for (auto& e : endpoints_) eligible_.push_back(e.get());
  } else {
    size_t candidates = 0, healthy = 0;
    for (auto& e : endpoints_) {
      const HealthState h = e->health();
      candidates += h != HealthState::Draining;
      healthy += h == HealthState::Healthy;
    }
    panic_ = candidates > 0 && healthy * 100 < uint64_t{config_.panic_threshold_percent} * candidates;
    for (auto& e : endpoints_) {
      const HealthState h = e->health();
      if (h == HealthState::Healthy || (panic_ && h == HealthState::Unhealthy)) eligible_.push_back(e.get());
    }
  }
  lb_->rebuild(eligible_);
  ++rebuilds_;
  dirty_ = false;
}

void Cluster::retire(std::unique_ptr<Endpoint> endpoint) {
  if (endpoint->active_requests() > 0) retired_.push_back(std::move(endpoint));
}

}  // namespace mesh::upstream
