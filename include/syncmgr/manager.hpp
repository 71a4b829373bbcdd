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
}

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
  /// maxsize 0: unbounded.
  QueueProxy Queue(std::string_view name = {}, std::size_t maxsize = 0);
  JoinableQueueProxy JoinableQueue(std::string_view name = {}, std::size_t maxsize = 0);
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
    auto reply = client_->call(op, target, detail::pack_args(args...));
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
    msgpack::sbuffer buf;
    msgpack::pack(buf, v);
    return msgpack::unpack(buf.data(), buf.size()).get().as<syncmgr::Value>();
  }

  std::shared_ptr<detail::OwnedDaemon> owned_;  // start()'s daemon; stopped after client_ closes
  std::shared_ptr<detail::Client> client_;
};

}  // namespace syncmgr
