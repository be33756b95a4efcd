#pragma once
// TlsSession: one TLS 1.3 connection as a sans-I/O object. The caller owns the socket; the
// session owns a BoringSSL SSL whose transport is the caller's buffers:
//
//   ciphertext in:  receive(in, out) reads ciphertext straight from the caller's receive
//                   buffer `in` (no intermediate copy) and writes plaintext into `out`;
//                   it returns how much of each it used. It also drives the handshake.
//   plaintext out:  write(bytes) seals full 16 KiB records at once and keeps a partial
//                   record in a 16 KiB staging buffer until more bytes arrive or flush().
//   ciphertext out: output() is a ByteQueue of records to send. Queued bytes never move,
//                   so the caller may submit them (sendmsg/writev, io_uring) while the
//                   session keeps appending, and consume() them once the send completes.
//
// Plaintext written before the handshake completes is held and sent right after it (for a
// client: in the same flight as its Finished). Peer checks run inside the handshake: the
// chain must verify against our trust bundle at clock.wall(); the leaf must have exactly
// one SPIFFE URI SAN and not be a CA; a server accepts only clients of its own trust domain;
// a client accepts only a server whose identity is in `expected_server_ids`. ALPN must be
// "h2". Every refusal sets failure() to a distinct TlsFailure and queues the TLS alert in
// output(): send it, then close the socket.
//
// Backpressure is the caller's: stop calling write() while output().size() is above its
// high-water mark. Single-threaded: one session belongs to one worker.
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "daemon/base/result.hpp"
#include "daemon/base/byte_queue.hpp"
#include "tunnel/tls/spiffe_id.hpp"
#include "tunnel/tls/tls_context.hpp"
#include "tunnel/tls/tls_failure.hpp"

struct ssl_st;

namespace mesh::tunnel {

enum class TlsState : uint8_t {
  Handshaking,
  Established,
  PeerClosed,  // close_notify (or transport EOF) received: no more plaintext will arrive
  Failed,      // see failure(); output() may still hold an alert to send
};

class TlsSession {
 public:
  static constexpr size_t kMaxRecordPlaintext = 16 * 1024;

  // A client session; output() holds the ClientHello on return. `expected_server_ids` must
  // not be empty. `ctx` must be a client context.
  static base::Result<TlsSession> client(std::shared_ptr<const TlsContext> ctx,
                                         std::vector<SpiffeId> expected_server_ids);
  // A server session waiting for a ClientHello. `ctx` must be a server context.
  static base::Result<TlsSession> server(std::shared_ptr<const TlsContext> ctx);

  TlsSession(TlsSession&&) noexcept;
  TlsSession& operator=(TlsSession&&) noexcept;
  ~TlsSession();

  struct Progress {
    size_t consumed = 0;  // bytes of `in` taken (the rest must be offered again)
    size_t produced = 0;  // plaintext bytes written to `out`
  };
  // Feeds ciphertext, advances the handshake, decrypts into `out`. Stops when `in` is used up
  // (a partial record is kept inside) or `out` is full. Call again with the unconsumed rest
  // of `in` after draining `out`. Check state() afterwards.
  Progress receive(std::span<const uint8_t> in, std::span<uint8_t> out);
  // The transport reached EOF. Before the handshake completes this fails the session with
  // UnexpectedEof; afterwards it moves to PeerClosed.
  void receive_eof();

  // Queues plaintext; seals every complete 16 KiB record. Ignored once Failed.
  void write(std::span<const uint8_t> plaintext);
  // Seals the staged partial record, if any. Call after a batch of write()s.
  void flush();
  // flush(), then queue close_notify. Further writes are ignored.
  void close();

  base::ByteQueue& output() { return out_; }
  const base::ByteQueue& output() const { return out_; }

  TlsState state() const { return state_; }
  bool established() const { return state_ == TlsState::Established; }
  TlsFailure failure() const { return failure_; }
  const std::string& failure_detail() const { return failure_detail_; }
  uint8_t alert_received() const { return alert_received_; }  // 0 if none

  const SpiffeId& peer_identity() const { return peer_; }  // empty until verified
  base::WallTime peer_not_after() const { return peer_not_after_; }
  const TlsContext& context() const { return *ctx_; }
  std::string cipher_name() const;
  uint64_t records_sealed() const { return records_sealed_; }

  struct Hooks;  // internal: the BoringSSL callbacks (defined in tls_session.cpp)

 private:
  TlsSession() = default;
  base::Status init(std::shared_ptr<const TlsContext> ctx, TlsRole role);
  bool drive_handshake();
  bool finish_handshake();
  void seal(std::span<const uint8_t> plaintext);
  void fail_from_ssl(int ret);
  void set_failure(TlsFailure f, std::string detail);
  void rebind();  // points the SSL's ex_data and BIO at `this` after a move

  std::shared_ptr<const TlsContext> ctx_;  // keeps the context (and its SSL_CTX) alive
  struct SslDeleter {
    void operator()(::ssl_st* ssl) const;
  };
  std::unique_ptr<::ssl_st, SslDeleter> ssl_;
  std::vector<SpiffeId> expected_;
  base::ByteQueue out_;
  base::ByteQueue early_;  // plaintext written during the handshake
  std::unique_ptr<uint8_t[]> staging_;
  size_t staged_ = 0;
  std::span<const uint8_t> input_;  // the current receive() input, read by the BIO
  size_t input_used_ = 0;
  bool eof_ = false;
  bool closing_ = false;
  TlsState state_ = TlsState::Handshaking;
  TlsFailure failure_ = TlsFailure::None;
  std::string failure_detail_;
  uint8_t alert_received_ = 0;
  SpiffeId peer_;
  base::WallTime peer_not_after_{};
  uint64_t records_sealed_ = 0;
};

}  // namespace mesh::tunnel
