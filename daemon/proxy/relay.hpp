#pragma once
// Relay: one proxied TCP connection, downstream (accepted) <-> upstream (dialled), copying
// bytes both ways. Each direction is a Pipe: an io_uring receive into a provided buffer, then
// a direct non-blocking send. A shared pool buffer is held only inside that one completion:
// whatever the destination cannot take at once is copied to the pipe's own pending buffer,
// sent with io_uring, and the pipe stops receiving until it drains. So a slow or stalled
// reader back-pressures its writer through the kernel's socket buffers and can never starve
// other connections of receive buffers, and an idle connection holds no buffer at all.
// Half-close is propagated (EOF on one side -> shutdown(SHUT_WR) on the other; the other
// direction continues), resets are propagated as resets, and idle connections time out.
//
// Lifetime (STYLE.md): a Relay owns itself from start() until every submitted op has
// completed. close() cancels what is in flight; the last completion frees it. Runs on one
// worker thread.
#include <netinet/in.h>
#include <sys/socket.h>

#include <memory>
#include <optional>
#include <string>

#include "daemon/base/fd.hpp"
#include "daemon/base/result.hpp"
#include "daemon/base/intrusive_list.hpp"
#include "daemon/base/socket_addr.hpp"
#include "daemon/io/op.hpp"
#include "daemon/proxy/relay_stats.hpp"
#include "daemon/proxy/worker_context.hpp"

namespace mesh::proxy {

// How the connections of one listener are dialled and timed. Immutable; shared by the
// listener and its relays on one worker.
struct UpstreamPolicy {
  std::string name;                       // for logs
  base::Duration connect_timeout = std::chrono::seconds(10);
  base::Duration idle_timeout = std::chrono::hours(1);
  std::shared_ptr<base::Fd> netns;        // dial inside this netns (null: the worker's own)
  uint32_t mark = 0;                      // SO_MARK on upstream sockets (0: none)
  std::optional<base::IpAddr> source_v4;  // bind the upstream socket to this source (IPv4)
  std::optional<base::IpAddr> source_v6;  // ... and this one for IPv6 destinations
};

// A non-blocking TCP socket for a connection to `upstream` dialled as `policy` says: inside
// its netns, with its mark, bound to its source address for that family.
base::Result<base::Fd> upstream_socket(const UpstreamPolicy& policy, const base::SocketAddr& upstream);
// What a failed connect to an upstream (its errno) is counted as.
RejectReason reject_for_connect_error(int err);

class Relay final : public Flow, private io::Timer::Handler {
 public:
  // Takes ownership of `downstream` (already counted against the budget) and starts
  // connecting to `upstream`. The relay frees itself when done.
  static void start(WorkerContext& ctx, std::shared_ptr<const UpstreamPolicy> policy,
                    std::shared_ptr<RelayStats> stats, base::Fd downstream, const base::SocketAddr& upstream,
                    std::optional<FlowAttrs> attrs = std::nullopt);

  // Ends the connection now (drain deadline, shutdown), resetting both sides.
  void abort(CloseReason reason) override;
  const UpstreamPolicy& policy() const override { return *policy_; }
  void discard() override;

 private:
  class Pipe final : public io::BufferRing::Waiter {
   public:
    Pipe(Relay& relay, bool to_upstream) : relay_(relay), to_upstream_(to_upstream) {}
    void attach(int from_fd, int to_fd) {
      from_fd_ = from_fd;
      to_fd_ = to_fd;
    }
    void arm_recv();
    bool shut() const { return shut_; }
    void release_buffers();
    void stop_waiting();

   private:
    void on_recv(int res, uint32_t flags);
    void on_send(int res, uint32_t flags);
    void on_buffer_available() override;
    void forward(const uint8_t* data, size_t len);
    void send_pending();
    void fail(int err, bool sending);
    void maybe_shutdown();

    Relay& relay_;
    io::MemberOp<Pipe, &Pipe::on_recv> recv_op_{this};
    io::MemberOp<Pipe, &Pipe::on_send> send_op_{this};
    int from_fd_ = -1;
    int to_fd_ = -1;
    std::unique_ptr<uint8_t[]> pending_;  // bytes the destination could not take yet
    uint32_t pending_len_ = 0;
    uint32_t pending_off_ = 0;
    bool recv_armed_ = false;
    bool send_armed_ = false;
    bool eof_ = false;
    bool shut_ = false;
    bool to_upstream_;
  };

  enum class State : uint8_t { Connecting, Relaying, Closing };

  Relay(WorkerContext& ctx, std::shared_ptr<const UpstreamPolicy> policy, std::shared_ptr<RelayStats> stats,
        base::Fd downstream);
  ~Relay();
  void connect(const base::SocketAddr& upstream);
  void on_connect(int res, uint32_t flags);
  void on_timer(io::Timer& timer) override;
  void reject(RejectReason reason);
  void close(CloseReason reason, bool reset = false);
  void begin_close(bool reset);
  void op_done();
  void maybe_finish();
  void check_done();

  WorkerContext& ctx_;
  std::shared_ptr<const UpstreamPolicy> policy_;
  std::shared_ptr<RelayStats> stats_holder_;  // keeps the stats alive after their listener goes
  RelayStats& stats_;
  base::Fd down_;
  base::Fd up_;
  io::MemberOp<Relay, &Relay::on_connect> connect_op_{this};
  io::Timer timer_{this};
  Pipe to_up_{*this, true};
  Pipe to_down_{*this, false};
  union {
    sockaddr_in v4;
    sockaddr_in6 v6;
  } upstream_sa_{};  // must outlive the connect op
  base::MonoTime last_activity_{};
  uint16_t inflight_ = 0;
  State state_ = State::Connecting;
  bool finished_ = false;
  bool rejected_ = false;
  RejectReason reject_reason_ = RejectReason::UpstreamError;
  CloseReason close_reason_ = CloseReason::Normal;
};

}  // namespace mesh::proxy
