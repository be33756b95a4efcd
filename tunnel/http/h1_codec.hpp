#pragma once
// The streaming HTTP/1.1 decoders over llhttp (strict mode, no lenient flags), sans-I/O.
// H1RequestDecoder (server side) and H1ResponseDecoder (client side) turn bytes fed in any
// split into events carrying the shared message types (RequestHead, ResponseHead, HeaderMap,
// Trailers), so routing never sees the version. Bodies are streamed as views into the fed
// bytes, never buffered. A decoder stops after each message (by default) so a proxy handles
// one request at a time, and after an Upgrade or CONNECT head so a byte relay can take the
// rest of the input untouched. Malformed or oversized input puts it in a terminal Error state
// with a reason (H1Error) the caller maps to a status and counts; it never throws. One
// decoder per connection direction, used by one thread; events must not call back into it.
#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>

#include "tunnel/http/message.hpp"

namespace mesh::tunnel::http {

// Why a message was rejected. Each is distinct so that it can be counted.
enum class H1Error : uint8_t {
  None,
  Malformed,                          // any other syntax error
  InvalidMethod,                      // not a method llhttp knows
  InvalidTarget,                      // bad request-target (or absolute-form scheme/authority)
  RequestLineTooLong,                 // target over max_request_line_bytes (414)
  UnsupportedVersion,                 // not HTTP/1.0 or HTTP/1.1 (505)
  Http2Preface,                       // "PRI * HTTP/2.0": HTTP/2 sent to an HTTP/1 decoder
  InvalidStatus,
  InvalidHeaderName,
  InvalidHeaderValue,
  BareCr,                             // CR not followed by LF
  ObsFold,                            // a header line continued on the next line
  HeadersTooLarge,                    // over max_header_bytes (431)
  TooManyHeaders,                     // over max_headers (431)
  MissingHost,                        // HTTP/1.1 origin-form without Host
  MultipleHost,
  InvalidHost,
  HostMismatch,                       // absolute-form or CONNECT target and Host disagree
  ContentLengthWithTransferEncoding,  // smuggling
  DuplicateContentLength,             // smuggling (also identical duplicates)
  InvalidContentLength,
  UnsupportedTransferEncoding,        // anything but a single "chunked" (501)
  TransferEncodingOnHttp10,           // RFC 9112 §6.1: faulty framing
  InvalidChunk,
  BodyTooLarge,                       // over max_body_bytes (413)
  UnexpectedResponse,                 // no request outstanding, or a 101 nobody asked for
  TruncatedMessage,                   // the peer closed mid-message
};
inline constexpr size_t kH1ErrorCount = static_cast<size_t>(H1Error::TruncatedMessage) + 1;

std::string_view to_string(H1Error e);
// The status a server answers a request rejected for `e` (400, 413, 414, 431, 501, 505).
// For a response the decoder rejected, a proxy answers its client 502 whatever the reason.
int status_for(H1Error e);

// Per-reason error counters; a worker owns one and hands it to its decoders.
struct H1ErrorCounts {
  std::array<uint64_t, kH1ErrorCount> by_reason{};
  uint64_t operator[](H1Error e) const { return by_reason[static_cast<size_t>(e)]; }
};

struct H1DecoderOptions {
  // Envoy's max_request_headers_kb: target + names + values. Whole feeds spent inside a
  // head (blanks llhttp skips) are bounded too, at 2 * this + max_request_line_bytes.
  size_t max_header_bytes = 60 * 1024;
  size_t max_headers = 100;               // Envoy's max_headers_count (trailers counted apart)
  size_t max_request_line_bytes = 16 * 1024;  // the request-target
  uint64_t max_body_bytes = UINT64_MAX;   // declared or streamed; unlimited by default
  bool pause_after_message = true;        // stop after each message until resume()
};

enum class H1BodyFraming : uint8_t { None, ContentLength, Chunked, UntilClose };

// What the head says about the message beyond the head itself.
struct H1MessageInfo {
  bool keep_alive = true;       // as far as the head tells (Connection, version)
  bool expect_continue = false;  // request: HTTP/1.1 with Expect: 100-continue
  bool connect = false;          // a CONNECT request, or a 2xx answering one
  std::string upgrade;           // the Upgrade field when the message asks/agrees to switch
  H1BodyFraming framing = H1BodyFraming::None;
  uint64_t content_length = 0;   // when framing is ContentLength
};

class H1DecoderEvents {
 public:
  virtual ~H1DecoderEvents() = default;
  // A piece of the body: a view into the bytes being fed, valid only during the call.
  virtual void on_body(std::string_view chunk) = 0;
  virtual void on_trailers(Trailers trailers) = 0;  // chunked only, before on_message_complete
  virtual void on_message_complete() = 0;
};

class H1RequestEvents : public H1DecoderEvents {
 public:
  virtual void on_request_head(RequestHead head, const H1MessageInfo& info) = 0;
};

class H1ResponseEvents : public H1DecoderEvents {
 public:
  virtual void on_informational(ResponseHead head) = 0;  // 100, 102, 103: the final one follows
  virtual void on_response_head(ResponseHead head, const H1MessageInfo& info) = 0;
};

enum class H1DecoderState : uint8_t {
  Parsing,          // feed() more
  MessageComplete,  // paused after a keep-alive message; resume() to decode the next
  Upgraded,         // Upgrade/CONNECT head done: the unconsumed bytes belong to the relay
  Closed,           // the last message said close (or EOF): nothing more to decode
  Error,            // terminal; error() says why
};

// The llhttp driver both decoders share; the subclasses supply head handling.
class H1Decoder {
 public:
  H1Decoder(const H1Decoder&) = delete;
  H1Decoder& operator=(const H1Decoder&) = delete;
  virtual ~H1Decoder();

