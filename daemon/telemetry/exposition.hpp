#pragma once
// Exposition: writes one scrape in the Prometheus text format 0.0.4 (HELP and TYPE once per
// family, then its samples, label values escaped). Families are written in the order they
// are declared. Not thread-safe: one Exposition per scrape.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mesh::telemetry {

enum class MetricType { Counter, Gauge, Histogram };

using Label = std::pair<std::string_view, std::string_view>;

struct HistogramData {
  std::span<const double> bounds;      // upper bounds, ascending, without +Inf
  std::span<const uint64_t> buckets;   // per-bucket counts (not cumulative), bounds.size() + 1
  double sum = 0;
};

class Exposition {
 public:
  // Starts a family. The name must be a valid metric name; counters end in _total.
  void family(std::string_view name, std::string_view help, MetricType type);
  void sample(std::initializer_list<Label> labels, double value);
  void sample(std::span<const Label> labels, double value);
  void histogram(std::span<const Label> labels, const HistogramData& data);

  const std::string& text() const { return out_; }
  std::string take() { return std::move(out_); }

 private:
  void write_series(std::string_view suffix, std::span<const Label> labels, const Label* extra, double value);

  std::string out_;
  std::string name_;
  MetricType type_ = MetricType::Gauge;
};

void append_escaped_label_value(std::string& out, std::string_view value);
void append_value(std::string& out, double value);

}  // namespace mesh::telemetry
