#pragma once
// The modes of l4_loadgen, the L4 relay benchmark's traffic tool:
//   serve  the backend: answers every request of --size bytes with --response-size bytes, on
//          any number of keep-alive connections, and holds idle connections open
//   load   the open-loop client: --connections keep-alive connections, requests at a fixed
//          aggregate --rate, latency from each request's scheduled send time
//   hold   the idle-connection client: opens connections in steps, proves each one relays a
//          request, then holds them idle while the caller measures memory
//   churn  the connection-rate client: new connections from --concurrency threads, one
//          request and answer each, then closed; flows per second
// Each prints what it measured as one JSON object per line on stdout.
#include "bench/l4/net.hpp"

namespace mesh::bench {

int run_serve(const Options& opts);
int run_load(const Options& opts);
int run_hold(const Options& opts);
int run_churn(const Options& opts);

// Set by SIGINT/SIGTERM; every mode's loop checks it.
bool stop_requested();
void install_stop_handlers();

}  // namespace mesh::bench
