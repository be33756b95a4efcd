#pragma once
// Test support for the HTTP/1 decoders: a recorder that writes every event into a
// transcript (consecutive body pieces merged, so any split of the input gives the same
// text), and a driver that feeds input in given pieces, resuming after each paused message,
// and reports the transcript, the final state and the bytes left unconsumed.
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "tunnel/http/h1_codec.hpp"

namespace mesh::tunnel::http::test {

// " name=value;name=value" (empty for no fields).
inline std::string describe(const HeaderMap& headers) {
  std::string out;
  for (const Header& h : headers) out += (out.empty() ? " " : ";") + h.name + "=" + h.value;
  return out;
}

inline std::string describe(const H1MessageInfo& i) {
  static constexpr const char* kFraming[] = {"none", "cl", "chunked", "close"};
  std::string out = std::string(" ka=") + (i.keep_alive ? "1" : "0");
  if (i.expect_continue) out += " expect";
  if (i.connect) out += " connect";
  if (!i.upgrade.empty()) out += " upgrade=" + i.upgrade;
  out += std::string(" ") + kFraming[static_cast<int>(i.framing)];
  if (i.framing == H1BodyFraming::ContentLength) out += "=" + std::to_string(i.content_length);
  return out;
}

struct Recorder : H1RequestEvents, H1ResponseEvents {
  std::string log;
  std::vector<RequestHead> requests;
  std::vector<ResponseHead> responses;
  std::string body;  // every body byte, all messages
  bool in_body = false;

  void event(const std::string& s) {
    if (in_body) log += "\n";
    in_body = false;
    log += s + "\n";
  }
  void on_request_head(RequestHead h, const H1MessageInfo& i) override {
    event("req " + h.method + " " + h.scheme + "|" + h.authority + "|" + h.path + " " +
          std::string(to_string(h.version)) + describe(i) + describe(h.headers));
    requests.push_back(std::move(h));
  }
  void on_informational(ResponseHead h) override { event("info " + std::to_string(h.status) + describe(h.headers)); }
  void on_response_head(ResponseHead h, const H1MessageInfo& i) override {
    event("resp " + std::to_string(h.status) + " " + std::string(to_string(h.version)) + describe(i) +
          describe(h.headers));
    responses.push_back(std::move(h));
  }
  void on_body(std::string_view chunk) override {
    if (!in_body) log += "body:";
    in_body = true;
    log.append(chunk);
    body.append(chunk);
  }
  void on_trailers(Trailers t) override { event("trailers" + describe(t)); }
  void on_message_complete() override { event("complete"); }
};

struct Run {
  std::string log;
  H1DecoderState state = H1DecoderState::Parsing;
  H1Error error = H1Error::None;
  std::string rest;  // bytes the decoder did not consume (an upgrade's, or after close)
  uint64_t messages = 0;
  bool operator==(const Run&) const = default;
};

// Feeds `pieces` in order, resuming after each paused message; calls finish() at the end
// when `eof`.
inline Run drive(H1Decoder& d, Recorder& r, const std::vector<std::string_view>& pieces, bool eof = false) {
  std::string pending;
  size_t next = 0;
  while (true) {
    if (pending.empty()) {
      if (next == pieces.size()) break;
      pending.assign(pieces[next++]);
      if (pending.empty()) continue;
    }
    size_t used = d.feed(pending);
    if (used > pending.size()) std::abort();  // a decoder never consumes more than it was given
    pending.erase(0, used);
    if (d.state() == H1DecoderState::MessageComplete) {
      r.log += "pause\n";
      d.resume();
    } else if (d.state() != H1DecoderState::Parsing || used == 0) {
      break;
    }
  }
  if (eof && d.state() == H1DecoderState::Parsing) d.finish();
  Run run;
  for (; next < pieces.size(); ++next) pending.append(pieces[next]);
  run.rest = std::move(pending);
  run.log = r.log;
  run.state = d.state();
  run.error = d.error();
  run.messages = d.messages();
  return run;
}

inline std::vector<std::string_view> whole(std::string_view s) { return {s}; }
inline std::vector<std::string_view> bytes(std::string_view s) {
  std::vector<std::string_view> out;
  for (size_t i = 0; i < s.size(); ++i) out.push_back(s.substr(i, 1));
  return out;
}
inline std::vector<std::string_view> split_at(std::string_view s, size_t k) { return {s.substr(0, k), s.substr(k)}; }

}  // namespace mesh::tunnel::http::test
