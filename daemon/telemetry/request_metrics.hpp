#pragma once
// Istio's standard request metrics, fed from RequestRecords:
//   istio_requests_total                   counter
//   istio_request_duration_milliseconds    histogram, Istio's (= Envoy's default) buckets
// both with the labels reporter, source_workload, source_workload_namespace,
// source_principal, destination_workload, destination_workload_namespace,
// destination_principal, destination_service, request_protocol, response_code,
// grpc_response_status, response_flags. Empty names are written "unknown" (as Istio does);
// grpc_response_status is empty for plain HTTP.
//
// RequestMetrics owns one RequestRecorder per worker. A worker's recorder is written only by
// that worker: record() finds the request's series in a worker-local index and bumps
// per-thread counters (base::Counter) — no lock, no allocation once the series exists. A new
// series is allocated and then published to readers with a release store. collect() may run
// on any thread (the metrics scrape): it reads every recorder's published series, merges
// those with equal labels and writes the families through an Exposition. A scrape that races
// a record() may see that request in one family and not yet in the other.
//
// Cardinality protection: at most `max_series` series exist across all workers (a worker's
// copy of a label set counts once per worker). A request that would need a new series beyond
// the cap is not recorded in the istio_* families; it is counted in
// meshd_request_metrics_overflow_total instead. Series are never evicted (restart to reset).
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include "daemon/base/counter.hpp"
#include "daemon/telemetry/exposition.hpp"
#include "daemon/telemetry/request_record.hpp"

namespace mesh::telemetry {

// Upper bounds in milliseconds (Envoy's HistogramSettingsImpl::defaultBuckets, which Istio's
// request duration uses); +Inf is implied.
inline constexpr std::array<double, 19> kRequestDurationBucketsMs{
    0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000, 3600000};
inline constexpr size_t kDefaultMaxRequestSeries = 10'000;

namespace detail {
struct RequestSeries;
}

class RequestRecorder {
 public:
  RequestRecorder(const RequestRecorder&) = delete;
  RequestRecorder& operator=(const RequestRecorder&) = delete;
  ~RequestRecorder();

  // The owning worker only.
  void record(const RequestRecord& r);

  // Any thread.
  size_t series() const { return published_.load(std::memory_order_acquire); }
  uint64_t overflow() const { return overflow_.value(); }

 private:
  friend class RequestMetrics;
  RequestRecorder(std::atomic<size_t>& total_series, size_t max_series);
  const detail::RequestSeries* published(size_t i) const;

  std::atomic<size_t>& total_series_;
  size_t max_series_;
  // Written by the worker; slots [0, published_) are readable by any thread.
  std::unique_ptr<std::atomic<detail::RequestSeries*>[]> slots_;
  std::atomic<size_t> published_{0};
  // Worker-only: the series (owned) and label hash -> slot.
  std::vector<std::unique_ptr<detail::RequestSeries>> owned_;
  std::unordered_multimap<uint64_t, uint32_t> index_;
  base::Counter overflow_;
};

class RequestMetrics {
 public:
  explicit RequestMetrics(size_t workers, size_t max_series = kDefaultMaxRequestSeries);

  RequestRecorder& recorder(size_t worker);  // worker < the number given at construction
  // The families above plus meshd_request_metrics_series and
  // meshd_request_metrics_overflow_total. Any thread; register with Registry::add.
  void collect(Exposition& e) const;
  size_t series() const { return total_series_.load(std::memory_order_relaxed); }
  size_t max_series() const { return max_series_; }

 private:
  size_t max_series_;
  std::atomic<size_t> total_series_{0};
  std::vector<std::unique_ptr<RequestRecorder>> recorders_;
};

}  // namespace mesh::telemetry
