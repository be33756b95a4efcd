#pragma once
// The stand-in daemon's state: per-workload listeners and their accept threads, the event
// log, and the control commands. See capture_testd.cpp for what it does.
#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "daemon/base/fd.hpp"
#include "daemon/base/socket_addr.hpp"
#include "daemon/datapath/capture.hpp"
#include "daemon/datapath/netns.hpp"

namespace mesh::testsupport {

struct TestdOptions {
  datapath::CaptureOptions capture;
  std::string control;
  std::string events;
  std::map<base::SocketAddr, base::SocketAddr> services;
  bool uninstall = false;
};

class TestDaemon {
 public:
  TestDaemon(TestdOptions options, std::unique_ptr<datapath::Capture> capture);
  int run();  // serves the control socket until SIGTERM

 private:
  struct Workload {
    std::string name;
    uint64_t cookie = 0;
    datapath::Listeners listeners;
    std::optional<datapath::Netns> netns;  // null for bare metal
    std::vector<std::thread> threads;
  };
  void start(datapath::Enrolled e);
  void stop(const std::string& name);
  void accept_loop(std::shared_ptr<Workload> w, int fd, bool outbound);
  void outbound(Workload* w, base::Fd conn);
  void inbound(Workload* w, base::Fd conn);
  void event(const std::string& line);
  std::string command(const std::string& line);
  std::string cmd_enroll(const std::string& args);
  std::string cmd_counters();

  TestdOptions options_;
  std::unique_ptr<datapath::Capture> capture_;
  datapath::OrigDstResolver resolver_;
  base::Fd events_;
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<Workload>> workloads_;  // shared with connection threads
  std::atomic<uint64_t> misses_{0};
};

}  // namespace mesh::testsupport
