#include "daemon/datapath/capture_options.hpp"

#include <string>

namespace mesh::datapath {

std::string_view to_string(CaptureMode mode) {
  switch (mode) {
    case CaptureMode::Auto: return "auto";
    case CaptureMode::Ebpf: return "ebpf";
    case CaptureMode::Nftables: return "nftables";
  }
  return "unknown";
}

base::Result<CaptureMode> parse_capture_mode(std::string_view text) {
  if (text == "auto") return CaptureMode::Auto;
  if (text == "ebpf") return CaptureMode::Ebpf;
  if (text == "nftables") return CaptureMode::Nftables;
  return base::fail(base::Errc::Invalid,
                    "capture mode must be auto, ebpf or nftables, not '" + std::string(text) + "'");
}

}  // namespace mesh::datapath
