// Semaphore and BoundedSemaphore: Python's counting semaphores across processes.
//
// By default a permit has no owner, as in Python: anyone may release, and a session's end changes
// nothing, so the signal pattern (one process releases, another acquires) never gains or loses
// permits. Created with "owned": true (pool-style), a permit belongs to the session that acquired
// it: only a session holding permits may release them, and a session's end returns those it
// holds, so value + permits held == initial at all times and a bound is never exceeded.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "server/object.hpp"

namespace syncmgr::server {

struct SemaphoreState {
  bool bounded = false;
  /// Pool-style: permits belong to the session that acquired them (see the top of this file).
  bool owned = false;
  std::int64_t initial = 1;
  std::int64_t value = 1;
  /// Owned semaphores only: permits taken and not yet given back, per session.
  std::unordered_map<std::uint64_t, std::int64_t> held;
};

namespace semaphore_ops {
/// A semaphore starting at `initial` permits; ValueError when negative.
OpResult<SemaphoreState> make(bool bounded, std::int64_t initial, bool owned = false);
/// Takes a permit (for `session`, when owned) if one is free; returns whether it did.
bool try_acquire(SemaphoreState& s, std::uint64_t session);
/// Gives back `n` permits (n >= 1, else ValueError). A bounded semaphore refuses to go above its
/// initial value (ValueError); an owned one refuses more than `session` holds (RuntimeError).
/// Nothing changes on error.
OpResult<Unit> release(SemaphoreState& s, std::uint64_t session, std::int64_t n);
/// An owned semaphore returns the permits `session` still holds and forgets the session; returns
/// how many were given back. A shared one returns none: its permits have no owner.
std::int64_t release_session(SemaphoreState& s, std::uint64_t session);
}  // namespace semaphore_ops

class SemaphoreObject : public Object {
 public:
  explicit SemaphoreObject(SemaphoreState s)
      : Object(s.bounded ? "boundedsemaphore" : "semaphore"), state(std::move(s)) {}
  std::size_t size() const override { return static_cast<std::size_t>(state.value); }
  void describe(Map& out, const Inspector& in) const override;
  Value holding(std::uint64_t session) const override {
    auto it = state.held.find(session);
    return it == state.held.end() ? Value() : Value(Map{{"permits", it->second}});
  }
  std::vector<std::string> release_session(std::uint64_t session) override;

  SemaphoreState state;
};

}  // namespace syncmgr::server
