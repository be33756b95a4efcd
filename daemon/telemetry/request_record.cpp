#include "daemon/telemetry/request_record.hpp"

#include <array>

namespace mesh::telemetry {
namespace {

constexpr std::array<std::string_view, kResponseFlagCount> kShortNames{
    "LH", "UH", "UT",   "LR",   "UR", "UF", "UC",    "UO",   "NR",   "DI", "FI",  "RL", "UAEX", "RLSE",
    "DC", "URX", "SI",  "IH",   "DPE", "UMSDR", "RFCF", "NFCF", "DT", "UPE", "NC", "OM", "DF"};

}  // namespace

std::string_view short_name(ResponseFlag f) {
  auto i = static_cast<size_t>(f);
  return i < kShortNames.size() ? kShortNames[i] : "-";
}

std::optional<ResponseFlag> parse_response_flag(std::string_view name) {
  for (size_t i = 0; i < kShortNames.size(); ++i) {
    if (kShortNames[i] == name) return static_cast<ResponseFlag>(i);
  }
  return std::nullopt;
}

void ResponseFlags::append_to(std::string& out) const {
  if (empty()) {
    out += '-';
    return;
  }
  bool first = true;
  for (size_t i = 0; i < kResponseFlagCount; ++i) {
    if (!has(static_cast<ResponseFlag>(i))) continue;
    if (!first) out += ',';
    first = false;
    out += kShortNames[i];
  }
}

std::string ResponseFlags::to_string() const {
  std::string out;
  append_to(out);
  return out;
}

std::string_view to_string(Reporter r) { return r == Reporter::Source ? "source" : "destination"; }

std::string_view to_string(RequestProtocol p) { return p == RequestProtocol::Grpc ? "grpc" : "http"; }

}  // namespace mesh::telemetry
