// load: the open-loop client. Request i (0, 1, 2, ...) is due at t0 + i/rate and goes on
// connection i mod N, so the aggregate rate is fixed and spread evenly over the connections.
// A connection carries at most --max-outstanding requests at a time (default 1, like an
// HTTP/1.1 client and wrk2; 0 pipelines without limit): a request is written when it is due
// or, if its connection is still busy, as soon as the answer before it arrives. Its latency
// is taken from its *due* time to the arrival of its last response byte, so a stalled proxy
// is charged for every request that should have gone out during the stall (no coordinated
// omission). The first --warmup seconds are not recorded; after the last due time the client
// waits at most --drain seconds for outstanding answers, which are then counted as lost.
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>

#include <cerrno>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <deque>
#include <vector>

#include "bench/l4/histogram.hpp"
#include "bench/l4/modes.hpp"

namespace mesh::bench {
namespace {

constexpr size_t kIoSize = 64 * 1024;

struct LoadConfig {
  base::SocketAddr target;
  size_t connections;
  double rate;
  double duration_s;
  double warmup_s;
  uint64_t request_size;
  uint64_t response_size;
  std::vector<uint8_t> request;  // one request's bytes (request_size of them)
  double drain_s;
  size_t max_outstanding;  // per connection; 0: unlimited
};

struct Conn {
  base::Fd fd;
  std::deque<uint64_t> due;  // due times of requests not yet answered, oldest first
  size_t unsent = 0;         // how many at the back of `due` are not completely written
  uint64_t write_off = 0;    // bytes of the first unsent request already written
  uint64_t read_partial = 0; // bytes of the current response received so far
  bool connected = false;
  bool want_out = false;
  bool dirty = false;
  bool dead = false;
};

struct LoadResult {
  LatencyHistogram latency;   // due time -> last response byte, measured requests
  LatencyHistogram send_lag;  // due time -> last request byte written, measured requests
  uint64_t scheduled = 0, measured = 0, answered = 0, in_window = 0;
  uint64_t connect_errors = 0, conn_errors = 0, lost = 0, protocol_errors = 0;
  uint64_t elapsed_ns = 0, cpu_ns = 0;
  bool interrupted = false;
};

class LoadClient {
 public:
  explicit LoadClient(const LoadConfig& cfg) : cfg_(cfg), ep_(::epoll_create1(EPOLL_CLOEXEC)), conns_(cfg.connections) {
    // As many whole requests back to back as fit (at least one): a write starts at the offset
    // within its request, so any request bytes work, not only a repeated fill byte.
    size_t copies = std::max<size_t>(1, kIoSize / cfg.request.size());
    out_.reserve(copies * cfg.request.size());
    for (size_t i = 0; i < copies; ++i) out_.insert(out_.end(), cfg.request.begin(), cfg.request.end());
  }

  bool connect_all(uint64_t timeout_ns);
  void run();
  const LoadResult& result() const { return r_; }

 private:
  uint64_t due_at(uint64_t i) const { return t0_ + static_cast<uint64_t>(static_cast<double>(i) * 1e9 / cfg_.rate); }
  void schedule_due(uint64_t now);
  void flush(size_t idx);
  void on_readable(size_t idx);
  void drop(size_t idx);
  void update_interest(size_t idx, bool blocked);
  size_t outstanding() const;

