#include "daemon/base/clock.hpp"

namespace mesh::base {

SystemClock& SystemClock::instance() {
  static SystemClock clock;
  return clock;
}

}  // namespace mesh::base
