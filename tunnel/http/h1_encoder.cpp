#include "tunnel/http/h1_encoder.hpp"

#include <fmt/format.h>

#include "tunnel/http/h1_message_parser.hpp"

namespace mesh::tunnel::http {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Calls f(token) for each comma-separated token of a list field value.
template <typename F>
void for_each_token(std::string_view v, F&& f) {
  while (!v.empty()) {
    size_t comma = v.find(',');
    std::string_view token = trim(v.substr(0, comma));
    if (!token.empty()) f(token);
    v = comma == std::string_view::npos ? std::string_view{} : v.substr(comma + 1);
  }
}

bool safe(std::string_view s) { return s.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos; }

bool framing_field(std::string_view name) {
  return iequals(name, "content-length") || iequals(name, "transfer-encoding") || iequals(name, "host");
}

bool bodiless_methods(std::string_view method) { return method == "GET" || method == "HEAD" || method == "DELETE" ||
                                                        method == "OPTIONS" || method == "TRACE" || method == "CONNECT"; }

}  // namespace

size_t strip_hop_by_hop(HeaderMap& headers, bool keep_upgrade) {
  std::vector<std::string> nominated;
  for (std::string_view v : headers.get_all("connection")) {
    for_each_token(v, [&](std::string_view t) { nominated.push_back(to_lower(t)); });
  }
  bool te_trailers = false;
  for (std::string_view v : headers.get_all("te")) {
    for_each_token(v, [&](std::string_view t) { te_trailers = te_trailers || iequals(t, "trailers"); });
  }
  size_t removed = 0;
  for (const std::string& name : nominated) {
    if (keep_upgrade && name == "upgrade") continue;
    if (name != "te") removed += headers.remove(name);
  }
  for (std::string_view name : {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te"}) {
    removed += headers.remove(name);
  }
  if (keep_upgrade && headers.has("upgrade")) {
    headers.set("connection", "upgrade");
  } else {
    removed += headers.remove("upgrade");
  }
  if (te_trailers) {
    headers.add("te", "trailers");
    --removed;
  }
  return removed;
}

bool H1Encoder::write_fields(const HeaderMap& headers, std::string& out) const {
  for (const Header& h : headers) {
    if (h.name.empty() || !safe(h.name) || !safe(h.value) || h.name.find(':') != std::string::npos) return false;
  }
  for (const Header& h : headers) {
    if (framing_field(h.name)) continue;
    out += h.name;
    out += ": ";
    out += h.value;
    out += "\r\n";
  }
  return true;
}

void H1Encoder::write_framing(const H1EncodeOptions& options, bool may_chunk, std::string& out) {
  if (no_body_) {
    framing_ = H1BodyFraming::None;
  } else if (options.content_length) {
    framing_ = H1BodyFraming::ContentLength;
    out += fmt::format("content-length: {}\r\n", *options.content_length);
  } else if (options.end_stream) {
    framing_ = H1BodyFraming::ContentLength;
    out += "content-length: 0\r\n";
  } else if (may_chunk) {
    framing_ = H1BodyFraming::Chunked;
    out += "transfer-encoding: chunked\r\n";
  } else {
    framing_ = H1BodyFraming::UntilClose;
    close_after_ = true;
  }
  if (close_after_ || !options.keep_alive) {
    close_after_ = true;
    out += "connection: close\r\n";
  }
}

bool H1Encoder::start_request(const RequestHead& head, const H1EncodeOptions& options, std::string& out) {
  std::string_view target = head.method == "CONNECT" ? std::string_view(head.authority) : std::string_view(head.path);
  if (target.empty()) target = "/";
  if (head.method.empty() || head.authority.empty() || !safe(head.method) || !safe(target) || !safe(head.authority) ||
      target.find(' ') != std::string_view::npos || head.method.find(' ') != std::string::npos) {
    return false;
  }
  std::string start = fmt::format("{} {} HTTP/1.1\r\nhost: {}\r\n", head.method, target, head.authority);
  size_t mark = out.size();
  out += start;
  if (!write_fields(head.headers, out)) {
    out.resize(mark);
    return false;
  }
  framing_ = H1BodyFraming::None;
  close_after_ = false;
  no_body_ = head.method == "CONNECT";
  // A bodiless GET says nothing about length; a POST with no body says content-length: 0.
  if (options.end_stream && !options.content_length && bodiless_methods(head.method)) no_body_ = true;
  write_framing(options, true, out);
  out += "\r\n";
  return true;
}

bool H1Encoder::start_response(const ResponseHead& head, std::string_view request_method, Version peer,
                               const H1EncodeOptions& options, std::string& out) {
  if (head.status < 100 || head.status > 999) return false;
  size_t mark = out.size();
  out += fmt::format("HTTP/1.1 {} {}\r\n", head.status, reason_phrase(head.status));
  if (!write_fields(head.headers, out)) {
    out.resize(mark);
    return false;
  }
  framing_ = H1BodyFraming::None;
  close_after_ = false;
  bool informational = head.status < 200;
  no_body_ = informational || head.status == 204 || head.status == 304 || request_method == "HEAD" ||
             (request_method == "CONNECT" && head.status < 300);
  if (request_method == "HEAD" && options.content_length) {
    out += fmt::format("content-length: {}\r\n", *options.content_length);  // the GET's length
  }
  if (!informational) {
    write_framing(options, peer != Version::Http10, out);
    if (!close_after_ && peer == Version::Http10) out += "connection: keep-alive\r\n";
  }
  out += "\r\n";
  return true;
}

void H1Encoder::body(std::string_view chunk, std::string& out) {
  if (chunk.empty() || no_body_ || framing_ == H1BodyFraming::None) return;
  if (framing_ == H1BodyFraming::Chunked) {
    out += fmt::format("{:x}\r\n", chunk.size());
    out += chunk;
    out += "\r\n";
  } else {
    out += chunk;
  }
}

bool H1Encoder::finish(const Trailers* trailers, std::string& out) {
  if (framing_ != H1BodyFraming::Chunked) return true;
  size_t mark = out.size();
  out += "0\r\n";
  if (trailers && !write_fields(*trailers, out)) {
    out.resize(mark);
    return false;
  }
  out += "\r\n";
  return true;
}

}  // namespace mesh::tunnel::http
