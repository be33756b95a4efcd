#pragma once
// MESH_CHECK: a broken invariant aborts with file:line. Used for programming errors only,
// never for bad input (that is a Result).
#include <cstdio>
#include <cstdlib>

#define MESH_CHECK(cond)                                                                  \
  do {                                                                                    \
    if (!(cond)) [[unlikely]] {                                                           \
      std::fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);       \
      std::abort();                                                                       \
    }                                                                                     \
  } while (0)
