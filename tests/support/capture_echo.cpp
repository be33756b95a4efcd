// capture_echo: a test server. Listens on [::]:PORT (dual-stack); on each connection it first
// writes "peer=<peer> local=<local>\n" (what the server sees), then echoes bytes until EOF.
// Prints "ready" on stdout once listening. Threads per connection; runs until killed.
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "tests/support/capture_net.hpp"

using namespace mesh;

int main(int argc, char** argv) {
  ::signal(SIGPIPE, SIG_IGN);
  if (argc != 3 || std::string(argv[1]) != "--port") {
    std::fprintf(stderr, "usage: capture_echo --port PORT\n");
    return 2;
  }
  int port = std::atoi(argv[2]);
  base::Fd srv(::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0));
  int one = 1;
  int zero = 0;
  ::setsockopt(srv.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  ::setsockopt(srv.get(), IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
  sockaddr_in6 sa{};
  sa.sin6_family = AF_INET6;
  sa.sin6_port = htons(static_cast<uint16_t>(port));
  if (::bind(srv.get(), reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0 || ::listen(srv.get(), 1024) != 0) {
    std::perror("capture_echo: listen");
    return 1;
  }
  std::printf("ready\n");
  std::fflush(stdout);
  for (;;) {
    int c = ::accept4(srv.get(), nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) continue;
    std::thread([c] {
      base::Fd conn(c);
      timeval tv{30, 0};
      ::setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
      std::string hello = "peer=" + testsupport::peer_of(c) + " local=" + testsupport::local_of(c) + "\n";
      if (!testsupport::write_all(c, hello)) return;
      char buf[4096];
      for (ssize_t n; (n = ::read(c, buf, sizeof(buf))) > 0;)
        if (!testsupport::write_all(c, std::string(buf, static_cast<size_t>(n)))) return;
    }).detach();
  }
}
