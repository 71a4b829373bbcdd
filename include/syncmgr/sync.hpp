// Proxies of Python's threading synchronisation objects across processes: Semaphore,
// BoundedSemaphore, Condition, Event, Barrier.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <utility>

#include "syncmgr/lock.hpp"
#include "syncmgr/proxy.hpp"

namespace syncmgr {

/// Whom a Semaphore's permits belong to: a creation option (Manager::Semaphore).
enum class Permits {
  /// Python's semantics: a permit has no owner. Anyone may release, and a process's exit or crash
  /// changes nothing, so a Semaphore used as a signal never gains or loses permits.
  shared,
  /// Pool-style: a permit belongs to the session (process) that acquired it. Only a process
  /// holding permits may release them (RuntimeError otherwise), and when its session ends (exit,
  /// crash, silence past the session timeout) the permits it holds are returned. A
  /// BoundedSemaphore's bound is never exceeded.
  owned,
};

namespace detail {

template <const char* Type>
class BasicSemaphore : public ProxyBase, public Lockable<BasicSemaphore<Type>> {
 public:
  explicit BasicSemaphore(std::shared_ptr<ObjectRef> ref) : ProxyBase(std::move(ref)) {}
  /// Takes a permit: whether it did (false when it would block, or the timeout passed). Only an
  /// owned semaphore (Permits::owned) returns the permits a process holds when its session ends.
  bool acquire(bool blocking = true, Timeout timeout = {}) {
    return invoke_blocking<bool>(op(".acquire"), blocking, timeout);
  }
  Future<bool> async_acquire(bool blocking = true, Timeout timeout = {}) {
    return invoke_blocking_async<bool>(op(".acquire"), blocking, timeout);
  }
  /// Returns n permits. A BoundedSemaphore throws ValueError above its initial value; an owned one
  /// RuntimeError for more permits than this process holds.
  void release(std::uint32_t n = 1) { invoke<void>(op(".release"), n); }
  Future<void> async_release(std::uint32_t n = 1) { return invoke_async<void>(op(".release"), n); }
  std::int64_t get_value() const { return invoke<std::int64_t>(op(".get_value")); }
  Future<std::int64_t> async_get_value() const {
    return invoke_async<std::int64_t>(op(".get_value"));
  }

 private:
  static std::string op(const char* method) { return std::string(Type) + method; }
};

inline constexpr char kSemaphore[] = "semaphore";
inline constexpr char kBoundedSemaphore[] = "boundedsemaphore";

}  // namespace detail

using SemaphoreProxy = detail::BasicSemaphore<detail::kSemaphore>;
using BoundedSemaphoreProxy = detail::BasicSemaphore<detail::kBoundedSemaphore>;

/// Python's Condition: its own RLock, or the Lock/RLock it was created on. Lockable.
class ConditionProxy : public detail::ProxyBase, public detail::Lockable<ConditionProxy> {
 public:
  explicit ConditionProxy(std::shared_ptr<detail::ObjectRef> ref) : ProxyBase(std::move(ref)) {}

