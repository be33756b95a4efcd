// The request and response head rules of the HTTP/1 decoders (h1_codec.hpp): how a parsed
// head becomes a RequestHead/ResponseHead, and which responses carry no body. The llhttp
// driver they share is h1_codec.cpp.
#include <llhttp.h>

#include "tunnel/http/h1_codec.hpp"
#include "tunnel/http/h1_request_target.hpp"

namespace mesh::tunnel::http {

std::string_view to_string(H1Error e) {
  switch (e) {
    case H1Error::None: return "none";
    case H1Error::Malformed: return "malformed";
    case H1Error::InvalidMethod: return "invalid_method";
    case H1Error::InvalidTarget: return "invalid_target";
    case H1Error::RequestLineTooLong: return "request_line_too_long";
    case H1Error::UnsupportedVersion: return "unsupported_version";
    case H1Error::Http2Preface: return "http2_preface";
    case H1Error::InvalidStatus: return "invalid_status";
    case H1Error::InvalidHeaderName: return "invalid_header_name";
    case H1Error::InvalidHeaderValue: return "invalid_header_value";
    case H1Error::BareCr: return "bare_cr";
    case H1Error::ObsFold: return "obs_fold";
    case H1Error::HeadersTooLarge: return "headers_too_large";
    case H1Error::TooManyHeaders: return "too_many_headers";
    case H1Error::MissingHost: return "missing_host";
    case H1Error::MultipleHost: return "multiple_host";
    case H1Error::InvalidHost: return "invalid_host";
    case H1Error::HostMismatch: return "host_mismatch";
    case H1Error::ContentLengthWithTransferEncoding: return "content_length_with_transfer_encoding";
    case H1Error::DuplicateContentLength: return "duplicate_content_length";
    case H1Error::InvalidContentLength: return "invalid_content_length";
    case H1Error::UnsupportedTransferEncoding: return "unsupported_transfer_encoding";
    case H1Error::TransferEncodingOnHttp10: return "transfer_encoding_on_http10";
    case H1Error::InvalidChunk: return "invalid_chunk";
    case H1Error::BodyTooLarge: return "body_too_large";
    case H1Error::UnexpectedResponse: return "unexpected_response";
    case H1Error::TruncatedMessage: return "truncated_message";
  }
  return "unknown";
}

int status_for(H1Error e) {
  switch (e) {
    case H1Error::RequestLineTooLong: return 414;
    case H1Error::HeadersTooLarge:
    case H1Error::TooManyHeaders: return 431;
    case H1Error::BodyTooLarge: return 413;
    case H1Error::UnsupportedTransferEncoding: return 501;
    case H1Error::UnsupportedVersion:
    case H1Error::Http2Preface: return 505;
    default: return 400;
  }
}

int H1RequestDecoder::head_complete(H1MessageInfo& info) {
  RequestHead head;
  head.method = llhttp_method_name(static_cast<llhttp_method_t>(method_));
  head.version = version_minor_ == 0 ? Version::Http10 : Version::Http11;
  head.headers = std::move(fields_);
  if (H1Error e = apply_request_target(target_, head); e != H1Error::None) {
    fail(e);
    return -1;
  }
  // RFC 9110 §10.1.1: an HTTP/1.0 request's 100-continue is ignored.
  const std::string* expect = head.headers.get("expect");
  info.expect_continue = head.version == Version::Http11 && expect && iequals(*expect, "100-continue");
  info.connect = head.method == "CONNECT";
  if (upgrade_ && !info.connect) {
    const std::string* proto = head.headers.get("upgrade");
    info.upgrade = proto ? *proto : std::string{};
  }
  events_.on_request_head(std::move(head), info);
  return 0;
}

void H1ResponseDecoder::expect(std::string_view method, bool upgrade_requested) {
  pending_.push_back({std::string(method), upgrade_requested});
}

int H1ResponseDecoder::head_complete(H1MessageInfo& info) {
  if (pending_.empty()) {
    fail(H1Error::UnexpectedResponse);
    return -1;
  }
  const Pending& request = pending_.front();
  ResponseHead head;
  head.status = status_;
  head.version = version_minor_ == 0 ? Version::Http10 : Version::Http11;
  head.headers = std::move(fields_);
  if (status_ >= 100 && status_ < 200 && status_ != 101) {
    informational_ = true;
    events_.on_informational(std::move(head));
    return 1;
  }
  // Which responses have no body (RFC 9112 §6.3 rules 1 and 2), decided here because llhttp
  // does not know the request: llhttp answers 1 = no body, 2 = no body and switch protocols.
  int answer = 0;
  if (status_ == 101) {
    if (!request.upgrade) {
      fail(H1Error::UnexpectedResponse);
      return -1;
    }
    const std::string* proto = head.headers.get("upgrade");
    info.upgrade = proto ? *proto : std::string{};
    answer = 2;
  } else if (request.method == "CONNECT" && status_ >= 200 && status_ < 300) {
    info.connect = true;
    answer = 2;
  } else if (request.method == "HEAD" || status_ == 204 || status_ == 304) {
    answer = 1;
  }
  if (answer != 0) {
    info.framing = H1BodyFraming::None;
    info.content_length = 0;
  }
  info.keep_alive = connection_keep_alive_ && info.framing != H1BodyFraming::UntilClose;
  events_.on_response_head(std::move(head), info);
  return answer;
}

void H1ResponseDecoder::message_done() {
  if (!pending_.empty()) pending_.pop_front();
}

}  // namespace mesh::tunnel::http
