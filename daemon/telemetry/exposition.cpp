#include "daemon/telemetry/exposition.hpp"

#include <cmath>

#include <fmt/format.h>

#include "daemon/base/check.hpp"

namespace mesh::telemetry {
namespace {

std::string_view type_name(MetricType t) {
  switch (t) {
    case MetricType::Counter: return "counter";
    case MetricType::Gauge: return "gauge";
    case MetricType::Histogram: return "histogram";
  }
  return "untyped";
}

void append_help(std::string& out, std::string_view help) {
  for (char c : help) {
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
}

}  // namespace

void append_escaped_label_value(std::string& out, std::string_view value) {
  for (char c : value) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
}

void append_value(std::string& out, double value) {
  if (std::isnan(value)) out += "NaN";
  else if (std::isinf(value)) out += value > 0 ? "+Inf" : "-Inf";
  else if (value == std::floor(value) && std::fabs(value) < 1e15) fmt::format_to(std::back_inserter(out), "{}", static_cast<int64_t>(value));
  else fmt::format_to(std::back_inserter(out), "{}", value);
}

void Exposition::family(std::string_view name, std::string_view help, MetricType type) {
  MESH_CHECK(!name.empty());
  name_.assign(name);
  type_ = type;
  fmt::format_to(std::back_inserter(out_), "# HELP {} ", name);
  append_help(out_, help);
  fmt::format_to(std::back_inserter(out_), "\n# TYPE {} {}\n", name, type_name(type));
}

void Exposition::write_series(std::string_view suffix, std::span<const Label> labels, const Label* extra, double value) {
  out_ += name_;
  out_ += suffix;
  if (!labels.empty() || extra != nullptr) {
    out_ += '{';
    bool first = true;
    auto put = [&](const Label& l) {
      if (!first) out_ += ',';
      first = false;
      out_ += l.first;
      out_ += "=\"";
      append_escaped_label_value(out_, l.second);
      out_ += '"';
    };
    for (const auto& l : labels) put(l);
    if (extra != nullptr) put(*extra);
    out_ += '}';
  }
  out_ += ' ';
  append_value(out_, value);
  out_ += '\n';
}

void Exposition::sample(std::initializer_list<Label> labels, double value) {
  sample(std::span<const Label>(labels.begin(), labels.size()), value);
}

void Exposition::sample(std::span<const Label> labels, double value) {
  MESH_CHECK(type_ != MetricType::Histogram);
  write_series("", labels, nullptr, value);
}

void Exposition::histogram(std::span<const Label> labels, const HistogramData& data) {
  MESH_CHECK(type_ == MetricType::Histogram && data.buckets.size() == data.bounds.size() + 1);
  uint64_t cumulative = 0;
  std::string le;
  for (size_t i = 0; i <= data.bounds.size(); ++i) {
    cumulative += data.buckets[i];
    le.clear();
    if (i < data.bounds.size()) append_value(le, data.bounds[i]);
    else le = "+Inf";
    Label extra{"le", le};
    write_series("_bucket", labels, &extra, static_cast<double>(cumulative));
  }
  write_series("_sum", labels, nullptr, data.sum);
  write_series("_count", labels, nullptr, static_cast<double>(cumulative));
}

}  // namespace mesh::telemetry
