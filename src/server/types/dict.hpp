// The dict type: Python's dict proxy surface over an insertion-ordered Table, plus atomic ops.
#pragma once

#include <memory>

#include "server/object.hpp"
#include "server/types/table.hpp"

namespace syncmgr::server {

class DictObject : public Object {
 public:
  DictObject() : Object("dict") {}
  std::size_t size() const override { return table.size(); }
  void describe(Map& out, const Inspector& in) const override;
  Table table;
};

OpResult<std::unique_ptr<Object>> make_dict(const Value& params);

/// Pure operations: no wire, no msgpack; unit-tested directly.
namespace dict_ops {
OpResult<Value> get(const Table& t, const Value& key);  // KeyError if absent
OpResult<Value> get(const Table& t, const Value& key, const Value& fallback);
/// [get(k, fallback) for k in keys]: one round trip for many keys.
OpResult<Value> get_many(const Table& t, const Value& keys, const Value& fallback);
OpResult<Unit> set(Table& t, const Value& key, Value value);
OpResult<Unit> del(Table& t, const Value& key);  // KeyError if absent
OpResult<Value> contains(const Table& t, const Value& key);
OpResult<Value> keys(const Table& t);
OpResult<Value> values(const Table& t);
OpResult<Value> items(const Table& t);  // [[k, v], ...]
/// `other` is a map or an array of [key, value] pairs.
OpResult<Unit> update(Table& t, const Value& other);
OpResult<Value> pop(Table& t, const Value& key);  // KeyError if absent
OpResult<Value> pop(Table& t, const Value& key, const Value& fallback);
OpResult<Value> popitem(Table& t);  // [k, v], last inserted; KeyError if empty
OpResult<Value> setdefault(Table& t, const Value& key, const Value& fallback);
OpResult<Value> copy(const Table& t);  // a map in insertion order
}  // namespace dict_ops

}  // namespace syncmgr::server
