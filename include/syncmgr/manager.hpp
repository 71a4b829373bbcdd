// Manager: a connection to syncmgrd and the factory of proxies, like Python's SyncManager.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "syncmgr/dict.hpp"
#include "syncmgr/list.hpp"
#include "syncmgr/namespace.hpp"
#include "syncmgr/proxy.hpp"

namespace syncmgr {

/// One object as listed by Manager::objects().
struct ObjectInfo {
  std::string name;
  std::string type;
  std::uint64_t size = 0;
  bool temporary = false;
  MSGPACK_DEFINE_MAP(name, type, size, temporary)
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
  ~Manager();
  Manager(Manager&&) noexcept;
  Manager& operator=(Manager&&) noexcept;

  // Factories: open the object `name`, creating it if absent (opening an existing object as another
  // type is a TypeError). Without a name, a new temporary object with a generated name (see name()):
  // it lives while some process holds a proxy to it, or until its holders' sessions end.
  NamespaceProxy Namespace(std::string_view name);
  NamespaceProxy Namespace();
  DictProxy dict(std::string_view name);
  DictProxy dict();
  ListProxy list(std::string_view name);
  ListProxy list();

  /// Deletes the object. Throws NameError if there is none.
  void remove(std::string_view name);
  /// Every object on the daemon, sorted by name.
  std::vector<ObjectInfo> objects();
  /// Round trip to the daemon; throws ConnectionError if it does not answer in time.
  void ping();
  /// Daemon statistics: sessions, objects, ops_total, ops_per_second, uptime_seconds, ...
  Value stats();
  /// Asks the daemon to exit.
  void shutdown();

  /// Low-level call of any daemon operation (see docs/PROTOCOL.md); returns the raw result.
  template <class T = Value, class... A>
  T call(std::string_view op, std::string_view target, const A&... args) {
    auto reply = client_->call(op, target, detail::pack_args(args...));
    return detail::result_as<T>(reply, op, target);
  }

 private:
  std::shared_ptr<detail::ObjectRef> open(std::string_view type, const std::string* name);

  std::shared_ptr<detail::Client> client_;
};

}  // namespace syncmgr
