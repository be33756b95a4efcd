#pragma once
// The systemd notification protocol (sd_notify: READY, STOPPING, STATUS, WATCHDOG), through
// libsystemd loaded only when systemd asked for notifications (NOTIFY_SOCKET is set).
// Debian 12's libsystemd links libgcrypt, liblzma, libzstd, liblz4 and libcap at load time,
// about 1.3 MiB of resident pages in every process that links it; newer systemd loads those
// lazily. meshd run by anything else (a Kubernetes DaemonSet, a shell) never maps them.
#include <cstdint>
#include <string_view>

#include "daemon/base/clock.hpp"

namespace mesh::app {

class SystemdNotifier {
 public:
  // Loads libsystemd when NOTIFY_SOCKET is set; logs a warning when it cannot be loaded.
  SystemdNotifier();
  SystemdNotifier(const SystemdNotifier&) = delete;
  SystemdNotifier& operator=(const SystemdNotifier&) = delete;

  bool active() const { return notify_ != nullptr; }
  // Sends `state` ("READY=1\nSTATUS=...") when active; otherwise does nothing.
  void notify(std::string_view state) const;
  // The watchdog interval systemd expects pings within, or zero when there is none.
  base::Duration watchdog_interval() const;

 private:
  using NotifyFn = int (*)(int, const char*);
  using WatchdogFn = int (*)(int, uint64_t*);
  NotifyFn notify_ = nullptr;
  WatchdogFn watchdog_enabled_ = nullptr;
};

}  // namespace mesh::app