  const LoadConfig& cfg_;
  base::Fd ep_;
  std::vector<Conn> conns_;
  std::vector<size_t> dirty_;
  std::vector<uint8_t> buf_ = std::vector<uint8_t>(kIoSize, 0);   // responses land here
  std::vector<uint8_t> out_;  // whole requests back to back; writes come from here
  uint64_t t0_ = 0, measure_start_ = 0, measure_end_ = 0, total_ = 0, next_ = 0;
  LoadResult r_;
};

bool LoadClient::connect_all(uint64_t timeout_ns) {
  for (size_t i = 0; i < conns_.size(); ++i) {
    conns_[i].fd = start_connect(cfg_.target);
    if (!conns_[i].fd) {
      conns_[i].dead = true;
      ++r_.connect_errors;
      continue;
    }
    epoll_event ev{};
    ev.events = EPOLLOUT;
    ev.data.u64 = i;
    ::epoll_ctl(ep_.get(), EPOLL_CTL_ADD, conns_[i].fd.get(), &ev);
  }
  size_t pending = conns_.size() - r_.connect_errors;
  uint64_t deadline = now_ns() + timeout_ns;
  std::vector<epoll_event> events(256);
  while (pending > 0 && now_ns() < deadline && !stop_requested()) {
    int n = ::epoll_wait(ep_.get(), events.data(), static_cast<int>(events.size()), 50);
    for (int k = 0; k < n; ++k) {
      size_t i = events[static_cast<size_t>(k)].data.u64;
      Conn& c = conns_[i];
      int err = 0;
      socklen_t len = sizeof err;
      ::getsockopt(c.fd.get(), SOL_SOCKET, SO_ERROR, &err, &len);
      --pending;
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.u64 = i;
      if (err != 0) {
        ++r_.connect_errors;
        c.dead = true;
        ::epoll_ctl(ep_.get(), EPOLL_CTL_DEL, c.fd.get(), nullptr);
        c.fd.reset();
      } else {
        c.connected = true;
        ::epoll_ctl(ep_.get(), EPOLL_CTL_MOD, c.fd.get(), &ev);
      }
    }
  }
  for (auto& c : conns_) {  // still connecting at the deadline: a failure too
    if (c.dead || c.connected) continue;
    ++r_.connect_errors;
    c.dead = true;
    ::epoll_ctl(ep_.get(), EPOLL_CTL_DEL, c.fd.get(), nullptr);
    c.fd.reset();
  }
  return r_.connect_errors < conns_.size();
}

size_t LoadClient::outstanding() const {
  size_t n = 0;
  for (const auto& c : conns_) n += c.due.size();
  return n;
}

void LoadClient::schedule_due(uint64_t now) {
  while (next_ < total_ && due_at(next_) <= now) {
    uint64_t due = due_at(next_);
    size_t idx = static_cast<size_t>(next_ % conns_.size());
    ++next_;
    ++r_.scheduled;
    if (due >= measure_start_) ++r_.measured;
    Conn& c = conns_[idx];
    if (c.dead) {
      ++r_.lost;
      continue;
    }
    c.due.push_back(due);
    ++c.unsent;
    if (!c.dirty) {
      c.dirty = true;
      dirty_.push_back(idx);
    }
  }
  for (size_t idx : dirty_) {
    conns_[idx].dirty = false;
    if (!conns_[idx].want_out) flush(idx);  // else wait for EPOLLOUT
  }
  dirty_.clear();
}

void LoadClient::flush(size_t idx) {
  Conn& c = conns_[idx];
  bool blocked = false;
  while (c.unsent > 0 && !c.dead) {
    size_t sendable = c.unsent;
    if (cfg_.max_outstanding != 0) {
      size_t in_flight = c.due.size() - c.unsent;  // written, not yet answered
      if (in_flight >= cfg_.max_outstanding) break;
      sendable = std::min(sendable, cfg_.max_outstanding - in_flight);
    }
    uint64_t left = sendable * cfg_.request_size - c.write_off;
    size_t room = out_.size() - static_cast<size_t>(c.write_off);  // write_off < request_size
    size_t len = left < room ? static_cast<size_t>(left) : room;
    ssize_t n = ::send(c.fd.get(), out_.data() + c.write_off, len, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) {
        blocked = true;
        break;
      }
      return drop(idx);
    }
    uint64_t now = now_ns();
    c.write_off += static_cast<uint64_t>(n);
    while (c.write_off >= cfg_.request_size) {
      c.write_off -= cfg_.request_size;
      uint64_t due = c.due[c.due.size() - c.unsent];
      if (due >= measure_start_) r_.send_lag.record(now - due);
      --c.unsent;
    }
  }
  update_interest(idx, blocked);
}

// EPOLLOUT only while the socket itself refuses bytes, not while the outstanding limit waits.
void LoadClient::update_interest(size_t idx, bool blocked) {
  Conn& c = conns_[idx];
  bool want = blocked && !c.dead;
  if (want == c.want_out || c.dead) return;
  c.want_out = want;
  epoll_event ev{};
  ev.events = want ? EPOLLIN | EPOLLOUT : EPOLLIN;
  ev.data.u64 = idx;
  ::epoll_ctl(ep_.get(), EPOLL_CTL_MOD, c.fd.get(), &ev);
}

void LoadClient::on_readable(size_t idx) {
  Conn& c = conns_[idx];
  for (;;) {
    ssize_t n = ::recv(c.fd.get(), buf_.data(), buf_.size(), MSG_DONTWAIT);
    if (n == 0) return drop(idx);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) return;
      return drop(idx);
    }
    uint64_t now = now_ns();
    c.read_partial += static_cast<uint64_t>(n);
    while (c.read_partial >= cfg_.response_size) {
      c.read_partial -= cfg_.response_size;
      if (c.due.size() <= c.unsent) {  // an answer to a request not yet sent
        ++r_.protocol_errors;
        return drop(idx);
      }
      uint64_t due = c.due.front();
      c.due.pop_front();
      ++r_.answered;
      if (due >= measure_start_) r_.latency.record(now - due);
      if (now >= measure_start_ && now < measure_end_) ++r_.in_window;
    }
    if (c.unsent > 0 && !c.want_out) flush(idx);  // the next request may go now
    if (c.dead || static_cast<size_t>(n) < buf_.size()) return;
  }
}

