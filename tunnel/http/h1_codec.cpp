#include "tunnel/http/h1_codec.hpp"

#include <llhttp.h>

#include <algorithm>
#include <cstring>

namespace mesh::tunnel::http {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Transfer-Encoding is acceptable only as exactly one coding, "chunked" (what llhttp frames
// and what a proxy can re-frame); anything else would leave codings we cannot strip.
bool only_chunked(const HeaderMap& fields) {
  size_t codings = 0;
  for (std::string_view v : fields.get_all("transfer-encoding")) {
    while (!v.empty()) {
      size_t comma = v.find(',');
      std::string_view token = trim(v.substr(0, comma));
      if (!token.empty() && (++codings > 1 || !iequals(token, "chunked"))) return false;
      v = comma == std::string_view::npos ? std::string_view{} : v.substr(comma + 1);
    }
  }
  return codings == 1;
}

}  // namespace

struct H1Decoder::Impl {
  llhttp_t parser;
  llhttp_settings_t settings;
  H1Decoder* self = nullptr;

  // The bytes of the current feed(), for locating spans.
  const char* begin = nullptr;
  const char* end = nullptr;
  // The last few bytes consumed by earlier feeds (the "HTTP/" before a version may be there).
  std::array<char, 8> tail{};
  size_t tail_len = 0;

  // Per message.
  bool in_message = false;
  bool headers_done = false;
  bool upgrade = false;  // stop with HPE_PAUSED_UPGRADE after this message
  bool keep_alive = true;
  bool version_seen = false;
  bool te_seen = false;
  bool in_value = false;
  Header pending;
  size_t value_spans = 0;       // spans of the current field value
  bool carry = false;           // the last value span ended exactly at the previous feed's end
  const char* last_span_end = nullptr;
  // Whether the bytes fed so far, waiting for a value's first span, end in LF (SP|HT)*:
  // llhttp skips a fold before the first non-blank byte of a value as if it were OWS.
  enum class Lead : uint8_t { None, AfterLf, AfterLfBlank } lead = Lead::None;
  size_t header_bytes = 0;      // head (or trailer) target + names + values
  size_t field_count = 0;
  size_t raw_head_bytes = 0;    // whole feeds spent inside the head (whitespace included)
  uint64_t body_bytes = 0;
  Trailers trailers;

  static Impl& of(llhttp_t* p) { return *static_cast<Impl*>(p->data); }

  int reject(H1Error e) {
    self->fail(e);
    return HPE_USER;
  }

  bool charge(size_t n) {
    header_bytes += n;
    return header_bytes <= self->options_.max_header_bytes;
  }

  // Whether the `n` bytes just before `at` (possibly in an earlier feed) spell `s`.
  bool preceded_by(const char* at, std::string_view s) const {
    size_t here = static_cast<size_t>(at - begin);
    for (size_t i = 1; i <= s.size(); ++i) {
      char c;
      if (i <= here) {
        c = at[-static_cast<ptrdiff_t>(i)];
      } else if (i - here <= tail_len) {
        c = tail[tail_len - (i - here)];
      } else {
        return false;
      }
      if (c != s[s.size() - i]) return false;
    }
    return true;
  }

  static bool blank(char c) { return c == ' ' || c == '\t'; }

  // The lead state after `bytes`, starting from `before`.
  static Lead lead_after(std::string_view bytes, Lead before) {
    size_t run = 0;
    while (run < bytes.size() && blank(bytes[bytes.size() - 1 - run])) ++run;
    if (run == bytes.size()) return run > 0 && before != Lead::None ? Lead::AfterLfBlank : before;
    if (bytes[bytes.size() - 1 - run] != '\n') return Lead::None;
    return run > 0 ? Lead::AfterLfBlank : Lead::AfterLf;
  }

  // A value's first byte preceded by LF and blanks: the value began on a folded line.
  bool folded_start(const char* at) const {
    return lead_after(std::string_view(begin, static_cast<size_t>(at - begin)), lead) == Lead::AfterLfBlank;
  }

