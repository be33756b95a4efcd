#pragma once
// ByteSink: where an H2Connection writes its frames. In the daemon that is the connection's
// TlsSession (TlsSink below: frames become 16 KiB TLS records without an intermediate
// buffer); in tests and the fuzz target it is a plain byte vector. buffered() tells the
// connection how much output is already waiting, so flush() can stop at its budget.
// A TlsSink refers to its TlsSession: keep the session at a fixed address (in the
// connection object) for as long as the sink and the H2Connection using it exist.
#include <cstdint>
#include <span>
#include <vector>

#include "tunnel/tls/tls_session.hpp"

namespace mesh::tunnel::hbone {

class ByteSink {
 public:
  virtual ~ByteSink() = default;
  virtual void write(std::span<const uint8_t> bytes) = 0;
  virtual size_t buffered() const = 0;
};

class TlsSink final : public ByteSink {
 public:
  explicit TlsSink(TlsSession& tls) : tls_(tls) {}
  void write(std::span<const uint8_t> bytes) override { tls_.write(bytes); }
  size_t buffered() const override { return tls_.output().size(); }

 private:
  TlsSession& tls_;
};

class VectorSink final : public ByteSink {
 public:
  void write(std::span<const uint8_t> bytes) override { bytes_.insert(bytes_.end(), bytes.begin(), bytes.end()); }
  size_t buffered() const override { return bytes_.size(); }
  std::vector<uint8_t>& bytes() { return bytes_; }

 private:
  std::vector<uint8_t> bytes_;
};

}  // namespace mesh::tunnel::hbone
