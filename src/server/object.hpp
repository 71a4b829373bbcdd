// The server-side object model: every hosted object derives from Object, and every operation
// returns an OpResult (a value or an error), never throws across dispatch.
#pragma once

#include <algorithm>
#include <cstddef>
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
  /// How many items or entries describe() lists at most (the first ones; see Peek, which also caps
  /// their size).
  virtual std::size_t limit() const = 0;
  /// Calls parked on `obj` waiting for `what`.
  virtual std::size_t parked(const Object& obj, Awaited what) const = 0;
  /// A session as {"id": 16 hex digits, "peer", "pid" (when known)}, or {"id", "ended": true}.
  virtual Value session(std::uint64_t id) const = 0;
  /// Items of queue `name` handed out and not yet acknowledged, and (JoinableQueue) got and not
  /// yet task_done'd, per session that has any: [session(id) + {"unacknowledged", "undone"}...].
  virtual Value deliveries(const std::string& queue) const = 0;
};

/// The most packed bytes the items or entries server.inspect lists may take in all: inspecting a
/// queue of 1 MiB items lists none of them, rather than `limit` MiB (docs/PROTOCOL.md).
inline constexpr std::size_t kInspectMaxBytes = 64 * 1024;

/// The bytes `v` packs to, counted without building them.
inline std::size_t packed_size(const Value& v) {
  struct Counter {
    std::size_t n = 0;
    void write(const char*, std::size_t len) { n += len; }
  } counter;
  msgpack::packer<Counter> p(counter);
  p.pack(v);
  return counter.n;
}

/// What describe() lists of a container: its first items (or entries) in order, at most
/// Inspector::limit() of them and kInspectMaxBytes packed in all. Ask take() for each in order
/// and stop at the first false: the list is always a prefix, never a later, smaller item.
class Peek {
 public:
  explicit Peek(const Inspector& in) : limit_(in.limit()) {}
  /// Whether the next item (with `value`: an entry, both counted) is listed.
  bool take(const Value& item, const Value* value = nullptr) {
    if (full_ || taken_ == limit_) return false;
    std::size_t n = packed_size(item) + (value != nullptr ? packed_size(*value) : 0);
    if (n > bytes_left_) {
      full_ = true;
      return false;
    }
    bytes_left_ -= n;
    ++taken_;
    return true;
  }
  /// Of a container of `size` items, how many of the first limit() the byte cap left out.
  std::uint64_t omitted(std::size_t size) const { return std::min(size, limit_) - taken_; }

  /// The listed prefix of a sequence of Values.
  template <class Seq>
  List items(const Seq& seq) {
    List out;
    for (const Value& v : seq) {
      if (!take(v)) break;
      out.push_back(v);
    }
    return out;
  }

 private:
  std::size_t limit_;
  std::size_t taken_ = 0;
  std::size_t bytes_left_ = kInspectMaxBytes;
  bool full_ = false;
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
