// The named objects of one daemon.
//
// Lifetime: a named object lives until server.remove. An object opened without a name gets a unique
// generated name (never reused within a daemon's lifetime: a per-instance random prefix and a
// counter) and is *temporary*: every session that opens it holds it, and it is freed when the last
// holder releases it (server.release, sent by the client library when its last proxy to it is
// destroyed) or its session ends (closed, or expired after missing heartbeats). So a long-running
// daemon frees what nobody can reach, and a crashed client cannot leak objects.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "server/commands.hpp"
#include "server/object.hpp"

namespace syncmgr::server {

class Registry {
 public:
  explicit Registry(const CommandTable& table);

  Object* find(std::string_view name);

  struct Opened {
    std::string name;
    bool created;
  };
  /// Opens `name` (or a new temporary when `name` is nil), creating it with `params` if absent.
  /// Opening an existing object as another type is a TypeError naming both types.
  OpResult<Opened> open(std::string_view type, const Value& name, const Value& params,
                        std::uint64_t session);
  /// Deletes the object; false if there was none.
  bool remove(std::string_view name);
  /// Drops `session`'s hold on a temporary object (no-op for named objects).
  void release(std::string_view name, std::uint64_t session);
  /// Drops every hold of a session that ended.
  void release_session(std::uint64_t session);

  /// Called with each object just before it is destroyed (removed: by server.remove; else a
  /// temporary freed), so the calls parked on it can end.
  void on_gone(std::function<void(const Object&, bool removed)> fn) { on_gone_ = std::move(fn); }

  std::size_t size() const { return objects_.size(); }
  void for_each(const std::function<void(const Object&)>& fn) const;

 private:
  void add_holder(Object& obj, std::uint64_t session);
  /// Drops `session` from a temporary's holders; frees it when none are left.
  void drop_holder(Object& obj, std::uint64_t session);
  void destroy(std::string_view name, bool removed);

  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  const CommandTable& table_;
  std::unordered_map<std::string, std::unique_ptr<Object>, Hash, std::equal_to<>> objects_;
  Object* last_found_ = nullptr;  // find's last answer; forgotten when that object is destroyed
  // session -> the temporaries it holds (a set: releasing one of 100,000 must not scan them all)
  std::unordered_map<std::uint64_t, std::unordered_set<std::string>> held_;
  std::function<void(const Object&, bool)> on_gone_;
  std::string instance_;
  std::uint64_t next_temporary_ = 0;
};

}  // namespace syncmgr::server
