// The list type: pure operations with Python's list semantics, then the list.* handlers.
//
// Indices, slices (CPython's PySlice_Unpack + PySlice_AdjustIndices), insert clamping, error kinds
// and messages follow CPython. Every operation answers at once; none blocks. Failed operations
// leave the list unchanged (sort checks every comparison before moving anything).
#include "server/types/list.hpp"

#include <algorithm>
#include <cmath>
#include <iterator>
#include <numeric>
#include <string>

#include "protocol/message.hpp"
#include "server/commands.hpp"

namespace syncmgr::server {

namespace err = protocol::err;

void ListObject::describe(Map& out, const Inspector& in) const {
  Peek peek(in);
  out.emplace_back("items", peek.items(items));
  out.emplace_back("omitted", peek.omitted(items.size()));
}

OpResult<std::unique_ptr<Object>> make_list(const Value& params) {
  auto list = std::make_unique<ListObject>();
  if (!params.is_nil()) {
    if (params.kind() != Value::Kind::map)
      return arg_type_error("list parameters", params, "a map");
    for (const auto& [key, value] : params.as_map()) {
      if (key != Value("items"))
        return Err{err::type, "list got an unexpected parameter " + key.repr(Value::kShortRepr)};
      if (value.kind() != Value::Kind::array)
        return arg_type_error("list items", value, "an array");
      list->items = value.as_list();
    }
  }
  return std::unique_ptr<Object>(std::move(list));
}

namespace list_ops {

std::optional<std::size_t> position(std::int64_t i, std::size_t n) {
  const auto len = static_cast<std::int64_t>(n);
  if (i < 0) i += len;
  if (i < 0 || i >= len) return std::nullopt;
  return static_cast<std::size_t>(i);
}

OpResult<Bound> bound_arg(const Value& v, std::string_view what) {
  if (v.is_nil()) return Bound{};
  // An unsigned bound beyond int64 clamps, as Python clamps huge slice indices.
  if (std::holds_alternative<std::uint64_t>(v.variant())) return Bound{INT64_MAX};
  auto i = int_arg(v, what);
  if (!i.ok()) return i.error();
  return Bound{i.value()};
}

OpResult<SliceArgs> slice_args(const std::vector<Value>& args, std::string_view op) {
  std::string prefix(op);
  auto start = bound_arg(args[0], prefix + " start");
  if (!start.ok()) return start.error();
  auto stop = bound_arg(args[1], prefix + " stop");
  if (!stop.ok()) return stop.error();
  auto step = bound_arg(args[2], prefix + " step");
  if (!step.ok()) return step.error();
  return SliceArgs{start.value(), stop.value(), step.value()};
}

namespace {

constexpr const char* kGetRange = "list index out of range";
constexpr const char* kSetRange = "list assignment index out of range";

/// A slice resolved against a length: items start, start+step, ... (`length` of them).
struct Slice {
  std::int64_t start;
  std::int64_t stop;
  std::int64_t step;
  std::int64_t length;
  std::size_t at(std::int64_t i) const { return static_cast<std::size_t>(start + i * step); }
};

// CPython's PySlice_Unpack followed by PySlice_AdjustIndices.
OpResult<Slice> resolve(std::size_t n, Bound start_b, Bound stop_b, Bound step_b) {
  std::int64_t step = step_b.value_or(1);
  if (step == 0) return Err{err::value, "slice step cannot be zero"};
  if (step < -INT64_MAX) step = -INT64_MAX;  // so that -step cannot overflow
  std::int64_t start = start_b.value_or(step < 0 ? INT64_MAX : 0);
  std::int64_t stop = stop_b.value_or(step < 0 ? INT64_MIN : INT64_MAX);

  const auto len = static_cast<std::int64_t>(n);
  auto adjust = [&](std::int64_t& i) {
    if (i < 0) {
      i += len;
      if (i < 0) i = step < 0 ? -1 : 0;
    } else if (i >= len) {
      i = step < 0 ? len - 1 : len;
    }
  };
  adjust(start);
  adjust(stop);

  std::int64_t length = 0;
  if (step < 0) {
    if (stop < start) length = (start - stop - 1) / (-step) + 1;
  } else if (start < stop) {
    length = (stop - start - 1) / step + 1;
  }
  return Slice{start, stop, step, length};
}

Err not_array(std::string_view what, const Value& v) {
  return arg_type_error(what, v, "an array");
}

bool is_nan(const Value& v) {
  return v.kind() == Value::Kind::floating && std::isnan(v.as_double());
}

// Python's `<` as a three-way result; nullopt when Python would raise TypeError. NaN, which Python
// sorts unpredictably, goes after every other number here so the order stays a strict weak one.
std::optional<int> order(const Value& a, const Value& b) {
  if (auto c = compare(a, b)) return c;
  if (a.is_number() && b.is_number()) return int(is_nan(a)) - int(is_nan(b));
  return std::nullopt;
}

}  // namespace

OpResult<Unit> append(Items& items, Value v) {
  items.push_back(std::move(v));
  return Unit{};
}

OpResult<Unit> extend(Items& items, Value values) {
  if (values.kind() != Value::Kind::array) return not_array("list.extend argument", values);
  List& src = values.as_list();
  items.insert(items.end(), std::make_move_iterator(src.begin()),
               std::make_move_iterator(src.end()));
  return Unit{};
}

OpResult<Unit> insert(Items& items, std::int64_t index, Value v) {
  const auto len = static_cast<std::int64_t>(items.size());
  if (index < 0) index = std::max<std::int64_t>(index + len, 0);
  index = std::min(index, len);
  items.insert(items.begin() + index, std::move(v));
  return Unit{};
}

OpResult<Value> pop(Items& items, std::int64_t index) {
  if (items.empty()) return Err{err::index, "pop from empty list"};
  auto pos = position(index, items.size());
  if (!pos) return Err{err::index, "pop index out of range"};
  Value v = std::move(items[*pos]);
  items.erase(items.begin() + static_cast<std::ptrdiff_t>(*pos));
  return v;
}

OpResult<Unit> remove(Items& items, const Value& v) {
  auto it = std::find(items.begin(), items.end(), v);
  if (it == items.end()) return Err{err::value, "list.remove(x): x not in list"};
  items.erase(it);
  return Unit{};
}

OpResult<Value> index(const Items& items, const Value& v, std::int64_t start, std::int64_t stop) {
  // Bounds as in list.index: negative ones count from the end and clamp at 0; stop clamps at len.
  const auto len = static_cast<std::int64_t>(items.size());
  if (start < 0) start = std::max<std::int64_t>(start + len, 0);
  if (stop < 0) stop = std::max<std::int64_t>(stop + len, 0);
  for (std::int64_t i = start; i < stop && i < len; ++i)
    if (items[static_cast<std::size_t>(i)] == v) return Value(i);
  return Err{err::value, v.repr(Value::kShortRepr) + " is not in list"};
}

OpResult<Value> count(const Items& items, const Value& v) {
  return Value(static_cast<std::int64_t>(std::count(items.begin(), items.end(), v)));
}

OpResult<Value> len(const Items& items) {
  return Value(static_cast<std::int64_t>(items.size()));
}

OpResult<Value> contains(const Items& items, const Value& v) {
  return Value(std::find(items.begin(), items.end(), v) != items.end());
}

OpResult<Value> get(const Items& items, std::int64_t index) {
  auto pos = position(index, items.size());
  if (!pos) return Err{err::index, kGetRange};
  return items[*pos];
}

OpResult<Unit> set(Items& items, std::int64_t index, Value v) {
  auto pos = position(index, items.size());
  if (!pos) return Err{err::index, kSetRange};
  items[*pos] = std::move(v);
  return Unit{};
}

OpResult<Unit> del(Items& items, std::int64_t index) {
  auto pos = position(index, items.size());
  if (!pos) return Err{err::index, kSetRange};
  items.erase(items.begin() + static_cast<std::ptrdiff_t>(*pos));
  return Unit{};
}

OpResult<Value> get_slice(const Items& items, Bound start, Bound stop, Bound step) {
  auto r = resolve(items.size(), start, stop, step);
  if (!r.ok()) return r.error();
  const Slice& s = r.value();
  List out;
  out.reserve(static_cast<std::size_t>(s.length));
  for (std::int64_t i = 0; i < s.length; ++i)
    out.push_back(items[s.at(i)]);
  return Value(std::move(out));
}

OpResult<Unit> set_slice(Items& items, Bound start, Bound stop, Bound step, Value values) {
  auto r = resolve(items.size(), start, stop, step);
  if (!r.ok()) return r.error();
  if (values.kind() != Value::Kind::array) return not_array("list.set_slice values", values);
  const Slice& s = r.value();
  List& src = values.as_list();
  if (s.step == 1) {
    // A simple slice: replace [start, max(start, stop)) by any number of values.
    auto first = items.begin() + s.start;
    auto last = items.begin() + std::max(s.start, s.stop);
    first = items.erase(first, last);
    items.insert(first, std::make_move_iterator(src.begin()), std::make_move_iterator(src.end()));
    return Unit{};
  }
  if (static_cast<std::int64_t>(src.size()) != s.length)
    return Err{err::value, "attempt to assign sequence of size " + std::to_string(src.size()) +
                               " to extended slice of size " + std::to_string(s.length)};
  for (std::int64_t i = 0; i < s.length; ++i)
    items[s.at(i)] = std::move(src[i]);
  return Unit{};
}

OpResult<Unit> del_slice(Items& items, Bound start, Bound stop, Bound step) {
  auto r = resolve(items.size(), start, stop, step);
  if (!r.ok()) return r.error();
  Slice s = r.value();
  if (s.step == 1) {
    items.erase(items.begin() + s.start, items.begin() + std::max(s.start, s.stop));
    return Unit{};
  }
  if (s.length == 0) return Unit{};
  if (s.step < 0) {  // the same positions, walked forwards
    s.start += s.step * (s.length - 1);
    s.step = -s.step;
  }
  std::size_t out = 0;
  for (std::size_t i = 0; i < items.size(); ++i) {
    const auto off = static_cast<std::int64_t>(i) - s.start;
    const bool doomed = off >= 0 && off % s.step == 0 && off / s.step < s.length;
    if (doomed) continue;
    if (out != i) items[out] = std::move(items[i]);
    ++out;
  }
  items.resize(out);
  return Unit{};
}

OpResult<Unit> reverse(Items& items) {
  std::reverse(items.begin(), items.end());
  return Unit{};
}

OpResult<Unit> sort(Items& items, bool reverse) {
  // Sort a permutation, so a failed comparison leaves the items untouched. Once one comparison has
  // failed the comparator answers false, which keeps std::stable_sort within bounds until it ends.
  // A reverse sort compares with the operands swapped, keeping equal items in their original order
  // as Python's reverse=True does.
  std::vector<std::size_t> perm(items.size());
  std::iota(perm.begin(), perm.end(), std::size_t{0});
  std::optional<Err> failure;
  auto less = [&](std::size_t i, std::size_t j) {
    if (failure) return false;
    const Value& a = reverse ? items[j] : items[i];
    const Value& b = reverse ? items[i] : items[j];
    auto c = order(a, b);
    if (!c) {
      failure =
          Err{err::type, "'<' not supported between instances of '" + std::string(a.type_name()) +
                             "' and '" + std::string(b.type_name()) + "'"};
      return false;
    }
    return *c < 0;
  };
  std::stable_sort(perm.begin(), perm.end(), less);
  if (failure) return *failure;
  Items sorted;
  sorted.reserve(items.size());
  for (std::size_t p : perm)
    sorted.push_back(std::move(items[p]));
  items = std::move(sorted);
  return Unit{};
}

OpResult<Unit> clear(Items& items) {
  items.clear();
  return Unit{};
}

OpResult<Value> copy(const Items& items) {
  return Value(List(items));
}

}  // namespace list_ops

namespace {

using list_ops::Bound;

list_ops::Items& items_of(Ctx& c) {
  return static_cast<ListObject&>(*c.object).items;
}

// list.append v
Reply append(Ctx& c) {
  return list_ops::append(items_of(c), std::move(c.args[0]));
}

// list.extend values(array) | TypeError
Reply extend(Ctx& c) {
  return list_ops::extend(items_of(c), std::move(c.args[0]));
}

// list.insert index v
Reply insert(Ctx& c) {
  auto i = int_arg(c.args[0], "list.insert index");
  if (!i.ok()) return i.error();
  return list_ops::insert(items_of(c), i.value(), std::move(c.args[1]));
}

// list.pop [index] -> item | IndexError
Reply pop(Ctx& c) {
  std::int64_t index = -1;
  if (!c.args.empty()) {
    auto i = int_arg(c.args[0], "list.pop index");
    if (!i.ok()) return i.error();
    index = i.value();
  }
  return list_ops::pop(items_of(c), index);
}

// list.remove v | ValueError
Reply remove(Ctx& c) {
  return list_ops::remove(items_of(c), c.args[0]);
}

// list.index v [start [stop]] -> int | ValueError  (a nil bound is an omitted one)
Reply index(Ctx& c) {
  std::int64_t start = 0;
  std::int64_t stop = INT64_MAX;
  if (c.args.size() > 1 && !c.args[1].is_nil()) {
    auto i = int_arg(c.args[1], "list.index start");
    if (!i.ok()) return i.error();
    start = i.value();
  }
  if (c.args.size() > 2 && !c.args[2].is_nil()) {
    auto i = int_arg(c.args[2], "list.index stop");
    if (!i.ok()) return i.error();
    stop = i.value();
  }
  return list_ops::index(items_of(c), c.args[0], start, stop);
}

// list.count v -> int
Reply count(Ctx& c) {
  return list_ops::count(items_of(c), c.args[0]);
}

// list.len -> int
Reply len(Ctx& c) {
  return list_ops::len(items_of(c));
}

// list.contains v -> bool
Reply contains(Ctx& c) {
  return list_ops::contains(items_of(c), c.args[0]);
}

// list.get index -> item | IndexError
Reply get(Ctx& c) {
  auto i = int_arg(c.args[0], "list.get index");
  if (!i.ok()) return i.error();
  return list_ops::get(items_of(c), i.value());
}

// list.set index v | IndexError
Reply set(Ctx& c) {
  auto i = int_arg(c.args[0], "list.set index");
  if (!i.ok()) return i.error();
  return list_ops::set(items_of(c), i.value(), std::move(c.args[1]));
}

// list.del index | IndexError
Reply del(Ctx& c) {
  auto i = int_arg(c.args[0], "list.del index");
  if (!i.ok()) return i.error();
  return list_ops::del(items_of(c), i.value());
}

// list.get_slice start stop step -> array | ValueError (step 0)
Reply get_slice(Ctx& c) {
  auto s = list_ops::slice_args(c.args, "list.get_slice");
  if (!s.ok()) return s.error();
  const list_ops::SliceArgs& a = s.value();
  return list_ops::get_slice(items_of(c), a.start, a.stop, a.step);
}

// list.set_slice start stop step values(array) | ValueError (step 0, extended size mismatch)
Reply set_slice(Ctx& c) {
  auto s = list_ops::slice_args(c.args, "list.set_slice");
  if (!s.ok()) return s.error();
  const list_ops::SliceArgs& a = s.value();
  return list_ops::set_slice(items_of(c), a.start, a.stop, a.step, std::move(c.args[3]));
}

// list.del_slice start stop step | ValueError (step 0)
Reply del_slice(Ctx& c) {
  auto s = list_ops::slice_args(c.args, "list.del_slice");
  if (!s.ok()) return s.error();
  const list_ops::SliceArgs& a = s.value();
  return list_ops::del_slice(items_of(c), a.start, a.stop, a.step);
}

// list.reverse
Reply reverse(Ctx& c) {
  return list_ops::reverse(items_of(c));
}

// list.sort [reverse(bool)] | TypeError (unorderable items; the list is left unchanged)
Reply sort(Ctx& c) {
  bool rev = false;
  if (!c.args.empty()) {
    const Value& v = c.args[0];
    if (v.kind() != Value::Kind::boolean) return arg_type_error("list.sort reverse", v, "a bool");
    rev = v.as_bool();
  }
  return list_ops::sort(items_of(c), rev);
}

// list.clear
Reply clear(Ctx& c) {
  return list_ops::clear(items_of(c));
}

// list.copy -> array
Reply copy(Ctx& c) {
  return list_ops::copy(items_of(c));
}

}  // namespace

void register_list_commands(CommandTable& t) {
  constexpr auto mut = CommandFlags::mutating;
  constexpr auto none = CommandFlags::none;
  t.add_type("list", make_list);
  t.add("list.append", 1, 1, mut, append);
  t.add("list.extend", 1, 1, mut, extend);
  t.add("list.insert", 2, 2, mut, insert);
  t.add("list.pop", 0, 1, mut, pop);
  t.add("list.remove", 1, 1, mut, remove);
  t.add("list.index", 1, 3, none, index);
  t.add("list.count", 1, 1, none, count);
  t.add("list.len", 0, 0, none, len);
  t.add("list.contains", 1, 1, none, contains);
  t.add("list.get", 1, 1, none, get);
  t.add("list.set", 2, 2, mut, set);
  t.add("list.del", 1, 1, mut, del);
  t.add("list.get_slice", 3, 3, none, get_slice);
  t.add("list.set_slice", 4, 4, mut, set_slice);
  t.add("list.del_slice", 3, 3, mut, del_slice);
  t.add("list.reverse", 0, 0, mut, reverse);
  t.add("list.sort", 0, 1, mut, sort);
  t.add("list.clear", 0, 0, mut, clear);
  t.add("list.copy", 0, 0, none, copy);
}

}  // namespace syncmgr::server
