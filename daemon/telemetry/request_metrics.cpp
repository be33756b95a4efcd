#include "daemon/telemetry/request_metrics.hpp"

#include <algorithm>
#include <compare>
#include <functional>
#include <map>
#include <string>
#include <string_view>

#include "daemon/base/check.hpp"

namespace mesh::telemetry {
namespace detail {

constexpr size_t kNames = 7;  // the workload, namespace, principal and service labels
constexpr size_t kBuckets = kRequestDurationBucketsMs.size() + 1;

struct SeriesKey {
  Reporter reporter;
  RequestProtocol protocol;
  uint16_t response_code;
  int16_t grpc_status;  // -1: none
  uint32_t flags;
  std::array<std::string, kNames> names;
  auto operator<=>(const SeriesKey&) const = default;
};

struct RequestSeries {
  explicit RequestSeries(SeriesKey k) : key(std::move(k)) {}
  const SeriesKey key;
  base::Counter requests;
  std::array<base::Counter, kBuckets> buckets;
  base::Counter duration_ns;
};

}  // namespace detail

namespace {

using detail::kBuckets;
using detail::kNames;
using detail::RequestSeries;
using detail::SeriesKey;

constexpr std::string_view kUnknown = "unknown";

constexpr std::array<int64_t, kRequestDurationBucketsMs.size()> bounds_ns() {
  std::array<int64_t, kRequestDurationBucketsMs.size()> out{};
  for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<int64_t>(kRequestDurationBucketsMs[i] * 1e6);
  return out;
}
constexpr auto kBoundsNs = bounds_ns();

// The labels of a record, borrowed from it; empty names read "unknown".
struct KeyView {
  Reporter reporter;
  RequestProtocol protocol;
  uint16_t response_code;
  int16_t grpc_status;
  uint32_t flags;
  std::array<std::string_view, kNames> names;
};

std::string_view or_unknown(const std::string& s) { return s.empty() ? kUnknown : std::string_view(s); }

KeyView view_of(const RequestRecord& r) {
  return KeyView{r.reporter,
                 r.request_protocol,
                 r.response_code,
                 static_cast<int16_t>(r.grpc_status ? *r.grpc_status : -1),
                 r.response_flags.bits(),
                 {or_unknown(r.source.workload), or_unknown(r.source.workload_namespace), or_unknown(r.source.principal),
                  or_unknown(r.destination.workload), or_unknown(r.destination.workload_namespace),
                  or_unknown(r.destination.principal), or_unknown(r.destination_service)}};
}

uint64_t hash_of(const KeyView& v) {
  uint64_t h = (uint64_t{static_cast<uint8_t>(v.reporter)} << 56) ^ (uint64_t{static_cast<uint8_t>(v.protocol)} << 48) ^
               (uint64_t{v.response_code} << 32) ^ (uint64_t{static_cast<uint16_t>(v.grpc_status)} << 16) ^ v.flags;
  for (auto name : v.names) h = (h ^ std::hash<std::string_view>{}(name)) * 0x100000001b3ULL;
  return h;
}

bool matches(const SeriesKey& k, const KeyView& v) {
  if (k.reporter != v.reporter || k.protocol != v.protocol || k.response_code != v.response_code ||
      k.grpc_status != v.grpc_status || k.flags != v.flags) {
    return false;
  }
  for (size_t i = 0; i < kNames; ++i) {
    if (k.names[i] != v.names[i]) return false;
  }
  return true;
}

size_t bucket_of(int64_t ns) {
  return static_cast<size_t>(std::lower_bound(kBoundsNs.begin(), kBoundsNs.end(), ns) - kBoundsNs.begin());
}

}  // namespace

RequestRecorder::RequestRecorder(std::atomic<size_t>& total_series, size_t max_series)
    : total_series_(total_series),
      max_series_(max_series),
      slots_(std::make_unique<std::atomic<RequestSeries*>[]>(max_series)) {}

RequestRecorder::~RequestRecorder() = default;

const RequestSeries* RequestRecorder::published(size_t i) const { return slots_[i].load(std::memory_order_relaxed); }

void RequestRecorder::record(const RequestRecord& r) {
  KeyView v = view_of(r);
  uint64_t h = hash_of(v);
  RequestSeries* series = nullptr;
  auto range = index_.equal_range(h);
  for (auto it = range.first; it != range.second; ++it) {
    RequestSeries* candidate = slots_[it->second].load(std::memory_order_relaxed);
    if (matches(candidate->key, v)) {
      series = candidate;
      break;
    }
  }
  if (series == nullptr) {
    size_t n = published_.load(std::memory_order_relaxed);
    if (n >= max_series_ || total_series_.fetch_add(1, std::memory_order_relaxed) >= max_series_) {
      if (n < max_series_) total_series_.fetch_sub(1, std::memory_order_relaxed);
      overflow_.inc();
      return;
    }
    SeriesKey key{v.reporter, v.protocol, v.response_code, v.grpc_status, v.flags, {}};
    for (size_t i = 0; i < kNames; ++i) key.names[i].assign(v.names[i]);
    owned_.push_back(std::make_unique<RequestSeries>(std::move(key)));
    series = owned_.back().get();
    slots_[n].store(series, std::memory_order_relaxed);
    index_.emplace(h, static_cast<uint32_t>(n));
    published_.store(n + 1, std::memory_order_release);
  }
  int64_t ns = std::max<int64_t>(0, r.duration.count());
  series->requests.inc();
  series->buckets[bucket_of(ns)].inc();
  series->duration_ns.inc(static_cast<uint64_t>(ns));
}

RequestMetrics::RequestMetrics(size_t workers, size_t max_series) : max_series_(max_series) {
  recorders_.reserve(workers);
  for (size_t i = 0; i < workers; ++i) {
    recorders_.push_back(std::unique_ptr<RequestRecorder>(new RequestRecorder(total_series_, max_series)));
  }
}

RequestRecorder& RequestMetrics::recorder(size_t worker) {
  MESH_CHECK(worker < recorders_.size());
  return *recorders_[worker];
}

namespace {

struct Merged {
  uint64_t requests = 0;
  uint64_t duration_ns = 0;
  std::array<uint64_t, kBuckets> buckets{};
};

struct KeyLess {
  bool operator()(const SeriesKey* a, const SeriesKey* b) const { return *a < *b; }
};

// The twelve labels of one series, in Istio's order; `scratch` holds the rendered numbers.
struct SeriesLabels {
  std::array<std::string, 3> scratch;
  std::array<Label, 12> labels;

