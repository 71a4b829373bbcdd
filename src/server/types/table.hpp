// An insertion-ordered hash table of Value -> Value: the storage of dict and Namespace.
//
// Python's dict keeps insertion order, so keys()/items()/popitem() do here too, and the layout is
// CPython's: entries live in a vector in insertion order (erased ones become holes, compacted when
// they outnumber live ones), and the index is an open-addressing array of 32-bit entry numbers, so
// each key is stored once and the index costs about 8 bytes per entry. Keys and values are stored
// as 16-byte Cells (cell.hpp), so a small entry costs 32 bytes plus the index. Also the pure
// atomic operations both types share.
#pragma once

#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "server/object.hpp"
#include "server/types/cell.hpp"
#include "server/types/page_alloc.hpp"
#include "syncmgr/value.hpp"

namespace syncmgr::server {

class Table {
 public:
  /// The value at `key`, or nullopt if absent.
  std::optional<Value> get(const Value& key) const;
  bool contains(const Value& key) const;
  /// Sets key to `desired` if it is present and its value equals `expected` (Python ==).
  bool compare_and_set(const Value& key, const Value& expected, Value desired);
  /// Inserts or overwrites; true when the key was new.
  bool set(const Value& key, Value value);
  /// Removes the key and returns its value, or nullopt if absent.
  std::optional<Value> erase(const Value& key);
  /// Removes and returns the most recently inserted entry (Python's popitem), or nullopt if empty.
  std::optional<std::pair<Value, Value>> pop_last();
  void clear();
  std::size_t size() const { return live_; }

  template <class F>
  void for_each(F&& fn) const {
    for (std::size_t i = 0; i < entries_.size(); ++i)
      if (!dead_[i])
        entries_[i].key.visit(
            [&](const Value& k) { entries_[i].value.visit([&](const Value& v) { fn(k, v); }); });
  }
  /// The first entries in insertion order as a map, while `peek.take(key, &value)` (a Peek of
  /// server.inspect) says yes: stops at the first no. Nothing is copied to be measured.
  template <class Taker>
  Map first(Taker& peek) const {
    Map out;
    bool more = true;
    for (std::size_t i = 0; more && i < entries_.size(); ++i)
      if (!dead_[i])
        entries_[i].key.visit([&](const Value& k) {
          entries_[i].value.visit([&](const Value& v) {
            if ((more = peek.take(k, &v))) out.emplace_back(k, v);
          });
        });
    return out;
  }

 private:
  struct Entry {
    Cell key;
    Cell value;
  };
  // Slot values: empty, a tombstone (an erased key: probing continues past it), or entry i + 2.
  static constexpr std::uint32_t kEmpty = 0;
  static constexpr std::uint32_t kTombstone = 1;

  /// The value stored at `key`, or null.
  const Cell* find_value(const Value& key) const;
  /// The slot holding `key` (found), else the slot a new key would take.
  std::size_t probe(const Value& key, bool& found) const;
  /// The slot that indexes entry `e` (which must be live).
  std::size_t slot_of_entry(std::size_t e) const;
  /// Drops the holes from the entries and re-indexes them into `slots` slots (a power of two).
  void rebuild(std::size_t slots);
  /// Slots for n live entries with room to grow: load factor at most 1/2 right after (it grows
  /// again past 3/4).
  static std::size_t slots_for(std::size_t n);

  std::vector<Entry, PageAllocator<Entry>> entries_;
  std::vector<bool> dead_;  // per entry: erased (a hole)
  std::vector<std::uint32_t, PageAllocator<std::uint32_t>> slots_;
  std::size_t live_ = 0;
  std::size_t used_slots_ = 0;  // entries and tombstones: probing ends only at an empty slot
};

/// Keys must be hashable, as in Python (maps and arrays holding maps are not).
std::optional<Err> check_hashable(const Value& key);

namespace table_ops {
/// Adds `delta` to the number at `key` (absent counts as 0) and returns the new value, by
/// number_ops::add's rules. `limits` (see number_ops::check_limits) is the caller's range for the
/// result. All or nothing: on any error the table is unchanged.
OpResult<Value> increment(Table& t, const Value& key, const Value& delta,
                          const Value& limits = Value());
/// Sets key to `desired` if it is present and equal (Python ==) to `expected`; returns whether it
/// did.
OpResult<Value> compare_and_set(Table& t, const Value& key, const Value& expected, Value desired);
/// Sets key to `value` only if absent; returns whether it did.
OpResult<Value> set_if_absent(Table& t, const Value& key, Value value);
}  // namespace table_ops

}  // namespace syncmgr::server
