// value and array: a single shared Value (get, set, atomic add, compare_and_set) and a fixed-length
// Array (len, get, set, get_slice, set_slice). Nothing blocks. Index and slice rules are Python's;
// a slice assignment must keep the Array's length, as multiprocessing's Array requires.
#include "server/types/value.hpp"

#include <algorithm>
#include <memory>
#include <string>

#include "protocol/message.hpp"
#include "server/commands.hpp"
#include "server/types/number.hpp"

namespace syncmgr::server {

namespace err = protocol::err;

void ValueObject::describe(Map& out, const Inspector&) const {
  out.emplace_back("value", value);
}

void ArrayObject::describe(Map& out, const Inspector& in) const {
  Peek peek(in);
  out.emplace_back("items", peek.items(items));
  out.emplace_back("omitted", peek.omitted(items.size()));
}

namespace value_ops {

OpResult<Value> add(Value& v, const Value& delta, const Value& limits) {
  // Computed and checked before the value is replaced: a failing add changes nothing.
  auto result = number_ops::add(v.is_nil() ? Value(std::int64_t{0}) : v, delta, {"the value"});
  if (!result.ok()) return result;
  if (auto e = number_ops::check_limits(result.value(), limits, {"the value"})) return *e;
  v = result.value();
  return result;
}

OpResult<Value> compare_and_set(Value& v, const Value& expected, Value desired) {
  if (!(v == expected)) return Value(false);
  v = std::move(desired);
  return Value(true);
}

}  // namespace value_ops

namespace array_ops {

using list_ops::position;

OpResult<Value> len(const Items& items) {
  return Value(static_cast<std::int64_t>(items.size()));
}

OpResult<Value> get(const Items& items, std::int64_t index) {
  auto pos = position(index, items.size());
  if (!pos) return Err{err::index, "array index out of range"};
  return items[*pos];
}

OpResult<Unit> set(Items& items, std::int64_t index, Value v) {
  auto pos = position(index, items.size());
  if (!pos) return Err{err::index, "array assignment index out of range"};
  items[*pos] = std::move(v);
  return Unit{};
}

OpResult<Value> get_slice(const Items& items, Bound start, Bound stop, Bound step) {
  return list_ops::get_slice(items, start, stop, step);
}

OpResult<Unit> set_slice(Items& items, Bound start, Bound stop, Bound step, Value values) {
  // The positions the slice selects: the same slice taken over 0, 1, ..., len-1.
  Items positions;
  positions.reserve(items.size());
  for (std::size_t i = 0; i < items.size(); ++i)
    positions.emplace_back(i);
  auto sel = list_ops::get_slice(positions, start, stop, step);
  if (!sel.ok()) return sel.error();
  if (values.kind() != Value::Kind::array)
    return arg_type_error("array.set_slice values", values, "an array");
  const List& at = sel.value().as_list();
  List& src = values.as_list();
  if (src.size() != at.size())
    return Err{err::value, "an Array's length is fixed: cannot assign " +
                               std::to_string(src.size()) + " values to a slice of " +
                               std::to_string(at.size())};
  for (std::size_t i = 0; i < at.size(); ++i)
    items[static_cast<std::size_t>(at[i].as_int())] = std::move(src[i]);
  return Unit{};
}

}  // namespace array_ops

namespace {

Value& value_of(Ctx& c) {
  return static_cast<ValueObject&>(*c.object).value;
}
array_ops::Items& items_of(Ctx& c) {
  return static_cast<ArrayObject&>(*c.object).items;
}

OpResult<std::unique_ptr<Object>> make_value(const Value& params) {
  auto obj = std::make_unique<ValueObject>();
  if (!params.is_nil()) {
    if (params.kind() != Value::Kind::map)
      return arg_type_error("value parameters", params, "a map");
    for (const auto& [k, v] : params.as_map()) {
      if (k != Value("value"))
        return Err{err::type, "value got an unexpected parameter " + k.repr(Value::kShortRepr)};
      obj->value = v;
    }
  }
  return std::unique_ptr<Object>(std::move(obj));
}

OpResult<std::unique_ptr<Object>> make_array(const Value& params) {
  auto obj = std::make_unique<ArrayObject>();
  bool given = false;
  if (params.kind() == Value::Kind::map) {
    for (const auto& [k, v] : params.as_map()) {
      if (k != Value("items"))
        return Err{err::type, "array got an unexpected parameter " + k.repr(Value::kShortRepr)};
      if (v.kind() != Value::Kind::array) return arg_type_error("array items", v, "an array");
      obj->items = v.as_list();
      given = true;
    }
  }
  if (!given) return Err{err::type, "Array requires parameters: a map with 'items' (an array)"};
  return std::unique_ptr<Object>(std::move(obj));
}

// value.get -> v
Reply get(Ctx& c) {
  return value_of(c);
}

// value.set v
Reply set(Ctx& c) {
  value_of(c) = std::move(c.args[0]);
  return Value();
}

// value.add delta [limits] -> new value | TypeError (not numbers; a float beyond int limits)
//   | ValueError (int overflow; outside the limits)
Reply add(Ctx& c) {
  return value_ops::add(value_of(c), c.args[0], c.args.size() > 1 ? c.args[1] : Value());
}

// value.compare_and_set expected desired -> bool
Reply compare_and_set(Ctx& c) {
  return value_ops::compare_and_set(value_of(c), c.args[0], std::move(c.args[1]));
}

// array.len -> int
Reply array_len(Ctx& c) {
  return array_ops::len(items_of(c));
}

// array.get index -> item | IndexError
Reply array_get(Ctx& c) {
  auto i = int_arg(c.args[0], "array.get index");
  if (!i.ok()) return i.error();
  return array_ops::get(items_of(c), i.value());
}

// array.set index v | IndexError
Reply array_set(Ctx& c) {
  auto i = int_arg(c.args[0], "array.set index");
  if (!i.ok()) return i.error();
  return array_ops::set(items_of(c), i.value(), std::move(c.args[1]));
}

// array.get_slice start stop step -> array | ValueError (step 0)
Reply array_get_slice(Ctx& c) {
  auto s = list_ops::slice_args(c.args, "array.get_slice");
  if (!s.ok()) return s.error();
  return array_ops::get_slice(items_of(c), s.value().start, s.value().stop, s.value().step);
}

// array.set_slice start stop step values(array) | ValueError (step 0, length would change)
Reply array_set_slice(Ctx& c) {
  auto s = list_ops::slice_args(c.args, "array.set_slice");
  if (!s.ok()) return s.error();
  const list_ops::SliceArgs& a = s.value();
  return array_ops::set_slice(items_of(c), a.start, a.stop, a.step, std::move(c.args[3]));
}

}  // namespace

void register_value_commands(CommandTable& t) {
  constexpr auto mut = CommandFlags::mutating;
  constexpr auto none = CommandFlags::none;
  t.add_type("value", make_value);
  t.add("value.get", 0, 0, none, get);
  t.add("value.set", 1, 1, mut, set);
  t.add("value.add", 1, 2, mut, add);
  t.add("value.compare_and_set", 2, 2, mut, compare_and_set);
  t.add_type("array", make_array);
  t.add("array.len", 0, 0, none, array_len);
  t.add("array.get", 1, 1, none, array_get);
  t.add("array.set", 2, 2, mut, array_set);
  t.add("array.get_slice", 3, 3, none, array_get_slice);
  t.add("array.set_slice", 4, 4, mut, array_set_slice);
}

}  // namespace syncmgr::server
