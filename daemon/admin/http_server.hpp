#pragma once
// HttpServer: a small HTTP/1.1 server on an io_uring Loop, for the admin socket, the
// Prometheus port and the readiness port. Keep-alive, pipelining, bounded everything:
// connections (extra ones are refused), request size (431/413), and time (a client that
// does not send a complete request within request_timeout is closed, with 408 if it sent
// part of one). Malformed requests get a 400 and the connection is closed; the server keeps
// serving everyone else. Runs on the loop's thread.
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "daemon/admin/router.hpp"
#include "daemon/base/counter.hpp"
#include "daemon/base/fd.hpp"
#include "daemon/base/intrusive_list.hpp"
#include "daemon/io/loop.hpp"
#include "tunnel/http/h1_message_parser.hpp"

namespace mesh::admin {

struct HttpServerOptions {
  std::string name;                  // "admin", "metrics", "readiness": the metrics label
  base::Duration request_timeout = std::chrono::seconds(10);
  unsigned max_connections = 64;
  tunnel::http::Limits limits{};
};

struct HttpServerStats {
  std::map<int, uint64_t> responses;  // by status; control thread only
  uint64_t refused = 0;               // over max_connections
  uint64_t timeouts = 0;
  uint64_t malformed = 0;
};

class HttpServer final : private io::Timer::Handler {
 public:
  HttpServer(io::Loop& loop, const Router& router, HttpServerOptions options, base::Fd listen_fd);
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;
  ~HttpServer();

  void start();
  void stop();  // stops accepting and closes idle connections
  const HttpServerOptions& options() const { return options_; }
  const HttpServerStats& stats() const { return stats_; }
  size_t connections() const { return conns_.size(); }

 private:
  class Connection;
  void on_accept(int res, uint32_t flags);
  void on_timer(io::Timer&) override;
  void count(int status) { ++stats_.responses[status]; }

  io::Loop& loop_;
  const Router& router_;
  HttpServerOptions options_;
  base::Fd fd_;
  io::MemberOp<HttpServer, &HttpServer::on_accept> accept_op_{this};
  io::Timer retry_timer_{this};
  base::IntrusiveList<Connection> conns_;
  HttpServerStats stats_;
  bool armed_ = false;
  bool stopping_ = false;
};

}  // namespace mesh::admin