void LoadClient::drop(size_t idx) {
  Conn& c = conns_[idx];
  if (c.dead) return;
  c.dead = true;
  ++r_.conn_errors;
  r_.lost += c.due.size();
  c.due.clear();
  c.unsent = 0;
  ::epoll_ctl(ep_.get(), EPOLL_CTL_DEL, c.fd.get(), nullptr);
  c.fd.reset();
}

void LoadClient::run() {
  ::prctl(PR_SET_TIMERSLACK, 1000UL, 0UL, 0UL, 0UL);  // wake within ~1 us of a due time
  uint64_t cpu0 = cpu_ns();
  t0_ = now_ns() + 10'000'000;
  measure_start_ = t0_ + static_cast<uint64_t>(cfg_.warmup_s * 1e9);
  measure_end_ = measure_start_ + static_cast<uint64_t>(cfg_.duration_s * 1e9);
  total_ = static_cast<uint64_t>(std::llround((cfg_.warmup_s + cfg_.duration_s) * cfg_.rate));
  uint64_t drain_end = measure_end_ + static_cast<uint64_t>(cfg_.drain_s * 1e9);
  std::vector<epoll_event> events(512);
  for (;;) {
    uint64_t now = now_ns();
    schedule_due(now);
    if (stop_requested()) {
      r_.interrupted = true;
      break;
    }
    if (next_ >= total_ && (outstanding() == 0 || now >= drain_end)) break;
    uint64_t wake = next_ < total_ ? due_at(next_) : std::min(drain_end, now + 10'000'000);
    timespec ts{};
    if (wake > now) {
      ts.tv_sec = static_cast<time_t>((wake - now) / 1000000000u);
      ts.tv_nsec = static_cast<long>((wake - now) % 1000000000u);
    }
    int n = ::epoll_pwait2(ep_.get(), events.data(), static_cast<int>(events.size()), &ts, nullptr);
    for (int k = 0; k < n; ++k) {
      const auto& ev = events[static_cast<size_t>(k)];
      size_t idx = ev.data.u64;
      if (conns_[idx].dead) continue;
      if (ev.events & (EPOLLIN | EPOLLHUP | EPOLLERR)) on_readable(idx);
      if (!conns_[idx].dead && (ev.events & EPOLLOUT)) flush(idx);
    }
  }
  r_.lost += outstanding();
  r_.elapsed_ns = now_ns() - t0_;
  r_.cpu_ns = cpu_ns() - cpu0;
}

double us(uint64_t ns) { return static_cast<double>(ns) / 1000.0; }

