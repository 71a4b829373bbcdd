// An insertion-ordered hash table of Value -> Value: the storage of dict and Namespace.
//
// Python's dict keeps insertion order, so keys()/items()/popitem() do here too: entries live in a
// vector in insertion order (erased ones become holes, compacted when they outnumber live ones) and
// a hash index maps each key to its slot. Also the pure atomic operations both types share.
#pragma once

#include <cstdint>
#include <optional>
#include <unordered_map>
#include <utility>
#include <vector>

#include "server/object.hpp"
#include "syncmgr/value.hpp"

namespace syncmgr::server {

class Table {
 public:
  Value* find(const Value& key);
  const Value* find(const Value& key) const;
  /// Inserts or overwrites; true when the key was new.
  bool set(const Value& key, Value value);
  /// Removes the key and returns its value, or nullopt if absent.
  std::optional<Value> erase(const Value& key);
  /// Removes and returns the most recently inserted entry (Python's popitem), or nullopt if empty.
  std::optional<std::pair<Value, Value>> pop_last();
  void clear();
  std::size_t size() const { return index_.size(); }

  template <class F>
  void for_each(F&& fn) const {
    for (const auto& e : entries_)
      if (e.live) fn(e.key, e.value);
  }

 private:
  struct Entry {
    Value key;
    Value value;
    bool live;
  };
  void compact();

  std::vector<Entry> entries_;
  std::unordered_map<Value, std::uint32_t, ValueHash> index_;
};

/// Keys must be hashable, as in Python (maps and arrays holding maps are not).
std::optional<Err> check_hashable(const Value& key);

namespace table_ops {
/// Adds `delta` to the number at `key` (absent counts as 0) and returns the new value. int + int
/// stays int (overflow is a ValueError); a float on either side gives a float.
OpResult<Value> increment(Table& t, const Value& key, const Value& delta);
/// Sets key to `desired` if it is present and equal (Python ==) to `expected`; returns whether it
/// did.
OpResult<Value> compare_and_set(Table& t, const Value& key, const Value& expected, Value desired);
/// Sets key to `value` only if absent; returns whether it did.
OpResult<Value> set_if_absent(Table& t, const Value& key, Value value);
}  // namespace table_ops

}  // namespace syncmgr::server