  /// Throws LockLost when this thread's earlier grant of the lock was lost (see release).
  bool acquire(bool blocking = true, Timeout timeout = {}) {
    return acquire_fenced(blocking, timeout).has_value();
  }
  /// As acquire, returning the grant's fencing token (see LockProxy::acquire_fenced).
  std::optional<std::uint64_t> acquire_fenced(bool blocking = true, Timeout timeout = {}) {
    client().check_grant(name());
    auto token = invoke_blocking<std::optional<std::uint64_t>>("condition.acquire", blocking,
                                                               timeout, detail::thread_id());
    if (token) client().note_grant(name(), *token);
    return token;
  }
  /// The async form of acquire: the future holds the grant's fencing token, or none when the lock
  /// was not acquired.
  Future<std::optional<std::uint64_t>> async_acquire_fenced(bool blocking = true,
                                                            Timeout timeout = {}) {
    return invoke_blocking_async<std::optional<std::uint64_t>>("condition.acquire", blocking,
                                                               timeout, detail::thread_id());
  }
  /// RuntimeError without the lock; LockLost when this thread's grant was revoked (its session
  /// ended).
  void release() { client().release_lock("condition.release", name(), false); }
  Future<void> async_release() {
    return invoke_async<void>("condition.release", detail::thread_id());
  }
  /// Releases the lock (atomically, on the daemon), waits for a notify or the timeout, re-acquires
  /// the lock, and returns false if the timeout passed. RuntimeError without the lock.
  bool wait(Timeout timeout = {}) {
    client().check_grant(name());
    bool notified = invoke_blocking<bool>("condition.wait", true, timeout, detail::thread_id());
    client().renew_grant(name());  // re-acquired, in the session that answered
    return notified;
  }
  Future<bool> async_wait(Timeout timeout = {}) {
    return invoke_blocking_async<bool>("condition.wait", true, timeout, detail::thread_id());
  }
  /// Waits until predicate() is true (checked with the lock held), or the timeout passes; returns
  /// the predicate's last value.
  template <class Predicate>
  bool wait_for(Predicate predicate, Timeout timeout = {}) {
    using clock = std::chrono::steady_clock;
    std::optional<clock::time_point> end;
    if (timeout) end = clock::now() + std::chrono::duration_cast<clock::duration>(*timeout);
    bool result = predicate();
    while (!result) {
      Timeout left;
      if (end) {
        left = std::chrono::duration<double>(*end - clock::now());
        if (left->count() <= 0) break;
      }
      wait(left);
      result = predicate();
    }
    return result;
  }
  /// Wakes up to n waiters. RuntimeError without the lock.
  void notify(std::uint32_t n = 1) { invoke<void>("condition.notify", detail::thread_id(), n); }
  Future<void> async_notify(std::uint32_t n = 1) {
    return invoke_async<void>("condition.notify", detail::thread_id(), n);
  }
  void notify_all() { invoke<void>("condition.notify_all", detail::thread_id()); }
  Future<void> async_notify_all() {
    return invoke_async<void>("condition.notify_all", detail::thread_id());
  }
};

class EventProxy : public detail::ProxyBase {
 public:
  explicit EventProxy(std::shared_ptr<detail::ObjectRef> ref) : ProxyBase(std::move(ref)) {}
  void set() { invoke<void>("event.set"); }
  Future<void> async_set() { return invoke_async<void>("event.set"); }
  void clear() { invoke<void>("event.clear"); }
  Future<void> async_clear() { return invoke_async<void>("event.clear"); }
  bool is_set() const { return invoke<bool>("event.is_set"); }
  Future<bool> async_is_set() const { return invoke_async<bool>("event.is_set"); }
  /// Whether the event is set, waiting up to the timeout for it.
  bool wait(Timeout timeout = {}) { return invoke_blocking<bool>("event.wait", true, timeout); }
  Future<bool> async_wait(Timeout timeout = {}) {
    return invoke_blocking_async<bool>("event.wait", true, timeout);
  }
};

/// Python's Barrier. The action, when the barrier was created with one, runs in the process of the
/// last party to arrive, before any party is released; give every process's proxy the same action.
class BarrierProxy : public detail::ProxyBase {
 public:
  BarrierProxy(std::shared_ptr<detail::ObjectRef> ref, std::function<void()> action)
      : ProxyBase(std::move(ref)), action_(std::move(action)) {}

  /// Waits for all parties; returns this party's arrival index, 0 .. parties-1, each once per
  /// cycle. Throws BrokenBarrierError if the barrier is or becomes broken (abort, reset, a timeout,
  /// a failing action, a party's session ending). timeout: none means the barrier's default.
  std::size_t wait(Timeout timeout = {}) {
    auto [index, run_action] =
        invoke_blocking<std::pair<std::size_t, bool>>("barrier.wait", true, timeout);
    if (run_action) {
      bool ok = true;
      try {
        if (action_) action_();
      } catch (...) {
        invoke<void>("barrier.action_done", false);
        throw;
      }
      invoke<void>("barrier.action_done", ok);
    }
    return index;
  }
  void abort() { invoke<void>("barrier.abort"); }
  Future<void> async_abort() { return invoke_async<void>("barrier.abort"); }
  void reset() { invoke<void>("barrier.reset"); }
  Future<void> async_reset() { return invoke_async<void>("barrier.reset"); }
  std::size_t parties() const { return invoke<std::size_t>("barrier.parties"); }
  Future<std::size_t> async_parties() const { return invoke_async<std::size_t>("barrier.parties"); }
  std::size_t n_waiting() const { return invoke<std::size_t>("barrier.n_waiting"); }
  Future<std::size_t> async_n_waiting() const {
    return invoke_async<std::size_t>("barrier.n_waiting");
  }
  bool broken() const { return invoke<bool>("barrier.broken"); }
  Future<bool> async_broken() const { return invoke_async<bool>("barrier.broken"); }

 private:
  std::function<void()> action_;
};

}  // namespace syncmgr
