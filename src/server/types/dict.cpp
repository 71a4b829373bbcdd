// dict: the operations of Python's DictProxy (get, set, del, contains, len, keys, values, items,
// update, pop, popitem, setdefault, clear, copy) plus atomic increment and compare_and_set, which
// Python's proxy lacks (its `d[k] += 1` is a read and a write: a lost-update race across
// processes). Keys are any hashable msgpack value, compared with Python's equality (1 == 1.0).
#include "server/types/dict.hpp"

#include "protocol/message.hpp"
#include "server/commands.hpp"

namespace syncmgr::server {

namespace err = protocol::err;

namespace {
Err key_error(const Value& key) {
  return Err{err::key, key.repr(Value::kShortRepr)};
}
}  // namespace

void DictObject::describe(Map& out, const Inspector& in) const {
  Peek peek(in);
  out.emplace_back("entries", table.first(peek));
  out.emplace_back("omitted", peek.omitted(table.size()));
}

OpResult<std::unique_ptr<Object>> make_dict(const Value& params) {
  auto obj = std::make_unique<DictObject>();
  if (params.is_nil()) return std::unique_ptr<Object>(std::move(obj));
  if (params.kind() != Value::Kind::map) return arg_type_error("dict parameters", params, "a map");
  for (const auto& [k, v] : params.as_map()) {
    if (k == Value("items")) {
      auto r = dict_ops::update(obj->table, v);
      if (!r.ok()) return r.error();
    } else {
      return Err{err::type, "unknown dict parameter " + k.repr(Value::kShortRepr)};
    }
  }
  return std::unique_ptr<Object>(std::move(obj));
}

namespace dict_ops {

OpResult<Value> get(const Table& t, const Value& key) {
  if (auto e = check_hashable(key)) return *e;
  auto v = t.get(key);
  if (!v) return key_error(key);
  return std::move(*v);
}

OpResult<Value> get(const Table& t, const Value& key, const Value& fallback) {
  if (auto e = check_hashable(key)) return *e;
  auto v = t.get(key);
  return v ? std::move(*v) : fallback;
}

OpResult<Value> get_many(const Table& t, const Value& keys, const Value& fallback) {
  if (keys.kind() != Value::Kind::array)
    return arg_type_error("dict.get_many keys", keys, "a list");
  List out;
  out.reserve(keys.as_list().size());
  for (const Value& key : keys.as_list()) {
    if (auto e = check_hashable(key)) return *e;
    auto v = t.get(key);
    out.push_back(v ? std::move(*v) : fallback);
  }
  return Value(std::move(out));
}

OpResult<Unit> set(Table& t, const Value& key, Value value) {
  if (auto e = check_hashable(key)) return *e;
  t.set(key, std::move(value));
  return Unit{};
}

OpResult<Unit> del(Table& t, const Value& key) {
  if (auto e = check_hashable(key)) return *e;
  if (!t.erase(key)) return key_error(key);
  return Unit{};
}

OpResult<Value> contains(const Table& t, const Value& key) {
  if (auto e = check_hashable(key)) return *e;
  return Value(t.contains(key));
}

OpResult<Value> keys(const Table& t) {
  List out;
  out.reserve(t.size());
  t.for_each([&](const Value& k, const Value&) { out.push_back(k); });
  return Value(std::move(out));
}

OpResult<Value> values(const Table& t) {
  List out;
  out.reserve(t.size());
  t.for_each([&](const Value&, const Value& v) { out.push_back(v); });
  return Value(std::move(out));
}

OpResult<Value> items(const Table& t) {
  List out;
  out.reserve(t.size());
  t.for_each([&](const Value& k, const Value& v) { out.push_back(Value(List{k, v})); });
  return Value(std::move(out));
}

OpResult<Unit> update(Table& t, const Value& other) {
  // Validate everything first so a bad entry leaves the dict unchanged.
  if (other.kind() == Value::Kind::map) {
    for (const auto& [k, v] : other.as_map())
      if (auto e = check_hashable(k)) return *e;
    for (const auto& [k, v] : other.as_map())
      t.set(k, v);
    return Unit{};
  }
  if (other.kind() != Value::Kind::array)
    return arg_type_error("update argument", other, "a map or an array of [key, value] pairs");
  for (const auto& pair : other.as_list()) {
    if (pair.kind() != Value::Kind::array || pair.as_list().size() != 2)
      return Err{err::value, "update sequence element " + pair.repr(Value::kShortRepr) +
                                 " is not a [key, value] pair"};
    if (auto e = check_hashable(pair.as_list()[0])) return *e;
  }
  for (const auto& pair : other.as_list())
    t.set(pair.as_list()[0], pair.as_list()[1]);
  return Unit{};
}

OpResult<Value> pop(Table& t, const Value& key) {
  if (auto e = check_hashable(key)) return *e;
  auto v = t.erase(key);
  if (!v) return key_error(key);
  return std::move(*v);
}

OpResult<Value> pop(Table& t, const Value& key, const Value& fallback) {
  if (auto e = check_hashable(key)) return *e;
  auto v = t.erase(key);
  return v ? std::move(*v) : fallback;
}

OpResult<Value> popitem(Table& t) {
  auto kv = t.pop_last();
  if (!kv) return Err{err::key, "popitem(): dictionary is empty"};
  return Value(List{std::move(kv->first), std::move(kv->second)});
}

OpResult<Value> setdefault(Table& t, const Value& key, const Value& fallback) {
  if (auto e = check_hashable(key)) return *e;
  if (auto v = t.get(key)) return std::move(*v);
  t.set(key, fallback);
  return fallback;
}

OpResult<Value> copy(const Table& t) {
  Map out;
  out.reserve(t.size());
  t.for_each([&](const Value& k, const Value& v) { out.emplace_back(k, v); });
  return Value(std::move(out));
}

}  // namespace dict_ops

namespace {

Table& table(Ctx& c) {
  return static_cast<DictObject&>(*c.object).table;
}

// dict.get key [default] -> value | KeyError (without a default, like d[key])
Reply get(Ctx& c) {
  return c.args.size() == 1 ? dict_ops::get(table(c), c.args[0])
                            : dict_ops::get(table(c), c.args[0], c.args[1]);
}
// dict.get_many [key...] [default=nil] -> [value-or-default...]
Reply get_many(Ctx& c) {
  return dict_ops::get_many(table(c), c.args[0], c.args.size() > 1 ? c.args[1] : Value());
}
// dict.set key value -> nil
Reply set(Ctx& c) {
  return dict_ops::set(table(c), c.args[0], std::move(c.args[1]));
}
// dict.del key -> nil | KeyError
Reply del(Ctx& c) {
  return dict_ops::del(table(c), c.args[0]);
}
// dict.contains key -> bool
Reply contains(Ctx& c) {
  return dict_ops::contains(table(c), c.args[0]);
}
// dict.len -> int
Reply len(Ctx& c) {
  return Value(table(c).size());
}
// dict.keys -> [key...] in insertion order
Reply keys(Ctx& c) {
  return dict_ops::keys(table(c));
}
// dict.values -> [value...]
Reply values(Ctx& c) {
  return dict_ops::values(table(c));
}
// dict.items -> [[key, value]...]
Reply items(Ctx& c) {
  return dict_ops::items(table(c));
}
// dict.update map|[[key, value]...] -> nil
Reply update(Ctx& c) {
  return dict_ops::update(table(c), c.args[0]);
}
// dict.pop key [default] -> value | KeyError
Reply pop(Ctx& c) {
  return c.args.size() == 1 ? dict_ops::pop(table(c), c.args[0])
                            : dict_ops::pop(table(c), c.args[0], c.args[1]);
}
// dict.popitem -> [key, value] | KeyError
Reply popitem(Ctx& c) {
  return dict_ops::popitem(table(c));
}
// dict.setdefault key [default=nil] -> value
Reply setdefault(Ctx& c) {
  return dict_ops::setdefault(table(c), c.args[0], c.args.size() > 1 ? c.args[1] : Value());
}
// dict.clear -> nil
Reply clear(Ctx& c) {
  table(c).clear();
  return Value();
}
// dict.copy -> map
Reply copy(Ctx& c) {
  return dict_ops::copy(table(c));
}
// dict.increment key delta [limits] -> new value (absent key counts as 0)
Reply increment(Ctx& c) {
  return table_ops::increment(table(c), c.args[0], c.args[1],
                              c.args.size() > 2 ? c.args[2] : Value());
}
// dict.compare_and_set key expected desired -> bool
Reply compare_and_set(Ctx& c) {
  return table_ops::compare_and_set(table(c), c.args[0], c.args[1], std::move(c.args[2]));
}

}  // namespace

void register_dict_commands(CommandTable& t) {
  using F = CommandFlags;
  t.add_type("dict", make_dict);
  t.add("dict.get", 1, 2, F::none, get);
  t.add("dict.get_many", 1, 2, F::none, get_many);
  t.add("dict.set", 2, 2, F::mutating, set);
  t.add("dict.del", 1, 1, F::mutating, del);
  t.add("dict.contains", 1, 1, F::none, contains);
  t.add("dict.len", 0, 0, F::none, len);
  t.add("dict.keys", 0, 0, F::none, keys);
  t.add("dict.values", 0, 0, F::none, values);
  t.add("dict.items", 0, 0, F::none, items);
  t.add("dict.update", 1, 1, F::mutating, update);
  t.add("dict.pop", 1, 2, F::mutating, pop);
  t.add("dict.popitem", 0, 0, F::mutating, popitem);
  t.add("dict.setdefault", 1, 2, F::mutating, setdefault);
  t.add("dict.clear", 0, 0, F::mutating, clear);
  t.add("dict.copy", 0, 0, F::none, copy);
  t.add("dict.increment", 2, 3, F::mutating, increment);
  t.add("dict.compare_and_set", 3, 3, F::mutating, compare_and_set);
}

}  // namespace syncmgr::server
