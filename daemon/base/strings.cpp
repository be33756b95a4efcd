#include "daemon/base/strings.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <vector>

#include <fmt/format.h>

namespace mesh::base {
namespace {

// Parses the leading decimal number (digits and at most one '.') of `text`.
std::optional<double> take_number(std::string_view& text) {
  size_t i = 0;
  bool dot = false;
  while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || (text[i] == '.' && !dot))) {
    dot = dot || text[i] == '.';
    ++i;
  }
  if (i == 0 || (i == 1 && dot)) return std::nullopt;
  double value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + i, value);
  if (ec != std::errc() || ptr != text.data() + i) return std::nullopt;
  text.remove_prefix(i);
  return value;
}

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t sub = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

}  // namespace

Result<Duration> parse_duration(std::string_view text) {
  auto bad = [&] {
    return fail(Errc::Invalid,
                fmt::format("invalid duration '{}': expected e.g. \"250ms\", \"2s\", \"1h30m\"", text));
  };
  if (text == "0") return Duration(0);
  std::string_view rest = text;
  if (rest.empty()) return bad();
  long double total_ns = 0;
  while (!rest.empty()) {
    auto number = take_number(rest);
    if (!number) return bad();
    size_t unit_len = 0;
    while (unit_len < rest.size() && std::isalpha(static_cast<unsigned char>(rest[unit_len]))) ++unit_len;
    std::string_view unit = rest.substr(0, unit_len);
    rest.remove_prefix(unit_len);
    long double scale;
    if (unit == "ns") scale = 1;
    else if (unit == "us" || unit == "µs") scale = 1e3;
    else if (unit == "ms") scale = 1e6;
    else if (unit == "s") scale = 1e9;
    else if (unit == "m") scale = 60e9;
    else if (unit == "h") scale = 3600e9;
    else return bad();
    total_ns += static_cast<long double>(*number) * scale;
  }
  if (total_ns > static_cast<long double>(INT64_MAX)) return bad();
  return Duration(static_cast<int64_t>(std::llround(total_ns)));
}

std::string format_duration(Duration d) {
  int64_t ns = d.count();
  if (ns == 0) return "0s";
  std::string out;
  if (ns < 0) {
    out = "-";
    ns = -ns;
  }
  if (ns % 1'000'000 != 0) {
    if (ns % 1000 == 0) return out + fmt::format("{}us", ns / 1000);
    return out + fmt::format("{}ns", ns);
  }
  int64_t ms = ns / 1'000'000;
  if (ms % 1000 != 0) return out + fmt::format("{}ms", ms);
  int64_t s = ms / 1000;
  int64_t h = s / 3600, m = (s % 3600) / 60, sec = s % 60;
  if (h) out += fmt::format("{}h", h);
  if (m) out += fmt::format("{}m", m);
  if (sec) out += fmt::format("{}s", sec);
  return out;
}

Result<uint64_t> parse_size(std::string_view text) {
  std::string_view rest = text;
  auto number = take_number(rest);
  auto bad = [&] {
    return fail(Errc::Invalid, fmt::format("invalid size '{}': expected e.g. 65536, \"64KiB\", \"1MiB\"", text));
  };
  if (!number) return bad();
  long double scale;
  if (rest.empty() || rest == "B") scale = 1;
  else if (rest == "KiB") scale = 1024.0L;
  else if (rest == "MiB") scale = 1024.0L * 1024;
  else if (rest == "GiB") scale = 1024.0L * 1024 * 1024;
  else if (rest == "KB") scale = 1e3;
  else if (rest == "MB") scale = 1e6;
  else if (rest == "GB") scale = 1e9;
  else return bad();
  long double bytes = static_cast<long double>(*number) * scale;
  if (bytes > 1e18L || bytes != std::floor(bytes)) return bad();
  return static_cast<uint64_t>(bytes);
}

std::optional<std::string_view> closest_match(std::string_view word,
                                              std::span<const std::string_view> candidates) {
  std::optional<std::string_view> best;
  size_t best_distance = SIZE_MAX;
  for (auto c : candidates) {
    size_t d = edit_distance(word, c);
    if (d < best_distance) {
      best_distance = d;
      best = c;
    }
  }
  // A typo is at most a third of the word wrong (and at least one edit is allowed).
  if (!best || best_distance > std::max<size_t>(1, word.size() / 3)) return std::nullopt;
  return best;
}

}  // namespace mesh::base
