#pragma once
// Test support: an HTTP/2 client and server (http::H2Client/H2Server or a profile over them)
// connected in memory through VectorSinks, plaintext, as protocol tests want them. pump()
// moves bytes both ways until quiet and collects each side's events; it never consumes
// stream data, so tests decide what the "application" reads. HboneLink (hbone_link.hpp)
// adds the TLS session pair the daemon runs HBONE over.
#include <doctest/doctest.h>

#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "daemon/base/clock.hpp"
#include "tunnel/http/h2_client.hpp"
#include "tunnel/http/h2_server.hpp"

namespace mesh::testing {

// What both in-memory links (H2Link here, HboneLink in hbone_link.hpp) keep and ask of the
// events they collected.
class H2LinkEvents {
 public:
  using Event = tunnel::http::Event;
  using EventKind = tunnel::http::EventKind;
  using StreamId = tunnel::http::StreamId;

  std::vector<Event> client_events;
  std::vector<Event> server_events;

  size_t count(const std::vector<Event>& evs, EventKind k, StreamId id = 0) const {
    size_t n = 0;
    for (const auto& e : evs) n += e.kind == k && (id == 0 || e.stream == id);
    return n;
  }
  std::optional<Event> last(const std::vector<Event>& evs, EventKind k) const {
    for (auto it = evs.rbegin(); it != evs.rend(); ++it)
      if (it->kind == k) return *it;
    return std::nullopt;
  }

  // Reads everything a stream has buffered on one side.
  static std::vector<uint8_t> read_all(tunnel::http::H2Connection& c, StreamId id) {
    std::vector<uint8_t> out;
    while (c.readable(id) > 0) {
      auto chunk = c.peek(id);
      out.insert(out.end(), chunk.begin(), chunk.end());
      c.consume(id, chunk.size());
    }
    return out;
  }

 protected:
  static void drain_events(tunnel::http::H2Connection& c, std::vector<Event>& into) {
    Event ev;
    while (c.next_event(ev)) into.push_back(ev);
  }
};

template <class Client = tunnel::http::H2Client, class Server = tunnel::http::H2Server>
class H2Link : public H2LinkEvents {
 public:
  explicit H2Link(tunnel::http::H2Options client_opts = tunnel::http::H2Options::client(),
                  tunnel::http::H2Options server_opts = tunnel::http::H2Options::server()) {
    client = std::move(*Client::create(csink_, clock_, client_opts));
    server = std::move(*Server::create(ssink_, clock_, server_opts));
  }

  std::unique_ptr<Client> client;
  std::unique_ptr<Server> server;

  base::FakeClock& clock() { return clock_; }

  // Moves bytes until neither side has anything left to say (bounded).
  void pump() {
    for (int round = 0; round < 10000; ++round) {
      size_t moved = step(*client, *server, csink_);
      moved += step(*server, *client, ssink_);
      drain_events(*client, client_events);
      drain_events(*server, server_events);
      if (moved == 0) return;
    }
    FAIL("HTTP/2 pump did not settle");
  }

 private:
  static size_t step(tunnel::http::H2Connection& from, tunnel::http::H2Connection& to, tunnel::http::VectorSink& sink) {
    size_t moved = 0;
    for (int i = 0; i < 1000; ++i) {
      from.flush();
      std::vector<uint8_t> wire;
      wire.swap(sink.bytes());
      if (wire.empty()) break;
      moved += wire.size();
      (void)to.receive(wire);
    }
    return moved;
  }

  base::FakeClock clock_;
  tunnel::http::VectorSink csink_, ssink_;
};

}  // namespace mesh::testing
