// Value and Array: Python's manager Value and Array (a fixed-length sequence), plus atomic add and
// compare-and-set on a Value.
#pragma once

#include <cstdint>
#include <vector>

#include "server/object.hpp"
#include "server/types/list.hpp"
#include "syncmgr/value.hpp"

namespace syncmgr::server {

class ValueObject : public Object {
 public:
  ValueObject() : Object("value") {}
  std::size_t size() const override { return 1; }
  void describe(Map& out, const Inspector& in) const override;

  Value value;
};

class ArrayObject : public Object {
 public:
  ArrayObject() : Object("array") {}
  std::size_t size() const override { return items.size(); }
  void describe(Map& out, const Inspector& in) const override;

  std::vector<Value> items;  // never changes length
};

namespace value_ops {
/// Adds `delta` to the number held (nil counts as 0) and returns the new value, by
/// number_ops::add's rules; `limits` is the caller's range for the result (see
/// number_ops::check_limits). The value is unchanged on any error.
OpResult<Value> add(Value& v, const Value& delta, const Value& limits = Value());
/// Sets `desired` if the value equals `expected` (Python ==); returns whether it did.
OpResult<Value> compare_and_set(Value& v, const Value& expected, Value desired);
}  // namespace value_ops

namespace array_ops {
using Items = std::vector<Value>;
using list_ops::Bound;
OpResult<Value> len(const Items& items);
/// Negative indices count from the end; IndexError "array index out of range".
OpResult<Value> get(const Items& items, std::int64_t index);
/// IndexError "array assignment index out of range".
OpResult<Unit> set(Items& items, std::int64_t index, Value v);
/// items[start:stop:step] as an array (Python's slice rules; ValueError when step is 0).
OpResult<Value> get_slice(const Items& items, Bound start, Bound stop, Bound step);
/// items[start:stop:step] = values: `values` (an array) must hold exactly as many items as the
/// slice selects, since an Array's length is fixed (ValueError otherwise, nothing changed).
OpResult<Unit> set_slice(Items& items, Bound start, Bound stop, Bound step, Value values);
}  // namespace array_ops

}  // namespace syncmgr::server
