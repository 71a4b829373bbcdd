// Manager: a connection to syncmgrd and the factory of proxies, like Python's SyncManager.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <functional>

#include "syncmgr/dict.hpp"
#include "syncmgr/list.hpp"
#include "syncmgr/lock.hpp"
#include "syncmgr/namespace.hpp"
#include "syncmgr/proxy.hpp"
#include "syncmgr/queue.hpp"
#include "syncmgr/shared_value.hpp"
#include "syncmgr/sync.hpp"

namespace syncmgr {

/// One object as listed by Manager::objects().
struct ObjectInfo {
  std::string name;
  std::string type;
  std::uint64_t size = 0;
  bool temporary = false;
  MSGPACK_DEFINE_MAP(name, type, size, temporary)
};

namespace detail {
struct OwnedDaemon;

/// The daemon's type name of each proxy class, for Manager::open<P>.
template <class P>
inline constexpr std::string_view proxy_type = "";
template <>
inline constexpr std::string_view proxy_type<NamespaceProxy> = "namespace";
template <>
inline constexpr std::string_view proxy_type<DictProxy> = "dict";
template <>
inline constexpr std::string_view proxy_type<ListProxy> = "list";
template <>
inline constexpr std::string_view proxy_type<QueueProxy> = "queue";
template <>
inline constexpr std::string_view proxy_type<JoinableQueueProxy> = "joinablequeue";
template <>
inline constexpr std::string_view proxy_type<LockProxy> = "lock";
template <>
inline constexpr std::string_view proxy_type<RLockProxy> = "rlock";
template <>
inline constexpr std::string_view proxy_type<SemaphoreProxy> = "semaphore";
template <>
inline constexpr std::string_view proxy_type<BoundedSemaphoreProxy> = "boundedsemaphore";
template <>
inline constexpr std::string_view proxy_type<ConditionProxy> = "condition";
template <>
inline constexpr std::string_view proxy_type<EventProxy> = "event";
template <>
inline constexpr std::string_view proxy_type<BarrierProxy> = "barrier";
template <>
inline constexpr std::string_view proxy_type<ValueProxy> = "value";
template <>
inline constexpr std::string_view proxy_type<ArrayProxy> = "array";
}  // namespace detail

/// How Manager::start() runs its private daemon.
struct StartOptions {
  /// The syncmgrd to run. Default: $SYNCMGR_DAEMON, else the one installed with this library,
  /// else `syncmgrd` from PATH.
  std::string daemon;
  /// Passed to the daemon (--session-timeout): how long a silent client keeps its session.
  std::chrono::milliseconds session_timeout{10000};
  /// How long start() waits for the daemon to be ready.
  std::chrono::milliseconds start_timeout{10000};
};

/// A connection to one daemon. Movable, not copyable; proxies made from it keep the connection
/// alive. Safe to use from several threads at once: calls from different threads are in flight
/// together and a slow call in one thread never stalls another. Usable in a fork()ed child: the
/// child's first call opens a new connection (a new session) of its own.
class Manager {
 public:
  /// Connects and authenticates. Throws AuthenticationError (wrong key, or the daemon could not
  /// prove it knows the key) or ConnectionError (no answer within options.connect_timeout).
  explicit Manager(Options options = {});
  /// Starts a private syncmgrd for this process and its children, as Python's Manager() does, and
  /// connects to it: a fresh random key that never touches argv or a file (it reaches the daemon
  /// through an inherited pipe), a unix:// socket in a new 0700 directory, ready when this returns.
  /// fork()ed children use the returned Manager (and its proxies) as they are; children started
  /// with exec find the daemon through export_environment(). The daemon exits, leaving nothing
  /// behind, when this Manager is destroyed or shutdown() is called, or when this process dies,
  /// even by SIGKILL. Throws ConnectionError if the daemon cannot be started or is not ready in
  /// time.
  static Manager start(StartOptions options = {});
  ~Manager();
  Manager(Manager&&) noexcept;
  Manager& operator=(Manager&&) noexcept;

  // Factories: open the object `name`, creating it if absent (opening an existing object as another
  // type is a TypeError). Without a name, a new temporary object with a generated name (see
  // name()): it lives while some process holds a proxy to it, or until its holders' sessions end.
  NamespaceProxy Namespace(std::string_view name);
  NamespaceProxy Namespace();
  DictProxy dict(std::string_view name);
  DictProxy dict();
  ListProxy list(std::string_view name);
  ListProxy list();
  /// Created with initial contents in the same call (Python's manager.list(range(10)),
  /// manager.dict(pairs)): `items` is any container (for dict: a map or a sequence of pairs). An
  /// empty name makes a temporary object. When `name` exists already, it is opened as it is and
  /// `items` ignored: created() on the proxy says which happened.
  template <class C>
  ListProxy list(std::string_view name, const C& items) {
    return ListProxy(open("list", name, syncmgr::Value(Map{{"items", to_value(items)}})));
  }
  template <class M>
  DictProxy dict(std::string_view name, const M& items) {
    return DictProxy(open("dict", name, syncmgr::Value(Map{{"items", to_value(items)}})));
  }

