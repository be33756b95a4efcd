// Fuzz target: protocol detection is stable. For arbitrary bytes and an input-chosen limit,
// the answer for every prefix either is NeedMore or equals the answer for the whole input,
// and once some prefix is decided every longer one gives that same answer.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "tunnel/http/sniff.hpp"

using namespace mesh::tunnel::http;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  size_t limit = 16 + data[0];  // small limits reach the bound; below 24 is raised to 24
  std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  Sniffed whole = sniff(input, limit);
  Sniffed decided = Sniffed::NeedMore;
  for (size_t n = 0; n <= input.size(); ++n) {
    Sniffed now = sniff(input.substr(0, n), limit);
    if (decided != Sniffed::NeedMore && now != decided) std::abort();
    if (now != Sniffed::NeedMore && now != whole) std::abort();
    decided = now;
  }
  if (whole == Sniffed::NeedMore && input.size() >= 24 && input.size() >= limit) std::abort();
  return 0;
}