void print_result(const LoadConfig& cfg, const LoadResult& r) {
  const auto& h = r.latency;
  std::printf(
      "{\"mode\":\"load\",\"target\":\"%s\",\"connections\":%zu,\"max_outstanding\":%zu,\"rate\":%.1f,\"duration_s\":%.3f,"
      "\"warmup_s\":%.3f,\"request_size\":%llu,\"response_size\":%llu,"
      "\"scheduled\":%llu,\"measured\":%llu,\"answered\":%llu,\"recorded\":%llu,"
      "\"achieved_rps\":%.1f,\"latency_us\":{\"min\":%.1f,\"p50\":%.1f,\"p90\":%.1f,\"p99\":%.1f,"
      "\"p999\":%.1f,\"max\":%.1f,\"mean\":%.1f},\"send_lag_us\":{\"p50\":%.1f,\"p99\":%.1f,\"max\":%.1f},"
      "\"errors\":{\"connect\":%llu,\"connection\":%llu,\"lost\":%llu,\"protocol\":%llu},"
      "\"client_cpu_s\":%.3f,\"interrupted\":%s}\n",
      cfg.target.to_string().c_str(), cfg.connections, cfg.max_outstanding, cfg.rate, cfg.duration_s, cfg.warmup_s,
      static_cast<unsigned long long>(cfg.request_size), static_cast<unsigned long long>(cfg.response_size),
      static_cast<unsigned long long>(r.scheduled), static_cast<unsigned long long>(r.measured),
      static_cast<unsigned long long>(r.answered), static_cast<unsigned long long>(h.count()),
      static_cast<double>(r.in_window) / cfg.duration_s, us(h.min()), us(h.quantile(0.5)), us(h.quantile(0.9)),
      us(h.quantile(0.99)), us(h.quantile(0.999)), us(h.max()), h.mean() / 1000.0, us(r.send_lag.quantile(0.5)),
      us(r.send_lag.quantile(0.99)), us(r.send_lag.max()), static_cast<unsigned long long>(r.connect_errors),
      static_cast<unsigned long long>(r.conn_errors), static_cast<unsigned long long>(r.lost),
      static_cast<unsigned long long>(r.protocol_errors), static_cast<double>(r.cpu_ns) / 1e9,
      r.interrupted ? "true" : "false");
  std::fflush(stdout);
}

}  // namespace

int run_load(const Options& opts) {
  if (!opts.check_known({"target", "connections", "rate", "duration", "warmup", "size", "response-size", "drain",
                         "connect-timeout", "max-outstanding", "request-file"})) {
    return 2;
  }
  raise_nofile();
  LoadConfig cfg{};
  cfg.target = parse_addr_or_exit(opts.str("target", ""));
  cfg.connections = static_cast<size_t>(opts.num("connections", 100));
  cfg.rate = opts.num("rate", 1000);
  cfg.duration_s = opts.num("duration", 5);
  cfg.warmup_s = opts.num("warmup", 1);
  cfg.request = request_bytes(opts, 'q');
  cfg.request_size = cfg.request.size();
  cfg.response_size = static_cast<uint64_t>(opts.num("response-size", static_cast<double>(cfg.request_size)));
  cfg.drain_s = opts.num("drain", 2);
  cfg.max_outstanding = static_cast<size_t>(opts.num("max-outstanding", 1));
  if (cfg.connections == 0 || cfg.rate <= 0 || cfg.duration_s <= 0 || cfg.duration_s > 3600 || cfg.warmup_s < 0 ||
      cfg.request_size == 0 || cfg.response_size == 0 || cfg.drain_s < 0 || cfg.drain_s > 600) {
    std::fprintf(stderr, "l4_loadgen load: bad --connections/--rate/--duration/--warmup/--size/--drain\n");
    return 2;
  }
  LoadClient client(cfg);
  if (!client.connect_all(static_cast<uint64_t>(opts.num("connect-timeout", 5) * 1e9))) {
    std::fprintf(stderr, "l4_loadgen load: no connection to %s\n", cfg.target.to_string().c_str());
    return 1;
  }
  client.run();
  print_result(cfg, client.result());
  return 0;
}

}  // namespace mesh::bench