  // Blocking objects. An empty name makes a temporary object with a generated name. Creation
  // arguments apply only when the object is created; opening an existing one ignores them.
  LockProxy Lock(std::string_view name = {});
  RLockProxy RLock(std::string_view name = {});
  /// `permits`: shared (Python's semantics, the default) or owned (pool-style; see Permits).
  SemaphoreProxy Semaphore(std::string_view name = {}, std::int64_t value = 1,
                           Permits permits = Permits::shared);
  BoundedSemaphoreProxy BoundedSemaphore(std::string_view name = {}, std::int64_t value = 1,
                                         Permits permits = Permits::shared);
  /// On its own RLock, or on `lock_name` (an existing Lock or RLock).
  ConditionProxy Condition(std::string_view name = {}, std::string_view lock_name = {});
  EventProxy Event(std::string_view name = {});
  /// `action` runs in the last party's process before the parties are released (see BarrierProxy).
  BarrierProxy Barrier(std::string_view name, std::size_t parties,
                       std::function<void()> action = {}, Timeout timeout = {});
  /// A temporary Barrier with a generated name (pass name() to the other parties), as the other
  /// factories make without a name.
  BarrierProxy Barrier(std::size_t parties, std::function<void()> action = {},
                       Timeout timeout = {}) {
    return Barrier(std::string_view(), parties, std::move(action), timeout);
  }
  /// maxsize 0: unbounded.
  QueueProxy Queue(std::string_view name = {}, std::size_t maxsize = 0);
  /// `undone`: see Undone (applies when this call creates the queue).
  JoinableQueueProxy JoinableQueue(std::string_view name = {}, std::size_t maxsize = 0,
                                   Undone undone = Undone::requeue);
  /// A shared value with atomic add and compare-and-set.
  template <class T>
  ValueProxy Value(std::string_view name, const T& initial) {
    return ValueProxy(open("value", name, syncmgr::Value(Map{{"value", to_value(initial)}})));
  }
  /// A fixed-length array initialised from a container.
  template <class C>
  ArrayProxy Array(std::string_view name, const C& items) {
    return ArrayProxy(open("array", name, syncmgr::Value(Map{{"items", to_value(items)}})));
  }

  /// Opens the object a proxy reference names: a proxy another process put into a container or a
  /// queue (`auto d = mgr.open<DictProxy>(q.get())`). P must be the object's proxy type
  /// (TypeError otherwise; a Barrier reopens without an action). As with names passed by hand, a
  /// temporary object must still be held by some process when this runs (NameError otherwise);
  /// a named one that was removed meanwhile is created anew, as the factories do.
  template <class P>
  P open(const ProxyRef& ref) {
    constexpr std::string_view want = detail::proxy_type<P>;
    static_assert(!want.empty(), "open<P>: P must be one of syncmgr's proxy classes");
    if (ref.type != want)
      throw TypeError("open<" + std::string(want) + ">: the reference is to " + ref.type + " '" +
                      ref.name + "'");
    if constexpr (std::is_same_v<P, BarrierProxy>)
      return BarrierProxy(open(want, ref.name, {}), {});
    else
      return P(open(want, ref.name, {}));
  }
  /// open<P>(value.as<ProxyRef>()): TypeError if the value is not a proxy reference.
  template <class P>
  P open(const syncmgr::Value& value) {
    return open<P>(value.as<ProxyRef>());
  }

  /// Deletes the object. Throws NameError if there is none.
  void remove(std::string_view name);
  /// Every object on the daemon, sorted by name.
  std::vector<ObjectInfo> objects();
  /// Round trip to the daemon; throws ConnectionError if it does not answer in time.
  void ping();
  /// Daemon statistics: sessions, objects, ops_total, ops_per_second, uptime_seconds, ...
  syncmgr::Value stats();
  /// Asks the daemon to exit (for a daemon start() made: and waits until it has).
  void shutdown();
  /// Sets SYNCMGR_ENDPOINT and SYNCMGR_AUTHKEY in this process's environment, so that a child
  /// started with exec (which inherits it) reaches the same daemon with a default Manager().
  /// The key is then readable by this user's processes (/proc/PID/environ), as the key file is.
  void export_environment() const;
  /// Ends this client's session now, as the destructor does: the daemon releases what it held
  /// (locks, permits, temporary objects) at once rather than when the session times out. Later
  /// calls through this Manager or its proxies throw ConnectionError. Call it before a process
  /// exits without running destructors (std::exit from a worker, a fork()ed child's _exit).
  void close();

  /// Low-level call of any daemon operation (see docs/PROTOCOL.md); returns the raw result.
  template <class T = syncmgr::Value, class... A>
  T call(std::string_view op, std::string_view target, const A&... args) {
    auto reply = client_->call(detail::pack_request(op, target, args...), op, target);
    return detail::result_as<T>(reply, op, target);
  }

 private:
  std::shared_ptr<detail::ObjectRef> open(std::string_view type, const std::string* name,
                                          const syncmgr::Value& params = {});
  /// An empty name opens a new temporary object.
  std::shared_ptr<detail::ObjectRef> open(std::string_view type, std::string_view name,
                                          const syncmgr::Value& params);
  template <class T>
  static syncmgr::Value to_value(const T& v) {
    return syncmgr::Value::from(v);
  }

  std::shared_ptr<detail::OwnedDaemon> owned_;  // start()'s daemon; stopped after client_ closes
  std::shared_ptr<detail::Client> client_;
};

}  // namespace syncmgr
