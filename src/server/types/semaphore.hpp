// Semaphore and BoundedSemaphore: Python's counting semaphores across processes.
//
// Each session's permits are counted, so a process that dies holding permits gives them back when
// its session ends (Python's manager would lose them for good).
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "server/object.hpp"

namespace syncmgr::server {

struct SemaphoreState {
  bool bounded = false;
  std::int64_t initial = 1;
  std::int64_t value = 1;
  /// Permits taken and not yet given back, per session (a session ending returns them).
  std::unordered_map<std::uint64_t, std::int64_t> held;
};

namespace semaphore_ops {
/// A semaphore starting at `initial` permits; ValueError when negative.
OpResult<SemaphoreState> make(bool bounded, std::int64_t initial);
/// Takes a permit for `session` if one is free; returns whether it did.
bool try_acquire(SemaphoreState& s, std::uint64_t session);
/// Gives back `n` permits (n >= 1, else ValueError). A bounded semaphore refuses to go above its
/// initial value (ValueError, nothing changed). The session's held count drops by n, not below 0.
OpResult<Unit> release(SemaphoreState& s, std::uint64_t session, std::int64_t n);
/// Returns the permits `session` still holds (a bounded one stays at or below its initial value)
/// and forgets the session. Returns how many were given back.
std::int64_t release_session(SemaphoreState& s, std::uint64_t session);
}  // namespace semaphore_ops

class SemaphoreObject : public Object {
 public:
  explicit SemaphoreObject(SemaphoreState s)
      : Object(s.bounded ? "boundedsemaphore" : "semaphore"), state(std::move(s)) {}
  std::size_t size() const override { return static_cast<std::size_t>(state.value); }
  std::vector<std::string> release_session(std::uint64_t session) override;

  SemaphoreState state;
};

}  // namespace syncmgr::server
