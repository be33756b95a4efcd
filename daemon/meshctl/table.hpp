#pragma once
// Table: aligned, left-justified columns for meshctl's human output (like kubectl/istioctl).
#include <string>
#include <vector>

namespace mesh::meshctl {

class Table {
 public:
  explicit Table(std::vector<std::string> header) : rows_{std::move(header)} {}
  void add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  std::string render() const;

 private:
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace mesh::meshctl
