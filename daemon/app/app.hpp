#pragma once
// App: the composition root. Builds every part of the daemon from Settings, owns them, and
// owns the shutdown order: drain workers -> stop workers -> stop admin servers -> exit.
// The main thread runs the control loop (admin socket, metrics, readiness, signals, reload,
// watchdog); each worker thread runs its own io_uring loop. Only this layer constructs
// concrete implementations.
#include <memory>
#include <string>

#include "daemon/base/result.hpp"
#include "daemon/config/settings.hpp"
#include "daemon/io/probe.hpp"

namespace mesh::app {

struct AppOptions {
  std::string config_path;  // re-read on SIGHUP and POST /v1/reload
  io::ProbeReport io_uring;
};

class App {
 public:
  static base::Result<std::unique_ptr<App>> create(config::Settings settings, AppOptions options);
  App(const App&) = delete;
  App& operator=(const App&) = delete;
  ~App();

  // Runs until SIGTERM/SIGINT has drained the daemon. Returns the process exit code.
  int run();

  struct State;  // defined in state.hpp, for the app's own translation units

 private:
  explicit App(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

// Raises RLIMIT_NOFILE towards `wanted` (soft and hard if privileged, else soft to hard).
// Returns the soft limit now in effect.
uint64_t raise_open_file_limit(uint64_t wanted);

}  // namespace mesh::app
