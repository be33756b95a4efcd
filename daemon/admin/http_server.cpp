#include "daemon/admin/http_server.hpp"

#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "daemon/base/log.hpp"
#include "daemon/io/socket.hpp"

namespace mesh::admin {

using tunnel::http::MessageParser;

class HttpServer::Connection final : public base::IntrusiveListNode<Connection>, private io::Timer::Handler {
 public:
  Connection(HttpServer& server, base::Fd fd)
      : server_(server), fd_(std::move(fd)), parser_(MessageParser::Kind::Request, server.options_.limits) {
    server_.conns_.push_back(*this);
  }
  ~Connection() { server_.conns_.remove(*this); }

  void start() {
    arm_timer();
    arm_recv();
  }

  // The server is stopping: finish a response in flight, drop idle keep-alive connections.
  void shutdown() {
    if (!send_armed_) close();
    else close_after_send_ = true;
  }

 private:
  void arm_timer() { server_.loop_.schedule_after(timer_, server_.options_.request_timeout); }

  void arm_recv() {
    if (closing_ || recv_armed_) return;
    recv_armed_ = true;
    ++inflight_;
    server_.loop_.recv(recv_op_, fd_.get(), inbuf_, sizeof inbuf_);
  }

  void on_recv(int res, uint32_t) {
    recv_armed_ = false;
    --inflight_;
    if (closing_) return finish();
    if (res <= 0) return close();  // EOF or error: nothing to answer
    leftover_.append(inbuf_, static_cast<size_t>(res));
    process();
  }

  // Parses buffered bytes; answers one complete request at a time.
  void process() {
    size_t used = parser_.feed(leftover_);
    leftover_.erase(0, used);
    switch (parser_.state()) {
      case MessageParser::State::NeedMore:
        if (leftover_.size() > server_.options_.limits.max_header_bytes + server_.options_.limits.max_body_bytes) {
          return respond(Response::error(413, "request too large"), false);
        }
        return arm_recv();
      case MessageParser::State::Error:
        ++server_.stats_.malformed;
        return respond(Response::error(parser_.error_status(), parser_.error_reason()), false);
      case MessageParser::State::Complete: {
        const auto& msg = parser_.message();
        Response r = server_.router_.dispatch(msg);
        return respond(std::move(r), msg.keep_alive && !server_.stopping_);
      }
    }
  }

  void respond(Response r, bool keep_alive) {
    server_.count(r.status);
    out_ = tunnel::http::format_response(r.status, tunnel::http::reason_phrase(r.status),
                                          {{"Content-Type", r.content_type}}, r.body, keep_alive);
    out_off_ = 0;
    close_after_send_ = !keep_alive;
    send();
  }

  void send() {
    send_armed_ = true;
    ++inflight_;
    server_.loop_.send(send_op_, fd_.get(), out_.data() + out_off_, out_.size() - out_off_);
  }

  void on_send(int res, uint32_t) {
    send_armed_ = false;
    --inflight_;
    if (closing_) return finish();
    if (res <= 0) return close();
    out_off_ += static_cast<size_t>(res);
    if (out_off_ < out_.size()) return send();
    if (close_after_send_) {
      ::shutdown(fd_.get(), SHUT_WR);
      return close();
    }
    parser_.reset();
    arm_timer();
    if (!leftover_.empty()) return process();
    arm_recv();
  }

  void on_timer(io::Timer&) override {
    if (closing_ || send_armed_) return;
    ++server_.stats_.timeouts;
    bool partial = !leftover_.empty() || parser_.state() != MessageParser::State::NeedMore || saw_bytes();
    if (partial) return respond(Response::error(408, "request not completed in time"), false);
    close();
  }

  bool saw_bytes() const { return !parser_.message().method.empty() || !parser_.message().target.empty(); }

  void close() {
    if (closing_) return;
    closing_ = true;
    server_.loop_.cancel(timer_);
    if (inflight_ > 0) server_.loop_.cancel_fd(fd_.get());
    finish();
  }

  void finish() {
    if (inflight_ > 0 || finished_) return;
    finished_ = true;
    fd_.reset();
    server_.loop_.defer([this] { delete this; });
  }

  HttpServer& server_;
  base::Fd fd_;
  MessageParser parser_;
  io::MemberOp<Connection, &Connection::on_recv> recv_op_{this};
  io::MemberOp<Connection, &Connection::on_send> send_op_{this};
  io::Timer timer_{this};
  char inbuf_[4096];
  std::string leftover_;
  std::string out_;
  size_t out_off_ = 0;
  int inflight_ = 0;
  bool recv_armed_ = false;
  bool send_armed_ = false;
  bool closing_ = false;
  bool finished_ = false;
  bool close_after_send_ = false;
};

HttpServer::HttpServer(io::Loop& loop, const Router& router, HttpServerOptions options, base::Fd listen_fd)
    : loop_(loop), router_(router), options_(std::move(options)), fd_(std::move(listen_fd)) {}

HttpServer::~HttpServer() {
  // Only reached after the loop has stopped: connections can no longer complete.
  while (Connection* c = conns_.front()) delete c;
}

void HttpServer::start() {
  if (armed_ || !fd_) return;
  armed_ = true;
  loop_.accept_multishot(accept_op_, fd_.get());
}

void HttpServer::on_timer(io::Timer&) { start(); }

void HttpServer::stop() {
  if (stopping_) return;
  stopping_ = true;
  loop_.cancel(retry_timer_);
  if (armed_) loop_.cancel_op(accept_op_);
  else fd_.reset();
  for (Connection* c = conns_.front(); c != nullptr;) {
    Connection* next = base::IntrusiveList<Connection>::next(*c);
    c->shutdown();
    c = next;
  }
}

void HttpServer::on_accept(int res, uint32_t flags) {
  if (!io::more_completions(flags)) armed_ = false;
  if (res >= 0) {
    base::Fd conn(res);
    if (stopping_ || conns_.size() >= options_.max_connections) {
      ++stats_.refused;
      io::set_reset_on_close(conn.get());
    } else {
      (new Connection(*this, std::move(conn)))->start();
    }
  } else if (res != -ECANCELED) {
    base::log::warn("failed to accept on the {} server: {}", options_.name, std::strerror(-res));
    if (!armed_ && !stopping_) loop_.schedule_after(retry_timer_, std::chrono::milliseconds(100));
    return;
  }
  if (!armed_) {
    if (stopping_) fd_.reset();
    else start();
  }
}

}  // namespace mesh::admin
