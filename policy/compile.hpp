#pragma once
// compile(): validates a PolicySet across resources and files (unknown hosts and subsets,
// weights that do not sum to 100, conflicting definitions, count and size limits, regexes
// RE2 cannot run in bounded time) and builds the indexed CompiledPolicy. Every problem is
// reported as `file:line:col: message`; when there is any, no policy is returned, so the
// caller keeps its running one. Pure: callable from any thread, off the data path.
#include <vector>

#include "policy/compiled.hpp"
#include "policy/diagnostic.hpp"
#include "policy/model.hpp"
#include "policy/options.hpp"

namespace mesh::policy {

struct CompileResult {
  PolicySnapshot policy;           // null when errors is not empty
  std::vector<Diagnostic> errors;  // in file order, then line order
  bool ok() const { return policy != nullptr; }
};

CompileResult compile(model::PolicySet set, const CompileOptions& options);

}  // namespace mesh::policy