  explicit SeriesLabels(const SeriesKey& k) {
    scratch[0] = std::to_string(k.response_code);
    if (k.grpc_status >= 0) scratch[1] = std::to_string(k.grpc_status);
    ResponseFlags::from_bits(k.flags).append_to(scratch[2]);
    labels = {Label{"reporter", to_string(k.reporter)},
              {"source_workload", k.names[0]},
              {"source_workload_namespace", k.names[1]},
              {"source_principal", k.names[2]},
              {"destination_workload", k.names[3]},
              {"destination_workload_namespace", k.names[4]},
              {"destination_principal", k.names[5]},
              {"destination_service", k.names[6]},
              {"request_protocol", to_string(k.protocol)},
              {"response_code", scratch[0]},
              {"grpc_response_status", scratch[1]},
              {"response_flags", scratch[2]}};
  }
};

}  // namespace

void RequestMetrics::collect(Exposition& e) const {
  std::map<const SeriesKey*, Merged, KeyLess> merged;
  size_t series = 0;
  uint64_t overflow = 0;
  for (const auto& rec : recorders_) {
    size_t n = rec->series();
    series += n;
    overflow += rec->overflow();
    for (size_t i = 0; i < n; ++i) {
      const RequestSeries* s = rec->published(i);
      Merged& m = merged[&s->key];
      m.requests += s->requests.value();
      m.duration_ns += s->duration_ns.value();
      for (size_t b = 0; b < kBuckets; ++b) m.buckets[b] += s->buckets[b].value();
    }
  }
  std::vector<SeriesLabels> labels;
  labels.reserve(merged.size());
  for (const auto& entry : merged) labels.emplace_back(*entry.first);

  e.family("istio_requests_total", "Requests handled, by reporter, peers, service, protocol and outcome.",
           MetricType::Counter);
  size_t i = 0;
  for (const auto& entry : merged) e.sample(labels[i++].labels, static_cast<double>(entry.second.requests));
  e.family("istio_request_duration_milliseconds", "Request duration, from its first byte to the response's last.",
           MetricType::Histogram);
  i = 0;
  for (const auto& entry : merged) {
    e.histogram(labels[i++].labels, HistogramData{kRequestDurationBucketsMs, entry.second.buckets,
                                                  static_cast<double>(entry.second.duration_ns) / 1e6});
  }
  e.family("meshd_request_metrics_series", "Request metric series held, summed over workers.", MetricType::Gauge);
  e.sample({}, static_cast<double>(series));
  e.family("meshd_request_metrics_series_limit", "The cap on request metric series (cardinality protection).",
           MetricType::Gauge);
  e.sample({}, static_cast<double>(max_series_));
  e.family("meshd_request_metrics_overflow_total",
           "Requests left out of the istio_request* metrics because the series cap was reached.",
           MetricType::Counter);
  e.sample({}, static_cast<double>(overflow));
}

}  // namespace mesh::telemetry
