// The server-side object model: every hosted object derives from Object, and every operation
// returns an OpResult (a value or an error), never throws across dispatch.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "syncmgr/value.hpp"

namespace syncmgr::server {

/// An operation's failure: an error kind from protocol::err and a message for the user.
struct Err {
  std::string_view kind;
  std::string message;
};

/// A value or an error: the return type of every pure operation (Dragonfly's OpResult).
template <class T>
class OpResult {
 public:
  OpResult(T value) : v_(std::move(value)) {}
  OpResult(Err err) : v_(std::move(err)) {}
  bool ok() const { return v_.index() == 0; }
  T& value() { return std::get<0>(v_); }
  const T& value() const { return std::get<0>(v_); }
  Err& error() { return std::get<1>(v_); }

 private:
  std::variant<T, Err> v_;
};

/// For operations that return nothing on success.
struct Unit {};

class Object;
enum class Awaited : std::uint8_t;  // what a parked call waits for (blocking.hpp)

/// What an object's describe() may ask of the rest of the daemon (server.inspect): who a session
/// is and how many calls wait on the object. Read-only: describing changes nothing.
class Inspector {
 public:
  virtual ~Inspector() = default;
  /// How many items or entries describe() lists at most (the first ones).
  virtual std::size_t limit() const = 0;
  /// Calls parked on `obj` waiting for `what`.
  virtual std::size_t parked(const Object& obj, Awaited what) const = 0;
  /// A session as {"id": 16 hex digits, "peer", "pid" (when known)}, or {"id", "ended": true}.
  virtual Value session(std::uint64_t id) const = 0;
  /// Items of queue `name` handed out and not yet acknowledged, and (JoinableQueue) got and not
  /// yet task_done'd, per session that has any: [session(id) + {"unacknowledged", "undone"}...].
  virtual Value deliveries(const std::string& queue) const = 0;
};

/// Base of every hosted object. One subclass per type, in src/server/types/<type>.cpp.
class Object {
 public:
  explicit Object(std::string_view type) : type_(type) {}
  virtual ~Object() = default;
  Object(const Object&) = delete;
  Object& operator=(const Object&) = delete;

  /// The type name used in ops ("dict" for dict.get) and messages.
  std::string_view type() const { return type_; }
  /// Elements held (entries, items, attributes), for `ls` and stats.
  virtual std::size_t size() const = 0;
  /// Appends this type's own fields to `out` for server.inspect (queue length and first items, a
  /// lock's holder and waiters, ...): what an operator needs to see why a call hangs. Peeks only.
  virtual void describe(Map& out, const Inspector& in) const = 0;

  std::string name;
  /// Created without a name: freed when the last session holding it goes (see registry.hpp).
  bool temporary = false;
  /// Sessions holding a temporary object.
  std::vector<std::uint64_t> holders;
  /// Requests that named it (parked retries are not counted again): `watch` shows its ops/s.
  std::uint64_t ops = 0;

  /// A session ended (closed or expired) after holding something here (see Session::holdings) or
  /// waiting here: release what it holds (locks, permits), break what it was part of (a barrier).
  /// Returns one line per release for the log; empty if nothing changed.
  virtual std::vector<std::string> release_session(std::uint64_t session) {
    (void)session;
    return {};
  }
  /// What `session` holds here now, as a map of details (a lock's {"fence"}, {"permits": n}), or
  /// nil when nothing (server.sessions; Session::holdings names every object it ever held).
  virtual Value holding(std::uint64_t session) const {
    (void)session;
    return Value();
  }
  /// One of this object's parked calls ended without being served (cancelled, or its session
  /// ended). Objects whose other waiters depend on it (a Barrier) react here.
  virtual void waiter_gone(std::uint64_t session) { (void)session; }

 private:
  std::string_view type_;
};

}  // namespace syncmgr::server
