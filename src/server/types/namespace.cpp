// namespace: Python's Namespace (set, get, has, del of attributes; the attribute list; a snapshot)
// plus increment, compare_and_set and set_if_absent, each atomic because the daemon runs one
// operation at a time. Python's `ns.x += 1` is a get and a set: two processes lose updates.
#include "server/types/namespace.hpp"

#include "protocol/message.hpp"
#include "server/commands.hpp"
#include "server/types/dict.hpp"

namespace syncmgr::server {

namespace err = protocol::err;

namespace namespace_ops {

std::optional<Err> check_attribute(const Value& name) {
  if (name.kind() != Value::Kind::string)
    return Err{err::type, "attribute name must be a str, not " + std::string(name.type_name())};
  if (name.as_string().empty()) return Err{err::value, "attribute name must not be empty"};
  return std::nullopt;
}

OpResult<Value> get(const Table& t, const Value& name) {
  if (auto e = check_attribute(name)) return *e;
  auto v = t.get(name);
  if (!v) return Err{err::attribute, "Namespace has no attribute '" + name.as_string() + "'"};
  return std::move(*v);
}

OpResult<Value> get(const Table& t, const Value& name, const Value& fallback) {
  if (auto e = check_attribute(name)) return *e;
  auto v = t.get(name);
  return v ? std::move(*v) : fallback;
}

OpResult<Unit> set(Table& t, const Value& name, Value value) {
  if (auto e = check_attribute(name)) return *e;
  t.set(name, std::move(value));
  return Unit{};
}

OpResult<Unit> del(Table& t, const Value& name) {
  if (auto e = check_attribute(name)) return *e;
  if (!t.erase(name))
    return Err{err::attribute, "Namespace has no attribute '" + name.as_string() + "'"};
  return Unit{};
}

OpResult<Value> attributes(const Table& t) {
  return dict_ops::keys(t);
}
OpResult<Value> snapshot(const Table& t) {
  return dict_ops::copy(t);
}

}  // namespace namespace_ops

void NamespaceObject::describe(Map& out, const Inspector& in) const {
  Peek peek(in);
  out.emplace_back("entries", attrs.first(peek));
  out.emplace_back("omitted", peek.omitted(attrs.size()));
}

OpResult<std::unique_ptr<Object>> make_namespace(const Value& params) {
  auto obj = std::make_unique<NamespaceObject>();
  if (params.is_nil()) return std::unique_ptr<Object>(std::move(obj));
  if (params.kind() != Value::Kind::map)
    return arg_type_error("Namespace parameters", params, "a map");
  for (const auto& [k, v] : params.as_map()) {
    if (!(k == Value("attributes")) || v.kind() != Value::Kind::map)
      return Err{err::type, "Namespace parameters take only 'attributes': {name: value}"};
    for (const auto& [name, value] : v.as_map()) {
      auto r = namespace_ops::set(obj->attrs, name, value);
      if (!r.ok()) return r.error();
    }
  }
  return std::unique_ptr<Object>(std::move(obj));
}

namespace {

Table& attrs(Ctx& c) {
  return static_cast<NamespaceObject&>(*c.object).attrs;
}

// namespace.get name [default] -> value | AttributeError
Reply get(Ctx& c) {
  return c.args.size() == 1 ? namespace_ops::get(attrs(c), c.args[0])
                            : namespace_ops::get(attrs(c), c.args[0], c.args[1]);
}
// namespace.set name value -> nil
Reply set(Ctx& c) {
  return namespace_ops::set(attrs(c), c.args[0], std::move(c.args[1]));
}
// namespace.has name -> bool
Reply has(Ctx& c) {
  if (auto e = namespace_ops::check_attribute(c.args[0])) return *e;
  return Value(attrs(c).contains(c.args[0]));
}
// namespace.del name -> nil | AttributeError
Reply del(Ctx& c) {
  return namespace_ops::del(attrs(c), c.args[0]);
}
// namespace.attributes -> [name...]
Reply attributes(Ctx& c) {
  return namespace_ops::attributes(attrs(c));
}
// namespace.snapshot -> {name: value...}, all attributes read at one instant
Reply snapshot(Ctx& c) {
  return namespace_ops::snapshot(attrs(c));
}
// namespace.increment name delta [limits] -> new value (absent counts as 0)
Reply increment(Ctx& c) {
  if (auto e = namespace_ops::check_attribute(c.args[0])) return *e;
  return table_ops::increment(attrs(c), c.args[0], c.args[1],
                              c.args.size() > 2 ? c.args[2] : Value());
}
// namespace.compare_and_set name expected desired -> bool
Reply compare_and_set(Ctx& c) {
  if (auto e = namespace_ops::check_attribute(c.args[0])) return *e;
  return table_ops::compare_and_set(attrs(c), c.args[0], c.args[1], std::move(c.args[2]));
}
// namespace.set_if_absent name value -> bool
Reply set_if_absent(Ctx& c) {
  if (auto e = namespace_ops::check_attribute(c.args[0])) return *e;
  return table_ops::set_if_absent(attrs(c), c.args[0], std::move(c.args[1]));
}

}  // namespace

void register_namespace_commands(CommandTable& t) {
  using F = CommandFlags;
  t.add_type("namespace", make_namespace);
  t.add("namespace.get", 1, 2, F::none, get);
  t.add("namespace.set", 2, 2, F::mutating, set);
  t.add("namespace.has", 1, 1, F::none, has);
  t.add("namespace.del", 1, 1, F::mutating, del);
  t.add("namespace.attributes", 0, 0, F::none, attributes);
  t.add("namespace.snapshot", 0, 0, F::none, snapshot);
  t.add("namespace.increment", 2, 3, F::mutating, increment);
  t.add("namespace.compare_and_set", 3, 3, F::mutating, compare_and_set);
  t.add("namespace.set_if_absent", 2, 2, F::mutating, set_if_absent);
}

}  // namespace syncmgr::server
