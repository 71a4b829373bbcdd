// SpinPolicy (protocol/spin.hpp): spinning before a wait backs off after misses and comes back at
// once after a hit, so a side whose answers come late stops burning CPU.
#include <doctest/doctest.h>

#include "protocol/spin.hpp"

using syncmgr::protocol::SpinPolicy;

namespace {
// How many waits in a row worth() declines.
int skipped(SpinPolicy& p) {
  int n = 0;
  while (!p.worth())
    ++n;
  return n;
}
}  // namespace

TEST_CASE("SpinPolicy: misses skip 1, 2, 4 ... 64 waits; a hit restores spinning at once") {
  REQUIRE(SpinPolicy::window().count() > 0);  // the tests run without SYNCMGR_SPIN_US=0
  SpinPolicy p;
  CHECK(p.worth());  // a fresh side spins
  for (int expected : {1, 2, 4, 8, 16, 32, 64, 64, 64}) {
    p.miss();
    CHECK(skipped(p) == expected);  // then worth() said yes again: the next spin
  }
  p.hit();
  CHECK(p.worth());
  CHECK(p.worth());
  p.miss();
  CHECK(skipped(p) == 1);  // the backoff starts over after a hit
}

TEST_CASE("SpinPolicy::spin: looks until something is found or the window passes") {
  SpinPolicy p;
  int calls = 0;
  CHECK(p.spin([&] { return ++calls < 3 ? 0 : 1; }) == 1);  // found on the third look
  CHECK(calls == 3);
  CHECK(p.worth());                      // a hit: the next wait spins too
  CHECK(p.spin([] { return 0; }) == 0);  // nothing within the window: a miss
  CHECK(skipped(p) == 1);
  calls = 0;
  CHECK(p.spin([&] { return ++calls, 0; }) == 0);  // skipped nothing left: spins, misses again
  CHECK(calls > 0);
  CHECK(p.spin([&] { return 1; }) == 0);  // within the backoff: no look at all
}
