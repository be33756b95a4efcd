// The one translation unit that compiles toml++'s implementation into mesh_policy_toml, with
// our compiler flags (so sanitizers and the fuzzer's coverage reach the parser), with
// exceptions off inside toml++ (parse errors come back as values), and with its internal
// checks counted instead of asserted or assumed (see toml_checks.hpp). NDEBUG is undefined
// here so that toml++ uses TOML_ASSERT for its checks rather than TOML_ASSUME.
#undef NDEBUG
#include "policy/toml/toml_checks.hpp"

#define TOML_ASSERT(expr) \
  ((expr) ? static_cast<void>(0) : ::mesh::policy::toml_codec::note_toml_check_failure())
#define TOML_IMPLEMENTATION
#include <toml++/toml.h>

namespace mesh::policy::toml_codec {
namespace {
thread_local unsigned failures = 0;
}  // namespace

unsigned toml_check_failures() { return failures; }
void reset_toml_check_failures() { failures = 0; }
void note_toml_check_failure() { ++failures; }

}  // namespace mesh::policy::toml_codec
