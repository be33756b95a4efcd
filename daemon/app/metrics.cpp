// The daemon's Prometheus metrics: build info, process, relay connections and bytes, worker
// loops, admin servers and config reloads. Counters are summed over workers at scrape time.
#include <string>

#include "daemon/app/process_stats.hpp"
#include "daemon/app/state.hpp"
#include "daemon/base/version.hpp"
#include "daemon/proxy/hbone/tunnel_connection.hpp"

namespace mesh::app {
namespace {

using telemetry::Exposition;
using telemetry::MetricType;

void build_and_process(const App::State& s, Exposition& e) {
  e.family("meshd_build_info", "meshd version and git revision (always 1).", MetricType::Gauge);
  e.sample({{"version", base::kVersion}, {"revision", base::kRevision}}, 1);
  e.family("meshd_workers", "Number of io_uring worker threads.", MetricType::Gauge);
  e.sample({}, static_cast<double>(s.workers.size()));
  e.family("meshd_ready", "1 while the daemon is serving, 0 while starting or draining.", MetricType::Gauge);
  e.sample({}, s.ready ? 1 : 0);
  auto p = read_process_stats();
  e.family("process_start_time_seconds", "Start time of the process since the Unix epoch, in seconds.", MetricType::Gauge);
  e.sample({}, static_cast<double>(std::chrono::duration_cast<std::chrono::seconds>(s.started_at.time_since_epoch()).count()));
  e.family("process_resident_memory_bytes", "Resident memory size in bytes.", MetricType::Gauge);
  e.sample({}, static_cast<double>(p.resident_bytes));
  e.family("process_virtual_memory_bytes", "Virtual memory size in bytes.", MetricType::Gauge);
  e.sample({}, static_cast<double>(p.virtual_bytes));
  e.family("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.", MetricType::Counter);
  e.sample({}, p.cpu_seconds);
  e.family("process_open_fds", "Number of open file descriptors.", MetricType::Gauge);
  e.sample({}, static_cast<double>(p.open_fds));
  e.family("process_max_fds", "Maximum number of open file descriptors.", MetricType::Gauge);
  e.sample({}, static_cast<double>(p.max_fds));
}

template <class Fn>
double sum(const ListenerEntry& l, Fn fn) {
  uint64_t total = 0;
  for (const auto& st : l.stats) total += fn(*st);
  return static_cast<double>(total);
}

// Every listener's connection metrics carry {kind, listener}: kind is relay, outbound
// (a workload's captured connections out) or inbound (captured connections in).
void listeners(const App::State& s, Exposition& e) {
  e.family("meshd_connections_limit", "Maximum of relayed connections (runtime.max_connections, capped by RLIMIT_NOFILE).",
           MetricType::Gauge);
  e.sample({}, static_cast<double>(s.budget->limit()));
  e.family("meshd_connections_opened_total", "Connections accepted and connected to their upstream.", MetricType::Counter);
  for (const auto& l : s.listeners) {
    e.sample({{"kind", l.kind}, {"listener", l.name}}, sum(l, [](const auto& st) { return st.opened.value(); }));
  }
  e.family("meshd_connections_active", "Connections accepted and not yet closed.", MetricType::Gauge);
  for (const auto& l : s.listeners) {
    int64_t active = 0;
    for (const auto& st : l.stats) active += st->active.value();
    e.sample({{"kind", l.kind}, {"listener", l.name}}, static_cast<double>(active));
  }
  e.family("meshd_connections_closed_total", "Relayed connections that ended, by how they ended.", MetricType::Counter);
  for (const auto& l : s.listeners) {
    for (size_t r = 0; r < static_cast<size_t>(proxy::CloseReason::kCount); ++r) {
      auto reason = to_string(static_cast<proxy::CloseReason>(r));
      e.sample({{"kind", l.kind}, {"listener", l.name}, {"reason", reason}},
               sum(l, [r](const auto& st) { return st.closed[r].value(); }));
    }
  }
  e.family("meshd_connections_rejected_total", "Accepted connections that were not relayed, by reason.", MetricType::Counter);
  for (const auto& l : s.listeners) {
    for (size_t r = 0; r < static_cast<size_t>(proxy::RejectReason::kCount); ++r) {
      auto reason = to_string(static_cast<proxy::RejectReason>(r));
      e.sample({{"kind", l.kind}, {"listener", l.name}, {"reason", reason}},
               sum(l, [r](const auto& st) { return st.rejected[r].value(); }));
    }
  }
  e.family("meshd_relay_bytes_total", "Bytes relayed, by direction (upstream: client to server).", MetricType::Counter);
  for (const auto& l : s.listeners) {
    e.sample({{"kind", l.kind}, {"listener", l.name}, {"direction", "upstream"}},
             sum(l, [](const auto& st) { return st.bytes_to_upstream.value(); }));
    e.sample({{"kind", l.kind}, {"listener", l.name}, {"direction", "downstream"}},
             sum(l, [](const auto& st) { return st.bytes_to_downstream.value(); }));
  }
  e.family("meshd_accept_errors_total", "Errors from accept (e.g. out of file descriptors).", MetricType::Counter);
  for (const auto& l : s.listeners) {
    e.sample({{"kind", l.kind}, {"listener", l.name}}, sum(l, [](const auto& st) { return st.accept_errors.value(); }));
  }
}

void loops(const App::State& s, Exposition& e) {
  struct Family {
    const char* name;
    const char* help;
    MetricType type;
    double (*get)(const proxy::Worker&);
  };
  static const Family kFamilies[] = {
      {"meshd_loop_iterations_total", "Event loop iterations (one io_uring wait each).", MetricType::Counter,
       [](const proxy::Worker& w) { return static_cast<double>(w.loop_stats().iterations.value()); }},
      {"meshd_loop_completions_total", "io_uring completions dispatched.", MetricType::Counter,
       [](const proxy::Worker& w) { return static_cast<double>(w.loop_stats().completions.value()); }},
      {"meshd_loop_submissions_total", "io_uring submissions prepared.", MetricType::Counter,
       [](const proxy::Worker& w) { return static_cast<double>(w.loop_stats().submissions.value()); }},
      {"meshd_loop_timers", "Timers armed on the loop.", MetricType::Gauge,
       [](const proxy::Worker& w) { return static_cast<double>(w.loop_stats().timers_armed.value()); }},
      {"meshd_buffers_in_use", "Receive buffers held by connections.", MetricType::Gauge,
       [](const proxy::Worker& w) { return static_cast<double>(w.worker_stats().buffers_in_use.value()); }},
      {"meshd_buffer_waits_total", "Receives that found the buffer ring empty and waited.", MetricType::Counter,
       [](const proxy::Worker& w) { return static_cast<double>(w.worker_stats().buffer_waits.value()); }},
      {"meshd_worker_tunnels_dialled", "HBONE connections open that this worker dialled.", MetricType::Gauge,
       [](const proxy::Worker& w) { return static_cast<double>(w.tunnel_stats().active[0].value()); }},
      {"meshd_worker_tunnels_accepted", "HBONE connections open that this worker serves on 15008.", MetricType::Gauge,
       [](const proxy::Worker& w) { return static_cast<double>(w.tunnel_stats().active[1].value()); }},
      {"meshd_stalled_sends_total", "Sends the destination could not take at once (backpressure).", MetricType::Counter,
       [](const proxy::Worker& w) { return static_cast<double>(w.worker_stats().stalled_sends.value()); }},
  };
  for (const auto& f : kFamilies) {
    e.family(f.name, f.help, f.type);
    for (const auto& w : s.workers) e.sample({{"worker", std::to_string(w->index())}}, f.get(*w));
  }
}

// HBONE connections (mTLS + HTTP/2) summed over workers.
void tunnels(const App::State& s, Exposition& e) {
  auto sum = [&](auto get) {
    double total = 0;
    for (const auto& w : s.workers) total += static_cast<double>(get(w->tunnel_stats()));
    return total;
  };
  static const char* kRoles[2] = {"client", "server"};
  e.family("meshd_tunnel_connections_opened_total", "HBONE connections dialled (client) or accepted on 15008 (server).",
           MetricType::Counter);
  for (size_t r = 0; r < 2; ++r) e.sample({{"role", kRoles[r]}}, sum([r](const auto& t) { return t.opened[r].value(); }));
  e.family("meshd_tunnel_connections_active", "HBONE connections open.", MetricType::Gauge);
  for (size_t r = 0; r < 2; ++r) e.sample({{"role", kRoles[r]}}, sum([r](const auto& t) { return t.active[r].value(); }));
  e.family("meshd_tunnel_handoffs_total",
           "Node-local HBONE connections whose accepted end was moved to another worker (runtime.local_tunnel_worker).",
           MetricType::Counter);
  e.sample({}, sum([](const auto& t) { return t.handoffs.value(); }));
  e.family("meshd_tunnel_dial_failures_total", "Connections to a peer's 15008 that could not be made.", MetricType::Counter);
  e.sample({}, sum([](const auto& t) { return t.dial_failures.value(); }));
  e.family("meshd_tunnel_tls_failures_total", "TLS handshakes refused or failed, by reason.", MetricType::Counter);
  for (size_t i = 0; i < tunnel::kTlsFailureCount; ++i) {
    e.sample({{"reason", tunnel::to_string(static_cast<tunnel::TlsFailure>(i))}},
             sum([i](const auto& t) { return t.tls_failures[i].value(); }));
  }
  e.family("meshd_tunnel_http2_failures_total", "HBONE connections closed for an HTTP/2 error or flood, by reason.",
           MetricType::Counter);
  for (size_t i = 0; i < tunnel::http::kConnectionFailureCount; ++i) {
    e.sample({{"reason", tunnel::http::to_string(static_cast<tunnel::http::ConnectionFailure>(i))}},
             sum([i](const auto& t) { return t.h2_failures[i].value(); }));
  }
  e.family("meshd_tunnel_stream_rejects_total", "CONNECT streams refused by the HTTP/2 layer, by reason.", MetricType::Counter);
  for (size_t i = 0; i < tunnel::hbone::kStreamRejectCount; ++i) {
    e.sample({{"reason", tunnel::hbone::to_string(static_cast<tunnel::hbone::StreamReject>(i))}},
             sum([i](const auto& t) { return t.stream_rejects[i].value(); }));
  }
  e.family("meshd_tunnel_bytes_total", "Ciphertext bytes on HBONE connections.", MetricType::Counter);
  e.sample({{"direction", "sent"}}, sum([](const auto& t) { return t.bytes_sent.value(); }));
  e.sample({{"direction", "received"}}, sum([](const auto& t) { return t.bytes_received.value(); }));
}

// The HTTP connection manager (inbound L7), summed over workers.
void http(const App::State& s, Exposition& e) {
  auto sum = [&](auto get) {
    double total = 0;
    for (const auto& w : s.workers) total += static_cast<double>(get(w->http_stats()));
    return total;
  };
  e.family("meshd_protocol_detections_total",
           "Inbound connections whose protocol was settled, by how (declared by the port, sniffed, opaque, timeout, skipped).",
           MetricType::Counter);
  for (size_t i = 0; i < tunnel::http::kDetectOutcomeCount; ++i) {
    e.sample({{"outcome", tunnel::http::to_string(static_cast<tunnel::http::DetectOutcome>(i))}},
             sum([i](const auto& h) { return h.detections[i].value(); }));
  }
  e.family("meshd_http_request_errors_total", "HTTP/1 requests refused as malformed (answered 4xx, connection closed), by reason.",
           MetricType::Counter);
  for (size_t i = 1; i < tunnel::http::kH1ErrorCount; ++i) {
    e.sample({{"reason", tunnel::http::to_string(static_cast<tunnel::http::H1Error>(i))}},
             sum([i](const auto& h) { return h.request_errors[i].value(); }));
  }
  e.family("meshd_http_upstream_errors_total", "HTTP/1 responses refused as malformed (answered 502), by reason.",
           MetricType::Counter);
  for (size_t i = 1; i < tunnel::http::kH1ErrorCount; ++i) {
    e.sample({{"reason", tunnel::http::to_string(static_cast<tunnel::http::H1Error>(i))}},
             sum([i](const auto& h) { return h.response_errors[i].value(); }));
  }
  struct Simple {
    const char* name;
    const char* help;
    const base::Counter proxy::HttpStats::*counter;
  };
  static const Simple kSimple[] = {
      {"meshd_http_requests_total", "HTTP request heads decoded on inbound connections.", &proxy::HttpStats::requests},
      {"meshd_http_denied_total", "HTTP requests answered 403 by authorization.", &proxy::HttpStats::denied},
      {"meshd_http_bad_paths_total", "HTTP requests refused (400) for a path that cannot be normalized.",
       &proxy::HttpStats::bad_paths},
      {"meshd_http_header_timeouts_total", "HTTP requests whose head did not arrive in time (408).",
       &proxy::HttpStats::header_timeouts},
      {"meshd_http_upgrades_total", "Upgrade (WebSocket) and CONNECT requests handed to the byte relay.",
       &proxy::HttpStats::upgrades},
      {"meshd_http2_streams_total", "Inbound HTTP/2 streams with a request head (gRPC calls included).",
       &proxy::HttpStats::h2_streams},
  };
  for (const auto& f : kSimple) {
    e.family(f.name, f.help, MetricType::Counter);
    e.sample({}, sum([&f](const auto& h) { return (h.*f.counter).value(); }));
  }
  e.family("meshd_http2_resets_total",
           "HTTP/2 RST_STREAMs on inbound connections passed to the other side with their code, by the side that sent them.",
           MetricType::Counter);
  for (size_t side = 0; side < 2; ++side) {
    e.sample({{"from", side == 0 ? "downstream" : "upstream"}}, sum([side](const auto& h) { return h.h2_resets[side].value(); }));
  }
  e.family("meshd_http2_connection_failures_total",
           "Inbound HTTP/2 connections (the client's, or meshd's to the application) closed for an HTTP/2 error, by side and reason.",
           MetricType::Counter);
  for (size_t side = 0; side < 2; ++side) {
    for (size_t i = 1; i < tunnel::http::kConnectionFailureCount; ++i) {
      e.sample({{"side", side == 0 ? "downstream" : "upstream"},
                {"reason", tunnel::http::to_string(static_cast<tunnel::http::ConnectionFailure>(i))}},
               sum([side, i](const auto& h) { return h.h2_failures[side][i].value(); }));
    }
  }
  if (s.request_metrics) s.request_metrics->collect(e);
}

void servers(const App::State& s, Exposition& e) {
  e.family("meshd_admin_responses_total", "Responses of the admin, metrics and readiness servers, by status code.", MetricType::Counter);
  for (const auto& srv : s.servers) {
    for (const auto& [code, n] : srv->stats().responses) {
      e.sample({{"server", srv->options().name}, {"code", std::to_string(code)}}, static_cast<double>(n));
    }
  }
  e.family("meshd_admin_malformed_requests_total", "Requests rejected as malformed (400, 413, 431).", MetricType::Counter);
  for (const auto& srv : s.servers) e.sample({{"server", srv->options().name}}, static_cast<double>(srv->stats().malformed));
  e.family("meshd_admin_timeouts_total", "Connections closed for not completing a request in time.", MetricType::Counter);
  for (const auto& srv : s.servers) e.sample({{"server", srv->options().name}}, static_cast<double>(srv->stats().timeouts));
  e.family("meshd_admin_refused_total", "Connections refused over the server's connection limit.", MetricType::Counter);
  for (const auto& srv : s.servers) e.sample({{"server", srv->options().name}}, static_cast<double>(srv->stats().refused));
}

void config_reloads(const App::State& s, Exposition& e) {
  e.family("meshd_config_reloads_total", "Configuration reloads, by result.", MetricType::Counter);
  e.sample({{"result", "ok"}}, static_cast<double>(s.reloads_ok));
  e.sample({{"result", "failed"}}, static_cast<double>(s.reloads_failed));
  e.family("meshd_config_last_reload_successful", "0 if the last reload failed and the previous config is still running.",
           MetricType::Gauge);
  e.sample({}, s.last_reload.result == "failed" ? 0 : 1);
}

}  // namespace

void add_collectors(App::State& s) {
  const App::State* sp = &s;
  s.registry.add([sp](Exposition& e) { build_and_process(*sp, e); });
  s.registry.add([sp](Exposition& e) { listeners(*sp, e); });
  s.registry.add([sp](Exposition& e) { loops(*sp, e); });
  s.registry.add([sp](Exposition& e) { tunnels(*sp, e); });
  s.registry.add([sp](Exposition& e) { http(*sp, e); });
  s.registry.add([sp](Exposition& e) { servers(*sp, e); });
  s.registry.add([sp](Exposition& e) { config_reloads(*sp, e); });
  add_capture_collectors(s);
  add_identity_collectors(s);
  add_policy_collectors(s);
}

}  // namespace mesh::app
