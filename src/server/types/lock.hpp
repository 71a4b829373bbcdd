// Lock and RLock: mutual exclusion across processes, with an owner that is (session, thread).
//
// Python's manager keeps a Lock held forever when its holder dies; here a lock is released when its
// holder's session ends. Each grant carries a fencing token: a number that grows with every grant
// daemon-wide, so a resource guarded by the lock can reject a stale holder's late writes.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "server/commands.hpp"
#include "server/object.hpp"

namespace syncmgr::server {

/// Who holds a lock: a client session and a thread within it (the client library sends a stable
/// per-thread id).
struct Owner {
  std::uint64_t session = 0;
  std::uint64_t thread = 0;
  bool operator==(const Owner& o) const { return session == o.session && thread == o.thread; }
};

/// The state of one Lock or RLock; also embedded in a Condition that has no lock of its own.
struct LockState {
  bool recursive = false;
  std::uint32_t count = 0;  // 0: unlocked; >1 only for a recursive lock
  Owner owner;
  std::uint64_t fence = 0;  // the token of the current grant
};

namespace lock_ops {
/// Grants the lock to `who` if possible (free, or recursive and already theirs). A new grant takes
/// `fence`; a recursive re-entry keeps the current one. Returns whether it was granted.
bool try_acquire(LockState& l, const Owner& who, std::uint64_t fence);
/// Releases one level. A plain Lock may be released by anyone (as Python's); an RLock only by its
/// owner. Releasing an unlocked lock is a RuntimeError.
OpResult<Unit> release(LockState& l, const Owner& who);
/// Releases every level held by `who` (Condition.wait); returns the count to restore afterwards.
OpResult<std::uint32_t> release_all(LockState& l, const Owner& who);
/// Whether `who` holds the lock (for a plain Lock: whether its session and thread took it).
bool held_by(const LockState& l, const Owner& who);
/// server.inspect's fields of a lock (also a Condition's own): "locked", "holder" (the session as
/// Inspector::session gives it, plus "thread"; nil when free), "fence" and, recursive, "count".
void describe(const LockState& l, Map& out, const Inspector& in);
/// {"fence", "count", "thread"} when `session` holds the lock, else nil.
Value holding(const LockState& l, std::uint64_t session);
}  // namespace lock_ops

class LockObject : public Object {
 public:
  explicit LockObject(bool recursive) : Object(recursive ? "rlock" : "lock") {
    state.recursive = recursive;
  }
  std::size_t size() const override { return state.count; }
  void describe(Map& out, const Inspector& in) const override;
  Value holding(std::uint64_t session) const override { return lock_ops::holding(state, session); }
  std::vector<std::string> release_session(std::uint64_t session) override;

  LockState state;
};

/// Reads the (thread) argument of lock-like ops.
OpResult<Owner> owner_arg(const Ctx& c, std::size_t index);

}  // namespace syncmgr::server
