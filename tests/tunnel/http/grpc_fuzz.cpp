// Fuzz target: the grpc-timeout and grpc-message parsers on arbitrary bytes. A timeout that
// parses re-encodes to something that parses to no less; an encoded message is printable
// ASCII and decodes back to the original; decoding never grows its input.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "tunnel/http/grpc.hpp"

using namespace mesh::tunnel::http;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  if (auto d = parse_grpc_timeout(input)) {
    auto again = parse_grpc_timeout(encode_grpc_timeout(*d));
    if (!again || *again < *d) std::abort();
  }
  (void)parse_grpc_status(input);
  (void)is_grpc(input);
  std::string encoded = percent_encode_grpc_message(input);
  for (char c : encoded) {
    if (c < 0x20 || c > 0x7e) std::abort();
  }
  if (percent_decode_grpc_message(encoded) != input) std::abort();
  if (percent_decode_grpc_message(input).size() > input.size()) std::abort();
  return 0;
}
