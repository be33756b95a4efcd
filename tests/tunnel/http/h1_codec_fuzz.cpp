// Fuzz target: arbitrary bytes into the HTTP/1 request or response decoder, once whole and
// once cut at input-chosen points, resuming after each paused message, then EOF. Must never
// crash, hang or read out of bounds; must never consume more than it was given nor emit
// more body bytes than the input holds; and the whole and the cut feed must agree on every
// event, the final state, the reason and (unless it failed) the unconsumed rest. Every
// decoded request head must also survive H1Encoder and a second decode unchanged.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "tests/tunnel/http/h1_recorder.hpp"
#include "tunnel/http/h1_codec.hpp"
#include "tunnel/http/h1_encoder.hpp"

using namespace mesh::tunnel::http;
using namespace mesh::tunnel::http::test;

namespace {

// Small limits that the input can reach; whole feeds spent in a head are bounded at
// 2 * max_header_bytes + max_request_line_bytes, kept above the input size so that bound
// (which depends on how the input is cut) cannot fire and the runs stay comparable.
constexpr size_t kMaxInput = 4096;
constexpr H1DecoderOptions kLimits{.max_header_bytes = 1536, .max_headers = 16, .max_request_line_bytes = 1024,
                           .max_body_bytes = 2048};

HeaderMap without_framing(HeaderMap h) {
  h.remove("content-length");
  h.remove("transfer-encoding");
  return h;
}

// A decoded request head, encoded again and decoded, must come back the same (in
// origin-form: the scheme of an absolute-form target is the one thing not carried).
void check_round_trip(const RequestHead& head) {
  H1Encoder encoder;
  std::string wire;
  if (!encoder.start_request(head, {.end_stream = true}, wire)) {
    if (!head.authority.empty()) std::abort();  // decoded fields never hold CR, LF or NUL
    return;
  }
  Recorder r;
  H1RequestDecoder decoder(r);  // default limits: the encoder may add host and content-length
  if (decoder.feed(wire) != wire.size() || r.requests.size() != 1) std::abort();
  const RequestHead& back = r.requests[0];
  if (back.method != head.method || back.authority != head.authority || back.path != head.path ||
      back.version != Version::Http11 || without_framing(back.headers) != without_framing(head.headers)) {
    std::abort();
  }
}

Run run(bool request, uint8_t methods, const std::vector<std::string_view>& pieces, size_t input_size) {
  static constexpr const char* kMethods[] = {"GET", "HEAD", "CONNECT", "POST"};
  Recorder r;
  H1RequestDecoder req(r, kLimits);
  H1ResponseDecoder resp(r, kLimits);
  for (int i = 0; i < 8; ++i) resp.expect(kMethods[(methods >> (i % 4 * 2)) & 3], (methods >> i) & 1);
  H1Decoder& d = request ? static_cast<H1Decoder&>(req) : resp;
  Run out = drive(d, r, pieces, /*eof=*/true);
  if (r.body.size() > input_size) std::abort();
  for (const RequestHead& head : r.requests) check_round_trip(head);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 4) return 0;
  bool request = data[0] & 1;
  uint8_t methods = data[1];
  std::string_view input(reinterpret_cast<const char*>(data) + 4, std::min(size - 4, kMaxInput));
  size_t a = input.empty() ? 0 : data[2] * input.size() / 256;
  size_t b = input.empty() ? 0 : a + data[3] * (input.size() - a) / 256;
  Run whole_run = run(request, methods, {input}, input.size());
  Run cut_run = run(request, methods, {input.substr(0, a), input.substr(a, b - a), input.substr(b)}, input.size());
  // After an error the decoder stops where it noticed, which may depend on the cut; the
  // events before it, the state and the reason may not.
  if (whole_run.state == H1DecoderState::Error) cut_run.rest = whole_run.rest;
  if (!(whole_run == cut_run)) std::abort();
  if (whole_run.rest.size() > input.size()) std::abort();
  return 0;
}
