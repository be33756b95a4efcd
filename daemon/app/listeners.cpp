// Listeners that every worker serves: installing them (one socket per worker, or one socket
// shared through dup()s) and removing them at runtime.
#include <unistd.h>

#include <cerrno>

#include <fmt/format.h>

#include "daemon/app/state.hpp"

namespace mesh::app {

base::Result<uint64_t> install_listener(App::State& s, ListenerPlan plan) {
  const size_t n = s.workers.size();
  if (plan.fds.size() != 1 && plan.fds.size() != n) {
    return base::fail(base::Errc::Internal, "a listener needs one socket, or one per worker");
  }
  // A single socket is shared: each worker accepts on its own dup() of it.
  while (plan.fds.size() < n) {
    int dup = ::fcntl(plan.fds.front().get(), F_DUPFD_CLOEXEC, 0);
    if (dup < 0) return base::fail_errno(fmt::format("duplicate the listening socket of '{}'", plan.name), errno);
    plan.fds.emplace_back(dup);
  }
  ListenerEntry entry{s.next_listener_id++, plan.kind, plan.name, plan.listen, plan.upstream, {}};
  for (size_t i = 0; i < n; ++i) {
    auto stats = std::make_shared<proxy::RelayStats>();
    entry.stats.push_back(stats);
    s.workers[i]->add_listener(proxy::ListenerSpec{entry.id, std::move(plan.fds[i]), plan.make_profile(), stats,
                                                   plan.destination, plan.tunnel_server});
  }
  s.listeners.push_back(std::move(entry));
  return s.listeners.back().id;
}

void remove_listener(App::State& s, uint64_t id, bool abort) {
  for (auto& w : s.workers) w->remove_listener(id, abort);
  std::erase_if(s.listeners, [id](const ListenerEntry& e) { return e.id == id; });
}

}  // namespace mesh::app