  // Decodes as much of `data` as it may; returns the bytes consumed. Stops early after a
  // message (paused), at an upgrade, at close or at an error: keep the rest and feed it again
  // after resume() (or hand it to the relay when Upgraded). After an Error the count is
  // only where the decoder noticed; the connection is to be closed.
  size_t feed(std::string_view data);
  // MessageComplete -> Parsing (the next message). Upgraded -> Parsing: the upgrade was
  // declined (no 101 / non-2xx to CONNECT), the connection goes on as HTTP/1.1.
  void resume();
  // The peer closed its side: completes a close-delimited response, fails a partial message.
  H1DecoderState finish();

  H1DecoderState state() const { return state_; }
  H1Error error() const { return error_; }
  // Whether the connection may carry another message after the current/last one.
  bool keep_alive() const { return keep_alive_; }
  uint64_t messages() const { return messages_; }

 protected:
  enum class Kind : uint8_t { Request, Response };
  H1Decoder(Kind kind, H1DecoderEvents& events, H1DecoderOptions options, H1ErrorCounts* counts);

  // Called when the head is complete; returns llhttp's on_headers_complete answer
  // (0 body may follow, 1 no body, 2 no body and upgrade) or -1 after fail().
  virtual int head_complete(H1MessageInfo& info) = 0;
  // After on_message_complete (not for informational responses).
  virtual void message_done() {}

  void fail(H1Error e);
  // The head being decoded: start line pieces and fields (names lower case, values trimmed).
  std::string target_;
  HeaderMap fields_;
  int version_minor_ = 1;
  int status_ = 0;
  uint8_t method_ = 0;  // llhttp_method_t
  bool upgrade_ = false;  // llhttp saw CONNECT or Connection: upgrade with Upgrade
  bool connection_keep_alive_ = true;  // what Connection and the version say
  bool informational_ = false;  // a 1xx response: no body, not the final response

 private:
  struct Impl;
  friend struct Impl;
  void start_message();
  size_t after_execute(int err, std::string_view data);
  H1Error map_llhttp_error(int err, std::string_view data) const;
  void remember_tail(std::string_view consumed);

  std::unique_ptr<Impl> impl_;
  Kind kind_;
  H1DecoderEvents& events_;
  H1DecoderOptions options_;
  H1ErrorCounts* counts_;
  H1DecoderState state_ = H1DecoderState::Parsing;
  H1Error error_ = H1Error::None;
  bool keep_alive_ = true;
  uint64_t messages_ = 0;
};

class H1RequestDecoder : public H1Decoder {
 public:
  explicit H1RequestDecoder(H1RequestEvents& events, H1DecoderOptions options = {}, H1ErrorCounts* counts = nullptr)
      : H1Decoder(Kind::Request, events, options, counts), events_(events) {}

 private:
  int head_complete(H1MessageInfo& info) override;
  H1RequestEvents& events_;
};

class H1ResponseDecoder : public H1Decoder {
 public:
  explicit H1ResponseDecoder(H1ResponseEvents& events, H1DecoderOptions options = {}, H1ErrorCounts* counts = nullptr)
      : H1Decoder(Kind::Response, events, options, counts), events_(events) {}

  // Queues the request the next response answers (call as each request is sent): its
  // method (HEAD and CONNECT change the framing) and whether it asked for an Upgrade.
  void expect(std::string_view method, bool upgrade_requested = false);
  size_t outstanding() const { return pending_.size(); }

 private:
  struct Pending {
    std::string method;
    bool upgrade = false;
  };
  int head_complete(H1MessageInfo& info) override;
  void message_done() override;
  H1ResponseEvents& events_;
  std::deque<Pending> pending_;
};

}  // namespace mesh::tunnel::http
