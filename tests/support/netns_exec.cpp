// netns_exec: runs a command "inside a pod": joins a cgroup v2 directory first (so its sockets
// belong to that cgroup and the capture programs see them), then the network namespace,
// then execs. Unlike `ip netns exec` it creates no mount namespace.
//   netns_exec [--cgroup DIR] [--netns PATH] -- CMD [ARGS...]
#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>

int main(int argc, char** argv) {
  std::string cgroup;
  std::string netns;
  int i = 1;
  for (; i < argc; ++i) {
    std::string k = argv[i];
    if (k == "--") { ++i; break; }
    if (i + 1 >= argc) break;
    if (k == "--cgroup") cgroup = argv[++i];
    else if (k == "--netns") netns = argv[++i];
    else { std::fprintf(stderr, "netns_exec: unknown option %s\n", k.c_str()); return 2; }
  }
  if (i >= argc) {
    std::fprintf(stderr, "usage: netns_exec [--cgroup DIR] [--netns PATH] -- CMD [ARGS...]\n");
    return 2;
  }
  if (!cgroup.empty()) {
    int fd = ::open((cgroup + "/cgroup.procs").c_str(), O_WRONLY | O_CLOEXEC);
    std::string pid = std::to_string(::getpid());
    if (fd < 0 || ::write(fd, pid.data(), pid.size()) < 0) {
      std::fprintf(stderr, "netns_exec: join cgroup %s: %s\n", cgroup.c_str(), std::strerror(errno));
      return 125;
    }
    ::close(fd);
  }
  if (!netns.empty()) {
    int fd = ::open(netns.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0 || ::setns(fd, CLONE_NEWNET) != 0) {
      std::fprintf(stderr, "netns_exec: enter netns %s: %s\n", netns.c_str(), std::strerror(errno));
      return 125;
    }
    ::close(fd);
  }
  ::execvp(argv[i], argv + i);
  std::fprintf(stderr, "netns_exec: exec %s: %s\n", argv[i], std::strerror(errno));
  return 127;
}
