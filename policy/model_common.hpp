#pragma once
// Vocabulary shared by every resource of the mesh model: where a value was written
// (Located<T>), label maps, port protocols and the name/namespace every resource carries.
// The model holds what the user wrote, decoded and checked field by field; checks that span
// resources (references, conflicts, weights) belong to compile. Plain values.
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "policy/diagnostic.hpp"

namespace mesh::policy::model {

template <class T>
struct Located {
  T value{};
  SourceLoc loc;
};

// Kubernetes-style labels; a selector matches a workload whose labels include all of its pairs.
using Labels = std::map<std::string, std::string, std::less<>>;

// A label selector matches when every one of its pairs is among the labels.
inline bool labels_match(const Labels& selector, const Labels& labels) {
  for (const auto& [k, v] : selector) {
    auto it = labels.find(k);
    if (it == labels.end() || it->second != v) return false;
  }
  return true;
}

// A port's application protocol. Unspecified means "detect by sniffing" (HTTP/1.1 request
// line or the HTTP/2 preface), as Linkerd and Istio do for undeclared ports.
enum class Protocol : uint8_t { Unspecified, Tcp, Http, Http2, Grpc, Tls, Https };
std::string_view to_string(Protocol p);
inline bool is_http(Protocol p) {
  return p == Protocol::Http || p == Protocol::Http2 || p == Protocol::Grpc;
}

// Every resource: its name, its namespace ("default" when omitted, as kubectl does) and the
// position of its table header.
struct Meta {
  std::string name;
  std::string ns = "default";
  SourceLoc loc;
};

}  // namespace mesh::policy::model
