#pragma once
// toml++'s internal consistency checks, counted instead of aborting. toml++ 3.3 asserts
// invariants of its parser with assert(), and under NDEBUG turns them into optimizer
// assumptions (__builtin_assume with clang). Fuzzing found input that violates one
// ("[[)x]]" asserts in parse_key), so an abort would let a bad file stop the daemon and an
// assumption would be undefined behaviour. toml_impl.cpp compiles the parser with a check
// that counts failures on the calling thread and lets the parser reach its own error path;
// the codec refuses any document whose parse failed a check.
namespace mesh::policy::toml_codec {

// Failed toml++ checks on this thread since the last reset.
unsigned toml_check_failures();
void reset_toml_check_failures();
void note_toml_check_failure();

}  // namespace mesh::policy::toml_codec
