#pragma once
// MessageParser: a sans-I/O HTTP/1.1 request or response parser over llhttp. Bytes go in
// with feed(); it stops after each complete message so that pipelined bytes stay unconsumed
// until reset(). Limits on header bytes, header count and body size turn oversized input
// into an error with the status a server should answer (431, 413, 400). It buffers whole
// bodies: right for the admin API, wrong for a proxy (a streaming HTTP/1 codec producing
// RequestHead/ResponseHead is still to come). Header names come out in lower case, in the
// shared HeaderMap (message.hpp). One parser per connection, used by one thread.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tunnel/http/message.hpp"

namespace mesh::tunnel::http {

struct Message {
  // Requests
  std::string method;
  std::string target;
  // Responses
  int status = 0;
  std::string reason;
  // Both
  int version_minor = 1;
  HeaderMap headers;
  std::string body;
  bool keep_alive = true;

  // Case-insensitive lookup of the first header with that name.
  const std::string* header(std::string_view name) const { return headers.get(name); }
};

struct Limits {
  size_t max_header_bytes = 16 * 1024;  // request/status line + all headers
  size_t max_headers = 100;
  size_t max_body_bytes = 1 << 20;
};

class MessageParser {
 public:
  enum class Kind { Request, Response };
  enum class State { NeedMore, Complete, Error };

  MessageParser(Kind kind, Limits limits = {});
  MessageParser(const MessageParser&) = delete;
  MessageParser& operator=(const MessageParser&) = delete;
  ~MessageParser();

  // Consumes bytes up to the end of the current message; returns how many were consumed.
  size_t feed(std::string_view data);
  // The peer closed: completes a response delimited by EOF, or fails a partial message.
  State finish();

  State state() const { return state_; }
  const Message& message() const { return message_; }
  // After an Error: the status a server should answer with, and why.
  int error_status() const { return error_status_; }
  const std::string& error_reason() const { return error_reason_; }

  // Starts over for the next message on the same connection (keep-alive).
  void reset();

 private:
  struct Impl;
  friend struct Impl;
  void fail(int status, std::string reason);
  void commit_pending();

  std::unique_ptr<Impl> impl_;
  Kind kind_;
  Limits limits_;
  State state_ = State::NeedMore;
  Message message_;
  size_t header_bytes_ = 0;
  bool in_header_value_ = false;
  Header pending_;  // the field being received; added to the message once its value ends
  bool has_pending_ = false;
  int error_status_ = 0;
  std::string error_reason_;
};

// Serialises a response with Content-Length (and Connection: close unless keep_alive).
std::string format_response(int status, std::string_view reason, const HeaderMap& headers,
                            std::string_view body, bool keep_alive);
std::string format_request(std::string_view method, std::string_view target, const HeaderMap& headers,
                           std::string_view body);
std::string_view reason_phrase(int status);

}  // namespace mesh::tunnel::http
