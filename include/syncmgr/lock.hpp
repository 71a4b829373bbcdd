// LockProxy and RLockProxy: Python's Lock and RLock across processes. Both satisfy Lockable and
// TimedLockable, so std::lock_guard, std::unique_lock and std::scoped_lock work with them.
#pragma once

#include <chrono>
#include <cstdint>
#include <exception>
#include <optional>
#include <string_view>

#include "syncmgr/proxy.hpp"

namespace syncmgr {
namespace detail {

/// Shared by every lock-like proxy: the Lockable and TimedLockable surface over acquire/release.
template <class Derived>
class Lockable {
 public:
  void lock() { self().acquire(true, {}); }
  /// What std::lock_guard, std::unique_lock and std::scoped_lock call, from their destructors,
  /// where an exception ends the program: so unlock() never throws. A grant lost meanwhile (the
  /// session ended while the lock was held: LockLost from release()) is reported by this thread's
  /// next acquire()/lock() instead; a release that cannot reach the daemon ends with the session,
  /// which releases the lock. Call release() to be told at once.
  void unlock() noexcept {
    try {
      Client::QuietRelease quiet;
      self().release();
    } catch (const std::exception&) {
    }
  }
  bool try_lock() { return self().acquire(false, {}); }
  template <class Rep, class Period>
  bool try_lock_for(const std::chrono::duration<Rep, Period>& d) {
    return self().acquire(true, std::chrono::duration<double>(d));
  }
  template <class C, class D>
  bool try_lock_until(const std::chrono::time_point<C, D>& t) {
    auto left = std::chrono::duration<double>(t - C::now());
    return self().acquire(true, left.count() > 0 ? left : std::chrono::duration<double>(0));
  }

 private:
  Derived& self() { return static_cast<Derived&>(*this); }
};

template <const char* Acquire, const char* Release, const char* Owned>
class BasicLock : public ProxyBase, public Lockable<BasicLock<Acquire, Release, Owned>> {
 public:
  explicit BasicLock(std::shared_ptr<ObjectRef> ref) : ProxyBase(std::move(ref)) {}

  /// acquire(blocking=True, timeout=None): whether the lock was acquired (false when it would
  /// block, or the timeout passed). The owner is this process's session and the calling thread.
  bool acquire(bool blocking = true, Timeout timeout = {}) {
    return acquire_fenced(blocking, timeout).has_value();
  }
  /// As acquire, returning the grant's fencing token: a number that grows with every grant, for
  /// guarding external resources against a holder that lost the lock (e.g. its session expired).
  /// Throws LockLost when this thread's earlier grant of it was lost (see release).
  std::optional<std::uint64_t> acquire_fenced(bool blocking = true, Timeout timeout = {}) {
    client().check_grant(name());
    auto token =
        invoke_blocking<std::optional<std::uint64_t>>(Acquire, blocking, timeout, thread_id());
    if (token) client().note_grant(name(), *token);
    return token;
  }
  Future<std::optional<std::uint64_t>> async_acquire_fenced(bool blocking = true,
                                                            Timeout timeout = {}) {
    return invoke_blocking_async<std::optional<std::uint64_t>>(Acquire, blocking, timeout,
                                                               thread_id());
  }
  /// Throws RuntimeError if the lock is not held (an RLock: not held by this thread), and
  /// LockLost (a RuntimeError) if this thread's grant was revoked because the session that
  /// received it ended: the release is refused rather than free another holder's grant. A grant
  /// taken by a synchronous acquire is released with its fencing token; a plain Lock that this
  /// thread did not acquire may still be released by it, as in Python.
  void release() { client().release_lock(Release, name(), true); }
  Future<void> async_release() { return invoke_async<void>(Release, thread_id()); }
  /// Whether the calling thread of this process holds it (false once its grant was lost).
  bool owned() const { return client().lock_owned(Owned, name()); }
  Future<bool> async_owned() const { return invoke_async<bool>(Owned, thread_id()); }
};

inline constexpr char kLockAcquire[] = "lock.acquire";
inline constexpr char kLockRelease[] = "lock.release";
inline constexpr char kLockOwned[] = "lock.owned";
inline constexpr char kRLockAcquire[] = "rlock.acquire";
inline constexpr char kRLockRelease[] = "rlock.release";
inline constexpr char kRLockOwned[] = "rlock.owned";

}  // namespace detail

class LockProxy
    : public detail::BasicLock<detail::kLockAcquire, detail::kLockRelease, detail::kLockOwned> {
 public:
  using BasicLock::BasicLock;
  /// Whether anyone holds it.
  bool locked() const { return invoke<bool>("lock.locked"); }
  Future<bool> async_locked() const { return invoke_async<bool>("lock.locked"); }
};

/// Re-entrant: the owning thread may acquire it again; it is free after as many releases.
class RLockProxy
    : public detail::BasicLock<detail::kRLockAcquire, detail::kRLockRelease, detail::kRLockOwned> {
 public:
  using BasicLock::BasicLock;
  /// Whether any thread of any process holds it (Python 3.14's RLock.locked()).
  bool locked() const { return invoke<bool>("rlock.locked"); }
  Future<bool> async_locked() const { return invoke_async<bool>("rlock.locked"); }
};

}  // namespace syncmgr
