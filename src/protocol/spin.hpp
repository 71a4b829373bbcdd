// Spinning briefly before sleeping, on both ends of a unix:// connection.
//
// A synchronous call is a ping-pong between two processes. When the waiting side sleeps in
// poll/epoll_wait, its CPU goes idle, and on a virtual machine waking an idle vCPU takes tens of
// microseconds: measured on the 2-vCPU VM the benchmarks run on, a bare socketpair ping-pong
// between two processes took 45-60 us per round trip, and 4 us when each side first polled the
// socket for up to 20 us before blocking (pinning both to one CPU gives the same 4 us). That
// wake-up, not our own work, was most of a one-client call.
//
// So a side that expects an answer soon looks for it without sleeping for up to window(), then
// sleeps as before. The policy is adaptive, as glibc's adaptive mutexes are: a spin that found
// nothing makes the next ones rarer (skipped for 1, 2, 4 ... 64 waits), and one that found
// something restores spinning at once. Many clients whose replies queue behind each other, or a
// call parked in the daemon for seconds, thus stop spinning after a few misses, and an idle daemon
// spins for 50 us at most once every 64 wake-ups (it wakes at most every second).
//
// SYNCMGR_SPIN_US in the environment sets the window in microseconds for the process that reads
// it (daemon or client); 0 turns spinning off (a machine where every cycle is billed, or a
// measurement of the instructions a call itself costs).
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdlib>

namespace syncmgr::protocol {

class SpinPolicy {
 public:
  static constexpr std::chrono::microseconds kDefaultWindow{50};

  /// How long to spin: kDefaultWindow, or SYNCMGR_SPIN_US (read once per process).
  static std::chrono::microseconds window() {
    static const std::chrono::microseconds w = [] {
      const char* env = std::getenv("SYNCMGR_SPIN_US");
      if (env == nullptr || *env == '\0') return kDefaultWindow;
      char* end = nullptr;
      long v = std::strtol(env, &end, 10);
      if (*end != '\0' || v < 0) return kDefaultWindow;
      return std::chrono::microseconds(std::min(v, 10000L));
    }();
    return w;
  }

  /// Whether to spin before this wait.
  bool worth() {
    if (window().count() == 0) return false;
    if (skip_ == 0) return true;
    --skip_;
    return false;
  }
  /// When worth() says so, calls `look` (a poll that does not wait: > 0 when something is ready,
  /// < 0 on an error) until it finds something or the window has passed, and notes the outcome.
  /// Returns look's last result; 0 (nothing found, or no spin) means: sleep as usual.
  template <class Look>
  int spin(Look look) {
    if (!worth()) return 0;
    auto until = std::chrono::steady_clock::now() + window();
    int r;
    do {
      r = look();
    } while (r == 0 && std::chrono::steady_clock::now() < until);
    if (r != 0) {
      hit();
    } else {
      miss();
    }
    return r;
  }

  /// The spin found what it waited for.
  void hit() { misses_ = 0; }
  /// It did not: skip the next 1, 2, 4, ... 64 waits.
  void miss() {
    skip_ = 1u << std::min(misses_, 6u);
    misses_ = std::min(misses_ + 1, 6u);
  }

 private:
  unsigned skip_ = 0;
  unsigned misses_ = 0;
};

}  // namespace syncmgr::protocol
