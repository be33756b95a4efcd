#include "daemon/datapath/nft_ruleset.hpp"

#include <fcntl.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include <fmt/format.h>

#include "daemon/base/fd.hpp"

namespace mesh::datapath {
namespace {

std::string port_set(const std::vector<uint16_t>& ports) {
  std::string out = "{ ";
  for (size_t i = 0; i < ports.size(); ++i) out += (i ? ", " : "") + std::to_string(ports[i]);
  return out + " }";
}

// "ip daddr { a, b } accept" lines for the v4 and v6 members of `cidrs`.
std::string cidr_rules(const std::vector<base::Cidr>& cidrs, std::string_view field) {
  std::string v4;
  std::string v6;
  for (const auto& c : cidrs) {
    std::string& set = c.base().is_v4() ? v4 : v6;
    set += (set.empty() ? "" : ", ") + c.to_string();
  }
  std::string out;
  if (!v4.empty()) out += fmt::format("    ip {} {{ {} }} accept\n", field, v4);
  if (!v6.empty()) out += fmt::format("    ip6 {} {{ {} }} accept\n", field, v6);
  return out;
}

std::string output_chain(const NftParams& p) {
  std::string out = "  chain output {\n    type nat hook output priority -100; policy accept;\n";
  out += "    meta l4proto != tcp accept\n";
  out += fmt::format("    meta mark & {:#x} == {:#x} accept\n", p.mark_mask, p.mark);
  out += "    ip daddr 127.0.0.0/8 accept\n    ip6 daddr ::1 accept\n";
  for (const auto& ip : p.workload_ips)
    out += fmt::format("    {} daddr {} accept\n", ip.is_v4() ? "ip" : "ip6", ip.to_string());
  if (!p.exclude_outbound_ports.empty())
    out += fmt::format("    tcp dport {} accept\n", port_set(p.exclude_outbound_ports));
  out += cidr_rules(p.exclude_outbound_cidrs, "daddr");
  out += fmt::format("    meta l4proto tcp redirect to :{}\n  }}\n", p.outbound_port);
  return out;
}

std::string prerouting_chain(const NftParams& p) {
  std::string out = "  chain prerouting {\n    type nat hook prerouting priority -100; policy accept;\n";
  out += "    meta l4proto != tcp accept\n";
  out += fmt::format("    meta mark & {:#x} == {:#x} accept\n", p.mark_mask, p.mark);
  out += "    ip saddr 127.0.0.6 accept\n    ip6 saddr ::1 accept\n";
  out += "    ip daddr 127.0.0.0/8 accept\n    ip6 daddr ::1 accept\n";
  out += fmt::format("    tcp dport {} accept\n", p.tunnel_port);
  if (!p.exclude_inbound_ports.empty())
    out += fmt::format("    tcp dport {} accept\n", port_set(p.exclude_inbound_ports));
  out += cidr_rules(p.exclude_inbound_cidrs, "saddr");
  out += fmt::format("    meta l4proto tcp redirect to :{}\n  }}\n", p.inbound_port);
  return out;
}

}  // namespace

std::string render_nft_ruleset(const NftParams& p) {
  // "add table" first so that "delete table" succeeds on a fresh netns; all one transaction.
  return fmt::format("add table inet {0}\ndelete table inet {0}\ntable inet {0} {{\n{1}{2}}}\n",
                     kNftTable, output_chain(p), prerouting_chain(p));
}

std::string render_nft_delete() {
  return fmt::format("add table inet {0}\ndelete table inet {0}\n", kNftTable);
}

base::Status apply_nft(const Netns& netns, const std::string& nft_command, const std::string& script) {
  int in[2];
  int err[2];
  if (::pipe2(in, O_CLOEXEC) != 0) return base::fail_errno("create pipe for nft", errno);
  base::Fd in_r(in[0]), in_w(in[1]);
  if (::pipe2(err, O_CLOEXEC) != 0) return base::fail_errno("create pipe for nft", errno);
  base::Fd err_r(err[0]), err_w(err[1]);
  pid_t pid = ::fork();
  if (pid < 0) return base::fail_errno("fork nft", errno);
  if (pid == 0) {  // child: async-signal-safe calls only
    if (::setns(netns.fd(), CLONE_NEWNET) != 0) ::_exit(126);
    ::dup2(in_r.get(), 0);
    ::dup2(err_w.get(), 1);
    ::dup2(err_w.get(), 2);
    const char* argv[] = {nft_command.c_str(), "-f", "-", nullptr};
    ::execvp(argv[0], const_cast<char* const*>(argv));
    ::_exit(127);
  }
  in_r.reset();
  err_w.reset();
  for (size_t done = 0; done < script.size();) {
    ssize_t n = ::write(in_w.get(), script.data() + done, script.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // nft died early: its exit status says why
    done += static_cast<size_t>(n);
  }
  in_w.reset();
  std::string output;
  char buf[4096];
  for (ssize_t n; (n = ::read(err_r.get(), buf, sizeof(buf))) != 0;) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    if (output.size() < 65536) output.append(buf, static_cast<size_t>(n));
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return base::ok();
  int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  std::string why = code == 126 ? "cannot enter netns" : code == 127 ? "cannot run '" + nft_command + "'" : output;
  while (!why.empty() && why.back() == '\n') why.pop_back();
  return base::fail(base::Errc::System, fmt::format("nft in netns '{}' exited {}: {}", netns.path(), code, why));
}

}  // namespace mesh::datapath