  static int on_message_begin(llhttp_t* p) {
    of(p).self->start_message();
    return HPE_OK;
  }
  static int on_url(llhttp_t* p, const char* at, size_t n) {
    Impl& m = of(p);
    if (m.self->target_.size() + n > m.self->options_.max_request_line_bytes) return m.reject(H1Error::RequestLineTooLong);
    if (!m.charge(n)) return m.reject(H1Error::HeadersTooLarge);
    m.self->target_.append(at, n);
    return HPE_OK;
  }
  static int on_version(llhttp_t* p, const char* at, size_t) {
    Impl& m = of(p);
    if (m.version_seen) return HPE_OK;
    m.version_seen = true;
    // llhttp also accepts RTSP/ and ICE/ request lines; only HTTP/ is HTTP.
    return m.preceded_by(at, "HTTP/") ? HPE_OK : m.reject(H1Error::UnsupportedVersion);
  }
  static int on_header_field(llhttp_t* p, const char* at, size_t n) {
    Impl& m = of(p);
    if (!m.charge(n)) return m.reject(H1Error::HeadersTooLarge);
    m.pending.name.append(at, n);
    return HPE_OK;
  }
  static int on_header_field_complete(llhttp_t* p) {
    Impl& m = of(p);
    // llhttp accepts a line with an empty name (": v"); a field-name is a token (RFC 9110 §5.1).
    if (m.pending.name.empty()) return m.reject(H1Error::InvalidHeaderName);
    if (++m.field_count > m.self->options_.max_headers) return m.reject(H1Error::TooManyHeaders);
    if (!m.headers_done && iequals(m.pending.name, "transfer-encoding")) m.te_seen = true;
    m.in_value = true;
    m.value_spans = 0;
    return HPE_OK;
  }
  static int on_header_value(llhttp_t* p, const char* at, size_t n) {
    Impl& m = of(p);
    // A value arrives as one span per feed; a second span not continuing exactly where the
    // previous feed ended means llhttp joined a folded line (obs-fold, RFC 9112 §5.2).
    if (m.value_spans > 0 && !(m.carry && at == m.begin)) return m.reject(H1Error::ObsFold);
    if (m.value_spans == 0 && n > 0 && m.folded_start(at)) return m.reject(H1Error::ObsFold);
    m.carry = false;
    ++m.value_spans;
    m.last_span_end = at + n;
    if (!m.charge(n)) return m.reject(H1Error::HeadersTooLarge);
    m.pending.value.append(at, n);
    return HPE_OK;
  }
  static int on_header_value_complete(llhttp_t* p) {
    Impl& m = of(p);
    m.pending.value.resize(trim(m.pending.value).size());
    (m.headers_done ? m.trailers : m.self->fields_).add(std::move(m.pending));
    m.pending = {};
    m.in_value = false;
    return HPE_OK;
  }
  static int on_headers_complete(llhttp_t* p) { return of(p).headers_complete(p); }
  static int on_body(llhttp_t* p, const char* at, size_t n) {
    Impl& m = of(p);
    // Up to the limit exactly, however the body was cut, then the error.
    uint64_t room = m.self->options_.max_body_bytes - m.body_bytes;
    if (n > room) {
      if (room > 0) m.self->events_.on_body(std::string_view(at, room));
      return m.reject(H1Error::BodyTooLarge);
    }
    m.body_bytes += n;
    m.self->events_.on_body(std::string_view(at, n));
    return HPE_OK;
  }
  static int on_message_complete(llhttp_t* p) { return of(p).message_complete(); }

