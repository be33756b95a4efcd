// The one translation unit that compiles toml++'s implementation into mesh_policy_toml, with
// our compiler flags (so sanitizers and the fuzzer's coverage reach the parser) and with
// exceptions off inside toml++ (parse errors come back as values).
#define TOML_IMPLEMENTATION
#include <toml++/toml.h>
