// Parked calls: requests that must wait (queue.get on an empty queue, lock.acquire on a held lock,
// barrier.wait, ...) are recorded here instead of blocking the loop.
//
// Contract: a waiter is created when a blocking handler answers "parked" and ends exactly once, by
// one of: served (a later run of its handler answered), timed out (its deadline passed: the handler
// runs once more with timed_out set and gives its timeout answer), cancelled (server.cancel from
// its session, or its object removed: an error reply), or dropped with its session (no one to
// answer). Each object keeps its waiters in arrival order (FIFO); this table indexes them by id, by
// deadline and by session. Deadlines live in one ordered set whose first entry bounds the loop's
// poll timeout.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "syncmgr/value.hpp"

namespace syncmgr::server {

using Clock = std::chrono::steady_clock;
struct Command;

struct Waiter {
  std::uint64_t id = 0;
  std::uint64_t session = 0;
  std::uint64_t request_id = 0;
  const Command* command = nullptr;
  std::string target;
  std::vector<Value> args;
  Clock::time_point deadline = Clock::time_point::max();
  /// Per-waiter state a handler may keep between runs (e.g. a Condition waiter's phase).
  Value state;
};

class WaiterTable {
 public:
  /// Records a new waiter and returns its id.
  std::uint64_t add(Waiter w);
  Waiter* find(std::uint64_t id);
  /// The waiter of `session` parked for `request_id`, if any.
  std::optional<std::uint64_t> find_request(std::uint64_t session, std::uint64_t request_id) const;
  /// Forgets a waiter (its reply, if any, is the caller's business). Returns it.
  Waiter remove(std::uint64_t id);
  /// Ids of waiters whose deadline is at or before `now`, earliest first.
  std::vector<std::uint64_t> due(Clock::time_point now) const;
  /// The earliest deadline, or time_point::max() when none.
  Clock::time_point next_deadline() const;
  std::vector<std::uint64_t> of_session(std::uint64_t session) const;
  std::size_t size() const { return waiters_.size(); }

 private:
  std::unordered_map<std::uint64_t, Waiter> waiters_;
  std::set<std::pair<Clock::time_point, std::uint64_t>> deadlines_;
  std::unordered_map<std::uint64_t, std::unordered_map<std::uint64_t, std::uint64_t>> by_session_;
  std::uint64_t next_id_ = 0;
};

}  // namespace syncmgr::server
