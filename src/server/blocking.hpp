// Parked calls: the one module that owns every request that must wait.
//
// Contract:
// - A handler answers now, or returns Reply::park(keys): "park on these keys until this deadline".
//   A key is an object plus what is awaited on it (items, room, the lock free, ...). A call may
//   park on another object's key: a Condition's re-acquire parks on its Lock's `free` key.
// - A state change signals the keys it affects: every mutating op signals its object's keys, a
//   handler signals other objects' keys itself, and a session's end signals the keys of what it
//   held. Signals are deduplicated and processed first in, first out after the current request
//   (process()). Only the waiters of a signalled key are tried, in arrival order; trying stops at
//   the first that stays parked with `blocks_same_op` (later ones wait for the same thing or more).
//   A single waiter can also be woken on its own (a notified Condition waiter).
// - Every parked call ends exactly once, through end(), with one Outcome: served (a retry
//   answered), timed_out (its deadline passed: its handler gave the timeout answer), cancelled
//   (server.cancel), session_ended (no reply: no one is left to receive it), object_freed or
//   object_removed (NameError). Freeing or removing an object ends every call parked on it or on
//   one of its keys, and forgets its pending signals.
// - Waiter ids are the engine's own; a client's request id is only echoed in the reply (a client
//   may reuse one: server.cancel then ends every parked call of that session under it).
// - Parking, signalling, expiring and ending cost O(log n) per waiter touched; trying a key costs
//   one retry per waiter served plus one for the first that stays parked.
#pragma once

#include <chrono>
#include <compare>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "syncmgr/value.hpp"

namespace syncmgr::server {

using Clock = std::chrono::steady_clock;
class Object;
class Reply;
struct Command;

/// What a parked call waits for on an object.
enum class Awaited : std::uint8_t {
  items,     // a queue has an item (or is shut down)
  room,      // a queue has room (or is shut down)
  done,      // a joinable queue's unfinished count reached 0
  free,      // a lock (or a Condition's own lock) is free
  permits,   // a semaphore has a permit
  set,       // an event is set
  notified,  // a Condition waiter was notified
  change,    // anything about the object changed (a Barrier's cycle)
};

struct WaitKey {
  const Object* object = nullptr;
  Awaited what = Awaited::change;
  auto operator<=>(const WaitKey&) const = default;
};

enum class Outcome { served, timed_out, cancelled, session_ended, object_freed, object_removed };

using WaiterId = std::uint64_t;

struct Waiter {
  WaiterId id = 0;  // the engine's own
  std::uint64_t session = 0;
  std::uint64_t request_id = 0;  // the client's, echoed in the reply and nothing else
  const Command* command = nullptr;
  Object* object = nullptr;  // the call's target
  std::vector<Value> args;
  Clock::time_point deadline = Clock::time_point::max();
  /// Per-waiter state a handler keeps between runs (e.g. a Condition waiter's phase).
  Value state;
  std::vector<WaitKey> keys;
};

/// What the engine needs from the daemon: running a handler again and delivering an answer.
class BlockingHost {
 public:
  virtual ~BlockingHost() = default;
  /// Runs `w`'s handler again; `timed_out` asks for its timeout answer. May return park(keys).
  virtual Reply retry(Waiter& w, bool timed_out) = 0;
  /// Sends the one reply of a parked call (every outcome but session_ended).
  virtual void answer(const Waiter& w, Reply& r) = 0;
  /// A parked call ended unserved while its object lives (timed out, cancelled, session ended):
  /// the object may react (a Barrier breaks). The engine signals the object's keys afterwards.
  virtual void unserved(const Waiter& w, Outcome how) = 0;
};

class Blocking {
 public:
  explicit Blocking(BlockingHost& host) : host_(host) {}

  /// Parks `w` on `keys` until `w.deadline`; returns its new id.
  WaiterId park(Waiter w, std::vector<WaitKey> keys);
  /// Queues a signal on `key` (deduplicated until it is processed).
  void signal(const WaitKey& key);
  /// Signals every key some waiter waits on at `obj`.
  void signal_object(const Object& obj);
  /// Queues a retry of one waiter (deduplicated).
  void wake(WaiterId id);
  /// Processes the queued signals, first in first out, until none are left.
  void process();
  /// Ends the calls whose deadline is at or before `now` (each retried with timed_out), then
  /// processes the signals that caused.
  void expire(Clock::time_point now);
  /// Ends `session`'s parked calls under `request_id` with CancelledError; how many there were.
  std::size_t cancel(std::uint64_t session, std::uint64_t request_id);
  /// Ends every parked call of a session that ended (no reply).
  void end_session(std::uint64_t session);
  /// `obj` is about to be destroyed (how: object_freed or object_removed): ends every call parked
  /// on it or on its keys with NameError and forgets its pending signals.
  void object_gone(const Object& obj, Outcome how);
  /// THE way a parked call ends. `r` is the reply for served and timed_out (the others make their
  /// own).
  void end(WaiterId id, Outcome how, Reply* r = nullptr);

  Waiter* find(WaiterId id);
  /// Calls `fn` on each waiter of `key` in arrival order while it returns true.
  void for_each_on(const WaitKey& key, const std::function<bool(Waiter&)>& fn);
  /// The earliest deadline, or time_point::max() when none.
  Clock::time_point next_deadline() const;
  std::size_t size() const { return waiters_.size(); }
  /// Calls parked on `key` (server.inspect).
  std::size_t count_on(const WaitKey& key) const {
    auto it = keys_.find(key);
    return it == keys_.end() ? 0 : it->second.size();
  }
  /// Calls targeting `obj` or parked on one of its keys.
  std::size_t count_at(const Object& obj) const {
    auto it = by_object_.find(&obj);
    return it == by_object_.end() ? 0 : it->second.size();
  }
  /// Calls parked by `session`.
  std::size_t count_of(std::uint64_t session) const {
    auto it = by_session_.find(session);
    return it == by_session_.end() ? 0 : it->second.size();
  }

 private:
  void index_keys(Waiter& w, std::vector<WaitKey> keys);
  void unindex_keys(Waiter& w);
  void index_object(const Object* obj, WaiterId id);
  void unindex_object(const Object* obj, WaiterId id);
  void try_key(const WaitKey& key);
  /// Retries one waiter; true when it stayed parked on `key` (if any) and blocks the later waiters
  /// of that key.
  bool try_waiter(Waiter& w, const WaitKey* key);

  BlockingHost& host_;
  std::unordered_map<WaiterId, Waiter> waiters_;
  /// Each key's waiters; ids grow with arrival, so set order is arrival order.
  std::map<WaitKey, std::set<WaiterId>> keys_;
  std::set<std::pair<Clock::time_point, WaiterId>> deadlines_;
  /// session -> (client request id -> waiter): only to find what server.cancel names.
  std::unordered_map<std::uint64_t, std::multimap<std::uint64_t, WaiterId>> by_session_;
  /// object -> waiters targeting it or parked on one of its keys (what its freeing ends).
  std::unordered_map<const Object*, std::set<WaiterId>> by_object_;
  struct Signal {
    WaitKey key;
    WaiterId waiter = 0;  // nonzero: a wake of one waiter
  };
  std::deque<Signal> queue_;
  std::set<WaitKey> pending_keys_;
  std::set<WaiterId> pending_waiters_;
  WaiterId next_id_ = 0;
  bool processing_ = false;
};

}  // namespace syncmgr::server
