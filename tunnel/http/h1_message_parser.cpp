#include "tunnel/http/h1_message_parser.hpp"

#include <fmt/format.h>
#include <llhttp.h>

namespace mesh::tunnel::http {

struct MessageParser::Impl {
  llhttp_t parser;
  llhttp_settings_t settings;
  MessageParser* self;

  static MessageParser& owner(llhttp_t* p) { return *static_cast<Impl*>(p->data)->self; }

  // Counts header-section bytes against the limit; returns false (and fails) past it.
  static bool charge_header(llhttp_t* p, size_t n) {
    MessageParser& m = owner(p);
    m.header_bytes_ += n;
    if (m.header_bytes_ > m.limits_.max_header_bytes) {
      m.fail(431, "request header section too large");
      return false;
    }
    return true;
  }

  static int on_method(llhttp_t* p, const char* at, size_t n) {
    if (!charge_header(p, n)) return HPE_USER;
    owner(p).message_.method.append(at, n);
    return HPE_OK;
  }
  static int on_url(llhttp_t* p, const char* at, size_t n) {
    if (!charge_header(p, n)) return HPE_USER;
    owner(p).message_.target.append(at, n);
    return HPE_OK;
  }
  static int on_status(llhttp_t* p, const char* at, size_t n) {
    if (!charge_header(p, n)) return HPE_USER;
    owner(p).message_.reason.append(at, n);
    return HPE_OK;
  }
  static int on_header_field(llhttp_t* p, const char* at, size_t n) {
    if (!charge_header(p, n)) return HPE_USER;
    MessageParser& m = owner(p);
    if (m.in_header_value_ || !m.has_pending_) {
      m.commit_pending();
      if (m.message_.headers.size() >= m.limits_.max_headers) {
        m.fail(431, "too many headers");
        return HPE_USER;
      }
      m.has_pending_ = true;
      m.in_header_value_ = false;
    }
    m.pending_.name.append(at, n);
    return HPE_OK;
  }
  static int on_header_value(llhttp_t* p, const char* at, size_t n) {
    if (!charge_header(p, n)) return HPE_USER;
    MessageParser& m = owner(p);
    m.in_header_value_ = true;
    m.pending_.value.append(at, n);
    return HPE_OK;
  }
  static int on_headers_complete(llhttp_t* p) {
    MessageParser& m = owner(p);
    m.commit_pending();
    m.message_.version_minor = llhttp_get_http_minor(p);
    m.message_.status = m.kind_ == Kind::Response ? llhttp_get_status_code(p) : 0;
    if (p->content_length > m.limits_.max_body_bytes && (p->flags & F_CONTENT_LENGTH)) {
      m.fail(413, "body too large");
      return -1;  // llhttp: -1 from on_headers_complete is an error
    }
    return HPE_OK;
  }
  static int on_body(llhttp_t* p, const char* at, size_t n) {
    MessageParser& m = owner(p);
    if (m.message_.body.size() + n > m.limits_.max_body_bytes) {
      m.fail(413, "body too large");
      return HPE_USER;
    }
    m.message_.body.append(at, n);
    return HPE_OK;
  }
  static int on_message_complete(llhttp_t* p) {
    MessageParser& m = owner(p);
    m.message_.keep_alive = llhttp_should_keep_alive(p) != 0;
    m.state_ = State::Complete;
    return HPE_PAUSED;  // stop here: the next message's bytes wait for reset()
  }
};

MessageParser::MessageParser(Kind kind, Limits limits) : impl_(std::make_unique<Impl>()), kind_(kind), limits_(limits) {
  llhttp_settings_init(&impl_->settings);
  impl_->settings.on_method = &Impl::on_method;
  impl_->settings.on_url = &Impl::on_url;
  impl_->settings.on_status = &Impl::on_status;
  impl_->settings.on_header_field = &Impl::on_header_field;
  impl_->settings.on_header_value = &Impl::on_header_value;
  impl_->settings.on_headers_complete = &Impl::on_headers_complete;
  impl_->settings.on_body = &Impl::on_body;
  impl_->settings.on_message_complete = &Impl::on_message_complete;
  impl_->self = this;
  reset();
}

MessageParser::~MessageParser() = default;

void MessageParser::reset() {
  llhttp_init(&impl_->parser, kind_ == Kind::Request ? HTTP_REQUEST : HTTP_RESPONSE, &impl_->settings);
  impl_->parser.data = impl_.get();
  state_ = State::NeedMore;
  message_ = Message{};
  header_bytes_ = 0;
  in_header_value_ = false;
  pending_ = {};
  has_pending_ = false;
  error_status_ = 0;
  error_reason_.clear();
}

void MessageParser::commit_pending() {
  if (!has_pending_) return;
  message_.headers.add(std::move(pending_));
  pending_ = {};
  has_pending_ = false;
}

void MessageParser::fail(int status, std::string reason) {
  if (state_ == State::Error) return;
  state_ = State::Error;
  error_status_ = status;
  error_reason_ = std::move(reason);
}

size_t MessageParser::feed(std::string_view data) {
  if (state_ != State::NeedMore || data.empty()) return 0;
  llhttp_errno_t err = llhttp_execute(&impl_->parser, data.data(), data.size());
  if (err == HPE_OK) return data.size();
  if (err == HPE_PAUSED && state_ == State::Complete) {
    return static_cast<size_t>(llhttp_get_error_pos(&impl_->parser) - data.data());
  }
  fail(400, llhttp_get_error_reason(&impl_->parser) ? llhttp_get_error_reason(&impl_->parser) : "malformed message");
  return 0;
}

MessageParser::State MessageParser::finish() {
  if (state_ != State::NeedMore) return state_;
  llhttp_errno_t err = llhttp_finish(&impl_->parser);
  if (state_ == State::Complete) return state_;
  if (err != HPE_OK || state_ == State::NeedMore) fail(400, "connection closed before the message was complete");
  return state_;
}

std::string_view reason_phrase(int status) {
  switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 103: return "Early Hints";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 417: return "Expectation Failed";
    case 422: return "Unprocessable Content";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
  }
}

std::string format_response(int status, std::string_view reason, const HeaderMap& headers,
                            std::string_view body, bool keep_alive) {
  std::string out = fmt::format("HTTP/1.1 {} {}\r\n", status, reason);
  for (const auto& h : headers) out += fmt::format("{}: {}\r\n", h.name, h.value);
  out += fmt::format("Content-Length: {}\r\n", body.size());
  if (!keep_alive) out += "Connection: close\r\n";
  out += "\r\n";
  out.append(body);
  return out;
}

std::string format_request(std::string_view method, std::string_view target, const HeaderMap& headers,
                           std::string_view body) {
  std::string out = fmt::format("{} {} HTTP/1.1\r\n", method, target);
  for (const auto& h : headers) out += fmt::format("{}: {}\r\n", h.name, h.value);
  if (!body.empty() || method == "POST" || method == "PUT") out += fmt::format("Content-Length: {}\r\n", body.size());
  out += "\r\n";
  out.append(body);
  return out;
}

}  // namespace mesh::tunnel::http
