// The Namespace type: named attributes (str keys) with Python's Namespace surface plus the atomic
// operations Python lacks.
#pragma once

#include <memory>

#include "server/object.hpp"
#include "server/types/table.hpp"

namespace syncmgr::server {

class NamespaceObject : public Object {
 public:
  NamespaceObject() : Object("namespace") {}
  std::size_t size() const override { return attrs.size(); }
  void describe(Map& out, const Inspector& in) const override;
  Table attrs;
};

OpResult<std::unique_ptr<Object>> make_namespace(const Value& params);

namespace namespace_ops {
/// Attribute names are non-empty str (Python identifiers are not enforced).
std::optional<Err> check_attribute(const Value& name);
OpResult<Value> get(const Table& t, const Value& name);  // AttributeError if absent
OpResult<Value> get(const Table& t, const Value& name, const Value& fallback);
OpResult<Unit> set(Table& t, const Value& name, Value value);
OpResult<Unit> del(Table& t, const Value& name);  // AttributeError if absent
OpResult<Value> attributes(const Table& t);       // [name...] in creation order
OpResult<Value> snapshot(const Table& t);         // {name: value...}
}  // namespace namespace_ops

}  // namespace syncmgr::server
