#pragma once
// H2Options: the HTTP/2 settings and limits of one connection. Defaults follow ztunnel
// (reference/ztunnel.md §1.8): stream window 4 MiB, connection window 16 MiB, max frame
// 1 MiB, header list 16 KiB (client) / 64 KiB (server), 200 concurrent streams on a server,
// 100 streams per pooled client connection, push disabled. Flood limits are token buckets
// (a burst, refilled at a rate per second of the injected Clock) per frame kind; running
// out closes that connection with a ConnectionFailure naming the frame kind.
#include <cstddef>
#include <cstdint>

namespace mesh::tunnel::http {

struct TokenBucketLimit {
  double burst;
  double per_second;
};

struct FloodLimits {
  TokenBucketLimit settings{64, 4};      // non-ACK SETTINGS frames
  TokenBucketLimit ping{64, 4};          // non-ACK PINGs (ztunnel pings every 10 s)
  TokenBucketLimit ignored{256, 64};     // PRIORITY and unknown frame types (dropped, but cost work)
  TokenBucketLimit empty_data{256, 64};  // zero-length DATA without END_STREAM
  TokenBucketLimit resets{1000, 100};    // RST_STREAM frames received
  TokenBucketLimit refused{256, 64};     // streams we refuse (over the limit, while draining)
  uint32_t max_continuations = 8;        // CONTINUATION frames per header block
  uint32_t max_outbound_acks = 1000;     // queued SETTINGS/PING ACKs the peer is not reading
};

struct H2Options {
  uint32_t stream_window = 4 << 20;
  uint32_t connection_window = 16 << 20;
  uint32_t max_frame_size = 1 << 20;           // SETTINGS_MAX_FRAME_SIZE we accept
  uint32_t max_header_list = 16 << 10;         // SETTINGS_MAX_HEADER_LIST_SIZE, enforced on receipt
  uint32_t max_concurrent_streams = 100;       // server: advertised; client: streams per connection
  size_t max_data_frame = 64 << 10;            // payload per DATA frame we send (≤ peer's max frame)
  size_t stream_send_buffer = 1 << 20;         // write() asks the caller to pause above this
  size_t output_budget = 256 << 10;            // flush() stops once the sink holds this much
  FloodLimits flood;

  static H2Options client() { return H2Options{}; }
  static H2Options server() {
    H2Options o;
    o.max_header_list = 64 << 10;
    o.max_concurrent_streams = 200;
    return o;
  }
};

}  // namespace mesh::tunnel::http
