// The command table: every operation the daemon serves, with its arity, flags and handler.
//
// Op names are "<type>.<method>" (dict.get) plus the reserved "server.*" group. Dispatch checks, in
// this order: known op, arity, target object exists, target type matches; then calls the handler.
// Handlers answer now (a value or an error) or, for blocking operations, park the call on a waiter
// list and answer later; either way each request gets exactly one reply.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "server/object.hpp"

namespace syncmgr::server {

class Registry;
class Server;
struct Session;

enum class CommandFlags : std::uint32_t {
  none = 0,
  mutating = 1,  // changes the object (counted in stats, wakes waiters)
  blocking = 2,  // may park the call instead of answering now
};

/// What a handler sees of one request.
struct Ctx {
  Server& server;
  Registry& registry;
  Session& session;
  std::uint64_t request_id;
  std::string_view target;  // the object's name; empty for server.* ops
  Object* object;           // resolved target (nullptr for server.* ops)
  std::vector<Value>& args;
};

/// A handler's answer: a value, an error, or "parked" (the reply will come later).
class Reply {
 public:
  Reply(Value v) : state_(State::value), value_(std::move(v)) {}
  Reply(Err e) : state_(State::error), err_(std::move(e)) {}
  template <class T>
  Reply(OpResult<T> r) {
    if (r.ok()) {
      state_ = State::value;
      if constexpr (!std::is_same_v<T, Unit>) value_ = Value(std::move(r.value()));
    } else {
      state_ = State::error;
      err_ = std::move(r.error());
    }
  }
  static Reply parked() {
    Reply r{Value()};
    r.state_ = State::parked;
    return r;
  }
  bool is_error() const { return state_ == State::error; }
  bool is_parked() const { return state_ == State::parked; }
  Value& value() { return value_; }
  Err& error() { return err_; }

 private:
  enum class State { value, error, parked } state_ = State::value;
  Value value_;
  Err err_;
};

using Handler = Reply (*)(Ctx&);
/// Makes a new object of one type from the creation parameters (a map; nil when none were given).
using Factory = OpResult<std::unique_ptr<Object>> (*)(const Value& params);

struct Command {
  std::string name;
  std::string_view type;  // object type for <type>.* ops; empty for server.*
  int min_args;
  int max_args;
  CommandFlags flags;
  Handler handler;
};

class CommandTable {
 public:
  void add(std::string name, int min_args, int max_args, CommandFlags flags, Handler handler);
  const Command* find(std::string_view op) const;
  void add_type(std::string_view type, Factory factory);
  /// The factory for a type name, or nullptr if no such type exists.
  Factory factory(std::string_view type) const;
  /// Every registered op name, sorted (for docs and tests).
  std::vector<std::string> names() const;

 private:
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, Command, Hash, std::equal_to<>> commands_;
  std::unordered_map<std::string_view, Factory> types_;
};

/// Fills `table` with every object type's commands and the server.* group.
void register_all_commands(CommandTable& table);

// One registration function per type file (src/server/types/*.cpp) and for server.* ops.
void register_server_commands(CommandTable& table);
void register_namespace_commands(CommandTable& table);
void register_dict_commands(CommandTable& table);
void register_list_commands(CommandTable& table);

// Argument helpers for handlers: each returns an Err naming the op and argument on mismatch.
Err arg_type_error(std::string_view what, const Value& got, std::string_view wanted);
OpResult<std::int64_t> int_arg(const Value& v, std::string_view what);

}  // namespace syncmgr::server
