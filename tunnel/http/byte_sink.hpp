#pragma once
// ByteSink: where an H2Connection writes its frames. In the daemon that is the connection's
// TlsSession (tunnel/hbone's TlsSink: frames become 16 KiB TLS records without an
// intermediate buffer); in tests and the fuzz targets it is a plain byte vector (VectorSink).
// buffered() tells the connection how much output is already waiting, so flush() can stop
// at its budget.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace mesh::tunnel::http {

class ByteSink {
 public:
  virtual ~ByteSink() = default;
  virtual void write(std::span<const uint8_t> bytes) = 0;
  virtual size_t buffered() const = 0;
};

class VectorSink final : public ByteSink {
 public:
  void write(std::span<const uint8_t> bytes) override { bytes_.insert(bytes_.end(), bytes.begin(), bytes.end()); }
  size_t buffered() const override { return bytes_.size(); }
  std::vector<uint8_t>& bytes() { return bytes_; }

 private:
  std::vector<uint8_t> bytes_;
};

}  // namespace mesh::tunnel::http
