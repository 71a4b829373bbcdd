// A user's program built against an installed syncmgr (by tests/packaging/check.sh, once through
// CMake and once through pkg-config): connects to the daemon named by SYNCMGR_ENDPOINT and
// SYNCMGR_AUTHKEY_FILE, pings it, and round-trips a value through a dict.
#include <syncmgr/syncmgr.hpp>

#include <cstdio>
#include <string>

// The pkg-config build compiles with -std=c++23: the package's flags must not downgrade it.
#ifdef SYNCMGR_EXPECT_CXX23
static_assert(__cplusplus > 202002L, "the installed syncmgr's flags forced an older -std");
#endif

int main(int argc, char** argv) {
  std::string who = argc > 1 ? argv[1] : "app";
  syncmgr::Manager mgr{syncmgr::Options{}};
  mgr.ping();
  auto d = mgr.dict("packaging-check");
  d.set(who, 42);
  if (d.get<int>(who) != 42) {
    std::fprintf(stderr, "%s: dict round trip failed\n", who.c_str());
    return 1;
  }
  std::printf("%s: ok\n", who.c_str());
  return 0;
}
