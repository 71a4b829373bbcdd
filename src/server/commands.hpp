// The command table: every operation the daemon serves, with its arity, flags and handler.
//
// Op names are "<type>.<method>" (dict.get) plus the reserved "server.*" group. Dispatch checks, in
// this order: known op, arity, target object exists, target type matches; then calls the handler.
// Handlers answer now (a value or an error) or, for blocking operations, park the call on keys of
// the blocking module (blocking.hpp) and answer later; either way each request gets exactly one
// reply.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "server/blocking.hpp"
#include "server/object.hpp"

namespace syncmgr::server {

class Registry;
class Server;
struct Session;

enum class CommandFlags : std::uint32_t {
  none = 0,
  mutating = 1,  // may change the object: its keys are signalled afterwards (blocking.hpp)
  blocking = 2,  // may park; its last two args are block: bool and timeout: seconds | nil
};
inline bool has(CommandFlags set, CommandFlags f) {
  return (static_cast<std::uint32_t>(set) & static_cast<std::uint32_t>(f)) != 0;
}
inline CommandFlags operator|(CommandFlags a, CommandFlags b) {
  return static_cast<CommandFlags>(static_cast<std::uint32_t>(a) | static_cast<std::uint32_t>(b));
}

/// What a handler sees of one request.
struct Ctx {
  Server& server;
  Registry& registry;
  Session& session;
  std::uint64_t request_id;
  std::string_view target;  // the object's name; empty for server.* ops
  Object* object;           // resolved target (nullptr for server.* ops)
  std::vector<Value>& args;
  /// Blocking ops: true when the handler may answer Reply::park(keys) (block was true and the
  /// deadline has not passed). When false and the op cannot proceed, it gives its "would block"
  /// answer (false, Empty, Full, ...).
  bool may_wait = false;
  /// Re-run of a parked call whose deadline passed: give the timeout answer (may_wait is false).
  bool timed_out = false;
  /// Per-call state kept across runs of a parked call (nil on the first run).
  Value state;
  /// When a parked call times out: from the op's timeout argument (max() for none). A handler may
  /// change it before parking (a Barrier's default timeout).
  Clock::time_point deadline = Clock::time_point::max();
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
  /// The call waits until one of `keys` is signalled (or its deadline passes). `blocks_same_op`:
  /// while this call waits, the later calls parked on the same keys cannot proceed either (they
  /// wait for the same thing or more: FIFO waits); false when they may (put_many calls of
  /// different sizes, a Barrier's parties).
  static Reply park(std::vector<WaitKey> keys, bool blocks_same_op = true) {
    Reply r{Value()};
    r.state_ = State::parked;
    r.keys_ = std::move(keys);
    r.blocks_same_op_ = blocks_same_op;
    return r;
  }
  bool blocks_same_op() const { return blocks_same_op_; }
  const std::vector<WaitKey>& keys() const { return keys_; }
  bool is_error() const { return state_ == State::error; }
  bool is_parked() const { return state_ == State::parked; }
  Value& value() { return value_; }
  Err& error() { return err_; }

 private:
  enum class State { value, error, parked } state_ = State::value;
  bool blocks_same_op_ = true;
  std::vector<WaitKey> keys_;
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
  mutable const Command* last_found_ = nullptr;  // find's last answer (one thread: the loop's)
  std::unordered_map<std::string_view, Factory> types_;
};

/// Fills `table` with every object type's commands and the server.* group.
void register_all_commands(CommandTable& table);

// One registration function per type file (src/server/types/*.cpp) and for server.* ops.
void register_server_commands(CommandTable& table);
void register_namespace_commands(CommandTable& table);
void register_dict_commands(CommandTable& table);
void register_list_commands(CommandTable& table);
void register_lock_commands(CommandTable& table);
void register_condition_commands(CommandTable& table);
void register_queue_commands(CommandTable& table);
void register_semaphore_commands(CommandTable& table);
void register_event_commands(CommandTable& table);
void register_barrier_commands(CommandTable& table);
void register_value_commands(CommandTable& table);

// Argument helpers for handlers: each returns an Err naming the op and argument on mismatch.
Err arg_type_error(std::string_view what, const Value& got, std::string_view wanted);
OpResult<std::int64_t> int_arg(const Value& v, std::string_view what);

}  // namespace syncmgr::server