  int headers_complete(llhttp_t* p);
  int message_complete();
};

int H1Decoder::Impl::headers_complete(llhttp_t* p) {
  H1Decoder& d = *self;
  headers_done = true;
  header_bytes = 0;
  field_count = 0;
  if (!version_seen || p->http_major != 1 || p->http_minor > 1) {
    d.fail(H1Error::UnsupportedVersion);
    return -1;
  }
  d.version_minor_ = p->http_minor;
  d.status_ = p->status_code;
  d.method_ = p->method;
  d.upgrade_ = p->upgrade != 0;
  d.connection_keep_alive_ =
      p->http_minor >= 1 ? (p->flags & F_CONNECTION_CLOSE) == 0 : (p->flags & F_CONNECTION_KEEP_ALIVE) != 0;
  if (te_seen) {
    if (p->http_minor == 0) {
      d.fail(H1Error::TransferEncodingOnHttp10);
      return -1;
    }
    if (!only_chunked(d.fields_)) {
      d.fail(H1Error::UnsupportedTransferEncoding);
      return -1;
    }
  }
  H1MessageInfo info;
  if (p->flags & F_CHUNKED) {
    info.framing = H1BodyFraming::Chunked;
  } else if (p->flags & F_CONTENT_LENGTH) {
    info.framing = H1BodyFraming::ContentLength;
    info.content_length = p->content_length;
    if (p->content_length > d.options_.max_body_bytes) {
      d.fail(H1Error::BodyTooLarge);
      return -1;
    }
  } else {
    info.framing = d.kind_ == Kind::Response ? H1BodyFraming::UntilClose : H1BodyFraming::None;
  }
  info.keep_alive = d.connection_keep_alive_ && info.framing != H1BodyFraming::UntilClose;
  int answer = d.head_complete(info);
  if (answer < 0 || d.state_ == H1DecoderState::Error) return -1;
  keep_alive = info.keep_alive;
  upgrade = answer == 2 || (d.kind_ == Kind::Request && d.upgrade_);
  return answer;
}

int H1Decoder::Impl::message_complete() {
  H1Decoder& d = *self;
  in_message = false;
  if (d.informational_) return HPE_OK;  // the final response follows on the same parse
  if (!trailers.empty()) d.events_.on_trailers(std::move(trailers));
  d.events_.on_message_complete();
  ++d.messages_;
  d.keep_alive_ = keep_alive;
  d.message_done();
  if (upgrade) return HPE_OK;  // llhttp stops with HPE_PAUSED_UPGRADE
  if (!keep_alive) {
    d.state_ = H1DecoderState::Closed;
    return HPE_PAUSED;
  }
  if (d.options_.pause_after_message) {
    d.state_ = H1DecoderState::MessageComplete;
    return HPE_PAUSED;
  }
  return HPE_OK;
}

H1Decoder::H1Decoder(Kind kind, H1DecoderEvents& events, H1DecoderOptions options, H1ErrorCounts* counts)
    : impl_(std::make_unique<Impl>()), kind_(kind), events_(events), options_(options), counts_(counts) {
  llhttp_settings_t& s = impl_->settings;
  llhttp_settings_init(&s);
  s.on_message_begin = &Impl::on_message_begin;
  s.on_url = &Impl::on_url;
  s.on_version = &Impl::on_version;
  s.on_header_field = &Impl::on_header_field;
  s.on_header_field_complete = &Impl::on_header_field_complete;
  s.on_header_value = &Impl::on_header_value;
  s.on_header_value_complete = &Impl::on_header_value_complete;
  s.on_headers_complete = &Impl::on_headers_complete;
  s.on_body = &Impl::on_body;
  s.on_message_complete = &Impl::on_message_complete;
  impl_->self = this;
  llhttp_init(&impl_->parser, kind == Kind::Request ? HTTP_REQUEST : HTTP_RESPONSE, &s);
  impl_->parser.data = impl_.get();
}

H1Decoder::~H1Decoder() = default;

void H1Decoder::start_message() {
  Impl& m = *impl_;
  m.in_message = true;
  m.headers_done = false;
  m.upgrade = false;
  m.keep_alive = true;
  m.version_seen = false;
  m.te_seen = false;
  m.in_value = false;
  m.pending = {};
  m.value_spans = 0;
  m.lead = Impl::Lead::None;
  m.header_bytes = 0;
  m.field_count = 0;
  m.raw_head_bytes = 0;
  m.body_bytes = 0;
  m.trailers.clear();
  target_.clear();
  fields_.clear();
  version_minor_ = 1;
  status_ = 0;
  method_ = 0;
  upgrade_ = false;
  connection_keep_alive_ = true;
  informational_ = false;
}

void H1Decoder::fail(H1Error e) {
  if (state_ == H1DecoderState::Error) return;
  state_ = H1DecoderState::Error;
  error_ = e;
  keep_alive_ = false;
  if (counts_) ++counts_->by_reason[static_cast<size_t>(e)];
}

size_t H1Decoder::feed(std::string_view data) {
  if (state_ != H1DecoderState::Parsing || data.empty()) return 0;
  Impl& m = *impl_;
  m.begin = data.data();
  m.end = data.data() + data.size();
  m.last_span_end = nullptr;
  bool head_at_start = m.in_message && !m.headers_done;
  llhttp_errno_t err = llhttp_execute(&m.parser, data.data(), data.size());
  size_t used = after_execute(err, data);
  m.carry = m.last_span_end == data.data() + used;
  m.lead = m.in_value && m.value_spans == 0 ? Impl::lead_after(data.substr(0, used), m.lead) : Impl::Lead::None;
  if (state_ == H1DecoderState::Parsing && head_at_start && m.in_message && !m.headers_done) {
    // Whitespace llhttp skips reaches no callback: bound the head by the feeds it spans too.
    m.raw_head_bytes += used;
    if (m.raw_head_bytes > 2 * options_.max_header_bytes + options_.max_request_line_bytes) fail(H1Error::HeadersTooLarge);
  }
  remember_tail(data.substr(0, used));
  return used;
}

size_t H1Decoder::after_execute(int err, std::string_view data) {
  const char* pos = llhttp_get_error_pos(&impl_->parser);
  size_t at = pos && pos >= data.data() && pos <= data.data() + data.size() ? static_cast<size_t>(pos - data.data())
                                                                             : data.size();
  switch (err) {
    case HPE_OK:
      return data.size();
    case HPE_PAUSED:
      return at;
    case HPE_PAUSED_UPGRADE:
      state_ = H1DecoderState::Upgraded;
      return at;
    default:
      if (state_ != H1DecoderState::Error) fail(map_llhttp_error(err, data));
      return at;
  }
}

H1Error H1Decoder::map_llhttp_error(int err, std::string_view data) const {
  const char* pos = llhttp_get_error_pos(&impl_->parser);
  const char* b = data.data();
  const char* e = data.data() + data.size();
  if (err == HPE_LF_EXPECTED) return H1Error::BareCr;
  // A byte other than LF right after a CR. Only the bytes up to the error count: looking past
  // it would make the reason depend on where the input was cut. Not inside the target, where
  // llhttp reports the error at or after the CR depending on the cut (an invalid target).
  if (pos && pos >= b && pos < e && err != HPE_INVALID_URL) {
    char before = pos > b ? pos[-1] : (impl_->tail_len > 0 ? impl_->tail[impl_->tail_len - 1] : '\0');
    if (before == '\r' && *pos != '\n') return H1Error::BareCr;
  }
  switch (err) {
    case HPE_INVALID_METHOD: return H1Error::InvalidMethod;
    case HPE_INVALID_URL: return H1Error::InvalidTarget;
    case HPE_INVALID_VERSION: return H1Error::UnsupportedVersion;
    case HPE_PAUSED_H2_UPGRADE: return H1Error::Http2Preface;
    case HPE_INVALID_STATUS: return H1Error::InvalidStatus;
    case HPE_INVALID_HEADER_TOKEN:
      return impl_->in_value ? H1Error::InvalidHeaderValue : H1Error::InvalidHeaderName;
    case HPE_UNEXPECTED_CONTENT_LENGTH:
      return impl_->te_seen ? H1Error::ContentLengthWithTransferEncoding : H1Error::DuplicateContentLength;
    case HPE_INVALID_CONTENT_LENGTH: return H1Error::InvalidContentLength;
    case HPE_INVALID_TRANSFER_ENCODING: return H1Error::UnsupportedTransferEncoding;
    case HPE_INVALID_CHUNK_SIZE:
    case HPE_STRICT:
    case HPE_CR_EXPECTED:
      return impl_->headers_done ? H1Error::InvalidChunk : H1Error::Malformed;
    default: return H1Error::Malformed;
  }
}

void H1Decoder::remember_tail(std::string_view consumed) {
  Impl& m = *impl_;
  if (consumed.size() >= m.tail.size()) {
    std::memcpy(m.tail.data(), consumed.data() + consumed.size() - m.tail.size(), m.tail.size());
    m.tail_len = m.tail.size();
    return;
  }
  size_t keep = std::min(m.tail_len, m.tail.size() - consumed.size());
  std::memmove(m.tail.data(), m.tail.data() + m.tail_len - keep, keep);
  std::memcpy(m.tail.data() + keep, consumed.data(), consumed.size());
  m.tail_len = keep + consumed.size();
}

void H1Decoder::resume() {
  if (state_ == H1DecoderState::MessageComplete) {
    llhttp_resume(&impl_->parser);
    state_ = H1DecoderState::Parsing;
  } else if (state_ == H1DecoderState::Upgraded) {
    llhttp_resume_after_upgrade(&impl_->parser);
    state_ = H1DecoderState::Parsing;
  }
}

H1DecoderState H1Decoder::finish() {
  if (state_ == H1DecoderState::MessageComplete) state_ = H1DecoderState::Closed;
  if (state_ != H1DecoderState::Parsing) return state_;
  if (!impl_->in_message) {  // between messages (llhttp's own EOF state lags a pause)
    state_ = H1DecoderState::Closed;
    return state_;
  }
  llhttp_errno_t err = llhttp_finish(&impl_->parser);  // completes a close-delimited body
  if (state_ == H1DecoderState::Error) return state_;
  if ((err != HPE_OK && err != HPE_PAUSED) || impl_->in_message) {
    fail(H1Error::TruncatedMessage);
  } else {
    state_ = H1DecoderState::Closed;
    keep_alive_ = false;
  }
  return state_;
}

}  // namespace mesh::tunnel::http
