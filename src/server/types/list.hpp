// The list type: a vector of Values with Python's list semantics (negative indices, slices, insert
// clamping, stable sort, equality as in Python for index/remove/count).
//
// list_ops holds the pure operations over the item vector; list.cpp's handlers only parse arguments
// and call them, so every rule here is unit-tested without a daemon.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "server/object.hpp"
#include "syncmgr/value.hpp"

namespace syncmgr::server {

class ListObject : public Object {
 public:
  ListObject() : Object("list") {}
  std::size_t size() const override { return items.size(); }
  void describe(Map& out, const Inspector& in) const override;

  std::vector<Value> items;
};

/// Makes a list from its creation parameters: nil, or a map with an optional "items" array.
OpResult<std::unique_ptr<Object>> make_list(const Value& params);

namespace list_ops {

using Items = std::vector<Value>;
/// A slice bound or step; nullopt means omitted (Python's None).
using Bound = std::optional<std::int64_t>;

/// The position `i` names (negative counts from the end, as Python's), or nullopt when out of
/// range. Shared with array_ops.
std::optional<std::size_t> position(std::int64_t i, std::size_t n);
/// A slice bound argument: nil (omitted) or an int; `what` names it in a TypeError.
OpResult<Bound> bound_arg(const Value& v, std::string_view what);
struct SliceArgs {
  Bound start, stop, step;
};
/// The [start, stop, step] arguments of `op`'s slice ops (list.get_slice, array.set_slice, ...).
OpResult<SliceArgs> slice_args(const std::vector<Value>& args, std::string_view op);

OpResult<Unit> append(Items& items, Value v);
/// `values` must be an array (TypeError otherwise).
OpResult<Unit> extend(Items& items, Value values);
/// Inserts before `index`, clamped to [0, len] after adding len to a negative index.
OpResult<Unit> insert(Items& items, std::int64_t index, Value v);
/// Removes and returns the item at `index`. IndexError when empty or out of range.
OpResult<Value> pop(Items& items, std::int64_t index = -1);
/// Removes the first item equal to `v`; ValueError if there is none.
OpResult<Unit> remove(Items& items, const Value& v);
/// Position of the first item equal to `v` within [start, stop) (bounds as in Python); ValueError
/// if there is none.
OpResult<Value> index(const Items& items, const Value& v, std::int64_t start = 0,
                      std::int64_t stop = INT64_MAX);
OpResult<Value> count(const Items& items, const Value& v);
OpResult<Value> len(const Items& items);
OpResult<Value> contains(const Items& items, const Value& v);
OpResult<Value> get(const Items& items, std::int64_t index);
OpResult<Unit> set(Items& items, std::int64_t index, Value v);
OpResult<Unit> del(Items& items, std::int64_t index);

/// items[start:stop:step] as an array. ValueError when step is 0.
OpResult<Value> get_slice(const Items& items, Bound start, Bound stop, Bound step);
/// items[start:stop:step] = values (an array). With step 1 any length fits; an extended slice needs
/// exactly as many values as it selects (ValueError otherwise).
OpResult<Unit> set_slice(Items& items, Bound start, Bound stop, Bound step, Value values);
/// del items[start:stop:step].
OpResult<Unit> del_slice(Items& items, Bound start, Bound stop, Bound step);

OpResult<Unit> reverse(Items& items);
/// Stable sort by Python's `<`. TypeError, with the list unchanged, if two items are unorderable.
OpResult<Unit> sort(Items& items, bool reverse = false);
OpResult<Unit> clear(Items& items);
OpResult<Value> copy(const Items& items);

}  // namespace list_ops
}  // namespace syncmgr::server
