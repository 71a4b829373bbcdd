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

  std::string name;
  /// Created without a name: freed when the last session holding it goes (see registry.hpp).
  bool temporary = false;
  /// Sessions holding a temporary object.
  std::vector<std::uint64_t> holders;

  /// A session ended (closed or expired) after holding something here (see Session::holdings) or
  /// waiting here: release what it holds (locks, permits), break what it was part of (a barrier).
  /// Returns one line per release for the log; empty if nothing changed.
  virtual std::vector<std::string> release_session(std::uint64_t session) {
    (void)session;
    return {};
  }
  /// One of this object's parked calls ended without being served (cancelled, or its session
  /// ended). Objects whose other waiters depend on it (a Barrier) react here.
  virtual void waiter_gone(std::uint64_t session) { (void)session; }

 private:
  std::string_view type_;
};

}  // namespace syncmgr::server
