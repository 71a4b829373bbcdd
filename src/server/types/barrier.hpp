// Barrier: Python's threading.Barrier across processes.
//
// Cycles are numbered: a party's ticket records the reset epoch, the cycle (generation) and its
// arrival index, so a parked party re-run after a change sees whether its cycle completed (the
// generation moved on), the barrier broke, or it was reset (the epoch moved on).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "server/object.hpp"

namespace syncmgr::server {

/// A party's place: reset epoch, cycle and arrival index within the cycle.
struct BarrierTicket {
  std::uint64_t epoch = 0;
  std::uint64_t generation = 0;
  std::int64_t index = 0;
};

struct BarrierState {
  std::int64_t parties = 1;
  std::optional<double> timeout;  // seconds; the default for waits given no timeout
  bool action = false;            // the last arriver runs an action before anyone is released
  std::int64_t count = 0;         // arrivals in the current cycle
  std::uint64_t generation = 0;   // completed cycles
  std::uint64_t epoch = 0;        // resets
  bool broken = false;
  std::string broken_why;
  /// The cycle is complete but waits for barrier.action_done from `action_session`.
  bool action_pending = false;
  std::uint64_t action_session = 0;
  /// The session whose action was cut short by a break or reset (its action_done is told so).
  std::optional<std::uint64_t> orphaned_action;
  /// Parked parties of the current cycle per session: one going away breaks the barrier.
  std::unordered_map<std::uint64_t, std::int64_t> waiting;
};

namespace barrier_ops {

/// ValueError unless parties >= 1 and the timeout, if any, is >= 0.
OpResult<BarrierState> make(std::int64_t parties, std::optional<double> timeout, bool action);

struct Arrival {
  /// False while the previous cycle's action runs: not a party yet; arrive again when it is done.
  bool entered = false;
  BarrierTicket ticket;
  bool last = false;        // this arrival completed the cycle (its index is parties - 1)
  bool run_action = false;  // ... and must run the action, then call action_done
};
/// A party arrives. BrokenBarrierError while the barrier is broken.
OpResult<Arrival> arrive(BarrierState& b, std::uint64_t session);

enum class Outcome { waiting, released, broken, reset };
/// Where a parked party stands. `waiting` includes waiting for its cycle's action.
Outcome check(const BarrierState& b, const BarrierTicket& t);
/// Whether the ticket's cycle is complete but waits for its action: a timeout does not break it
/// then (Python runs the action holding the barrier's lock, so no waiter can time out meanwhile).
bool awaiting_action(const BarrierState& b, const BarrierTicket& t);

/// Breaks the barrier (a timeout, abort, a failed action, a party gone): every parked party and
/// every later wait fails until reset. The first reason is kept.
void break_barrier(BarrierState& b, std::string why);
/// Parked parties fail (they see a new epoch); the barrier starts fresh and unbroken.
void reset(BarrierState& b);
/// The action of the completed cycle ended: ok releases its parties, !ok breaks the barrier.
/// RuntimeError when `session` runs no action; BrokenBarrierError when it was cut short.
OpResult<Unit> action_done(BarrierState& b, std::uint64_t session, bool ok);
std::int64_t n_waiting(const BarrierState& b);

/// A parked call of `session` ended unserved: breaks the barrier if the session had a parked
/// party in this cycle. Returns whether it broke the barrier.
bool party_gone(BarrierState& b, std::uint64_t session);
/// `session` ended: breaks the barrier if it ran the pending action or had a parked party.
bool session_ended(BarrierState& b, std::uint64_t session);

/// The error a failed party gets for an outcome (broken or reset).
Err failure(const BarrierState& b, Outcome o);

}  // namespace barrier_ops

class BarrierObject : public Object {
 public:
  explicit BarrierObject(BarrierState s) : Object("barrier"), state(std::move(s)) {}
  std::size_t size() const override {
    return static_cast<std::size_t>(barrier_ops::n_waiting(state));
  }
  std::vector<std::string> release_session(std::uint64_t session) override;
  void waiter_gone(std::uint64_t session) override;
  void describe(Map& out, const Inspector& in) const override;
  /// {"action": true} while `session` runs the completed cycle's action.
  Value holding(std::uint64_t session) const override {
    return state.action_pending && state.action_session == session ? Value(Map{{"action", true}})
                                                                   : Value();
  }

  BarrierState state;
};

}  // namespace syncmgr::server
