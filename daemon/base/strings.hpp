#pragma once
// Small text helpers shared by the config and policy parsers: durations ("250ms", "2s",
// "1h30m"), byte sizes ("64KiB"), and "did you mean" suggestions for misspelt keys.
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "daemon/base/clock.hpp"
#include "daemon/base/result.hpp"

namespace mesh::base {

// Accepts a sequence of <number><unit> with units ns, us, ms, s, m, h (Go/Istio style);
// "0" alone is zero. Fractions are allowed ("1.5s").
Result<Duration> parse_duration(std::string_view text);
std::string format_duration(Duration d);  // shortest exact spelling: "250ms", "2s", "1h30m"

// Accepts a plain integer or <number><unit> with units B, KiB, MiB, GiB (and KB/MB/GB as 1000s).
Result<uint64_t> parse_size(std::string_view text);

// The candidate closest to `word` by edit distance, if it is close enough to be a likely typo.
std::optional<std::string_view> closest_match(std::string_view word,
                                              std::span<const std::string_view> candidates);

}  // namespace mesh::base
