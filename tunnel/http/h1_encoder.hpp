#pragma once
// H1Encoder: serialises one HTTP/1.1 message from the shared types (RequestHead or
// ResponseHead, body pieces, trailers) and chooses its body framing: Content-Length when
// the length is known, else chunked, else (a response to an HTTP/1.0 client) delimited by
// closing the connection. The encoder owns framing: Content-Length, Transfer-Encoding and
// Host in the head's map are ignored (Host is written from authority). Output is appended
// to a std::string: heads are small, the caller's byte channel copies what it is given into
// its own send queue anyway, and one contiguous buffer is one write; a ByteQueue here would
// be a second queue in front of that one. strip_hop_by_hop() prepares a map that came from
// another connection (RFC 9110 §7.6.1). One encoder per message, reusable after start_*().
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "tunnel/http/h1_codec.hpp"
#include "tunnel/http/message.hpp"

namespace mesh::tunnel::http {

// Removes Connection and every field it names, Keep-Alive, Proxy-Connection,
// Transfer-Encoding, TE (kept as "te: trailers" when it lists trailers, as HTTP/2 allows)
// and Upgrade. With keep_upgrade, Upgrade stays and Connection becomes "upgrade", for
// forwarding a WebSocket handshake. Returns how many fields were removed (a te or
// connection field rewritten in place counts as kept).
size_t strip_hop_by_hop(HeaderMap& headers, bool keep_upgrade = false);

struct H1EncodeOptions {
  std::optional<uint64_t> content_length;  // the body's length when known
  bool end_stream = false;                 // the head is the whole message
  bool keep_alive = true;                  // false adds Connection: close
};

class H1Encoder {
 public:
  // Request line in origin-form (authority-form for CONNECT), Host from authority.
  // Returns false (writing nothing) when a field holds CR, LF or NUL, a name is empty, or
  // the authority is (an http request needs one: fill it in, e.g. from the destination).
  [[nodiscard]] bool start_request(const RequestHead& head, const H1EncodeOptions& options, std::string& out);
  // `request_method` decides HEAD/CONNECT framing; `peer` is the client's version (no
  // chunked to HTTP/1.0: the body is then delimited by close).
  [[nodiscard]] bool start_response(const ResponseHead& head, std::string_view request_method, Version peer,
                                    const H1EncodeOptions& options, std::string& out);
  // A body piece, framed as the head decided (empty pieces write nothing).
  void body(std::string_view chunk, std::string& out);
  // Ends the body: the last chunk and the trailers for chunked framing; trailers are dropped
  // for other framings (HTTP/1 has no place for them). False when a trailer is invalid.
  [[nodiscard]] bool finish(const Trailers* trailers, std::string& out);

  H1BodyFraming framing() const { return framing_; }
  // Body pieces go out unchanged (Content-Length or close-delimited framing): a caller may
  // write them straight to its transport instead of through body().
  bool passes_through() const {
    return !no_body_ && (framing_ == H1BodyFraming::ContentLength || framing_ == H1BodyFraming::UntilClose);
  }
  // The connection must be closed after this message (close-delimited or Connection: close).
  bool close_after() const { return close_after_; }

 private:
  bool write_fields(const HeaderMap& headers, std::string& out) const;
  void write_framing(const H1EncodeOptions& options, bool may_chunk, std::string& out);

  H1BodyFraming framing_ = H1BodyFraming::None;
  bool close_after_ = false;
  bool no_body_ = false;
};

}  // namespace mesh::tunnel::http
