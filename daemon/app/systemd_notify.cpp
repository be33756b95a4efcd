#include "daemon/app/systemd_notify.hpp"

#include <dlfcn.h>
#include <systemd/sd-daemon.h>

#include <cstdlib>
#include <string>
#include <type_traits>

#include "daemon/base/log.hpp"

namespace mesh::app {

// The pointers must have the types the header declares.
static_assert(std::is_same_v<decltype(&sd_notify), int (*)(int, const char*)>);
static_assert(std::is_same_v<decltype(&sd_watchdog_enabled), int (*)(int, uint64_t*)>);

SystemdNotifier::SystemdNotifier() {
  const char* socket = std::getenv("NOTIFY_SOCKET");
  if (socket == nullptr || *socket == '\0') return;
  // Loaded for the life of the process: never closed.
  void* lib = ::dlopen("libsystemd.so.0", RTLD_NOW | RTLD_LOCAL);
  if (lib == nullptr) {
    base::log::warn("NOTIFY_SOCKET is set but libsystemd cannot be loaded ({}): systemd will not hear that meshd is ready",
                    ::dlerror());
    return;
  }
  auto notify = reinterpret_cast<NotifyFn>(::dlsym(lib, "sd_notify"));
  auto watchdog = reinterpret_cast<WatchdogFn>(::dlsym(lib, "sd_watchdog_enabled"));
  if (notify == nullptr || watchdog == nullptr) {
    base::log::warn("libsystemd has no sd_notify/sd_watchdog_enabled: systemd will not hear that meshd is ready");
    return;
  }
  notify_ = notify;
  watchdog_enabled_ = watchdog;
}

void SystemdNotifier::notify(std::string_view state) const {
  if (notify_ == nullptr) return;
  std::string s(state);
  notify_(0, s.c_str());
}

base::Duration SystemdNotifier::watchdog_interval() const {
  uint64_t usec = 0;
  if (watchdog_enabled_ == nullptr || watchdog_enabled_(0, &usec) <= 0) return base::Duration::zero();
  return std::chrono::microseconds(usec);
}

}  // namespace mesh::app
