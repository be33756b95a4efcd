#include "daemon/telemetry/exposition.hpp"

#include <array>

#include <doctest/doctest.h>

using namespace mesh::telemetry;

TEST_CASE("a family is written once with its samples in text format 0.0.4") {
  Exposition e;
  e.family("meshd_connections_opened_total", "Connections accepted.", MetricType::Counter);
  e.sample({{"relay", "web"}}, 3);
  e.sample({{"relay", "db"}}, 0);
  e.family("meshd_up", "Always 1.", MetricType::Gauge);
  e.sample({}, 1);
  CHECK(e.text() ==
        "# HELP meshd_connections_opened_total Connections accepted.\n"
        "# TYPE meshd_connections_opened_total counter\n"
        "meshd_connections_opened_total{relay=\"web\"} 3\n"
        "meshd_connections_opened_total{relay=\"db\"} 0\n"
        "# HELP meshd_up Always 1.\n"
        "# TYPE meshd_up gauge\n"
        "meshd_up 1\n");
}

TEST_CASE("label values and help text are escaped") {
  Exposition e;
  e.family("m", "a \\ b\nc", MetricType::Gauge);
  e.sample({{"v", "q\"u\\o\nte"}}, 1.5);
  CHECK(e.text() == "# HELP m a \\\\ b\\nc\n# TYPE m gauge\nm{v=\"q\\\"u\\\\o\\nte\"} 1.5\n");
}

TEST_CASE("a histogram writes cumulative buckets, sum and count") {
  Exposition e;
  e.family("d_ms", "Durations.", MetricType::Histogram);
  std::array<double, 2> bounds{1, 5};
  std::array<uint64_t, 3> buckets{2, 1, 4};
  std::array<Label, 1> labels{Label{"r", "x"}};
  e.histogram(labels, HistogramData{bounds, buckets, 42.5});
  CHECK(e.text() ==
        "# HELP d_ms Durations.\n# TYPE d_ms histogram\n"
        "d_ms_bucket{r=\"x\",le=\"1\"} 2\n"
        "d_ms_bucket{r=\"x\",le=\"5\"} 3\n"
        "d_ms_bucket{r=\"x\",le=\"+Inf\"} 7\n"
        "d_ms_sum{r=\"x\"} 42.5\n"
        "d_ms_count{r=\"x\"} 7\n");
}

TEST_CASE("special values are spelled as Prometheus expects") {
  std::string out;
  append_value(out, 1.0 / 0.0);
  out += ' ';
  append_value(out, 1234567);
  out += ' ';
  append_value(out, 0.25);
  CHECK(out == "+Inf 1234567 0.25");
}
