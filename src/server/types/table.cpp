// The ordered table and the atomic operations shared by dict and Namespace.
#include "server/types/table.hpp"

#include <cmath>

#include "protocol/message.hpp"

namespace syncmgr::server {

namespace err = protocol::err;

Value* Table::find(const Value& key) {
  auto it = index_.find(key);
  return it == index_.end() ? nullptr : &entries_[it->second].value;
}

const Value* Table::find(const Value& key) const {
  auto it = index_.find(key);
  return it == index_.end() ? nullptr : &entries_[it->second].value;
}

bool Table::set(const Value& key, Value value) {
  auto it = index_.find(key);
  if (it != index_.end()) {
    entries_[it->second].value = std::move(value);
    return false;
  }
  index_.emplace(key, static_cast<std::uint32_t>(entries_.size()));
  entries_.push_back(Entry{key, std::move(value), true});
  return true;
}

std::optional<Value> Table::erase(const Value& key) {
  auto it = index_.find(key);
  if (it == index_.end()) return std::nullopt;
  Entry& e = entries_[it->second];
  index_.erase(it);
  e.live = false;
  e.key = Value();
  Value v = std::move(e.value);
  e.value = Value();
  if (entries_.size() > 32 && entries_.size() > 2 * index_.size()) compact();
  return v;
}

std::optional<std::pair<Value, Value>> Table::pop_last() {
  while (!entries_.empty() && !entries_.back().live)
    entries_.pop_back();
  if (entries_.empty()) return std::nullopt;
  Entry e = std::move(entries_.back());
  entries_.pop_back();
  index_.erase(e.key);
  return std::make_pair(std::move(e.key), std::move(e.value));
}

void Table::clear() {
  entries_.clear();
  index_.clear();
}

void Table::compact() {
  std::size_t out = 0;
  for (std::size_t i = 0; i < entries_.size(); ++i) {
    if (!entries_[i].live) continue;
    if (out != i) entries_[out] = std::move(entries_[i]);
    index_[entries_[out].key] = static_cast<std::uint32_t>(out);
    ++out;
  }
  entries_.resize(out);
}

std::optional<Err> check_hashable(const Value& key) {
  if (key.hashable()) return std::nullopt;
  return Err{err::type, "unhashable key type: '" + std::string(key.type_name()) + "'"};
}

namespace table_ops {

OpResult<Value> increment(Table& t, const Value& key, const Value& delta) {
  if (auto e = check_hashable(key)) return *e;
  if (!delta.is_number() || delta.kind() == Value::Kind::boolean)
    return Err{err::type,
               "increment delta must be an int or float, not " + std::string(delta.type_name())};
  Value* cur = t.find(key);
  Value zero(std::int64_t{0});
  const Value& base = cur != nullptr ? *cur : zero;
  if (!base.is_number() || base.kind() == Value::Kind::boolean)
    return Err{err::type, "cannot increment " + key.repr() + ": it holds a " +
                              std::string(base.type_name()) + ", not a number"};
  Value result;
  if (base.kind() == Value::Kind::integer && delta.kind() == Value::Kind::integer) {
    // Work in int64 where possible; uint64 values above INT64_MAX only grow or shrink within
    // uint64.
    bool big = base.variant().index() == 3 || delta.variant().index() == 3;
    if (!big) {
      std::int64_t r;
      if (__builtin_add_overflow(base.as_int(), delta.as_int(), &r)) {
        // May still fit in uint64 (a positive sum above INT64_MAX).
        if (base.as_int() > 0 && delta.as_int() > 0)
          result = Value(static_cast<std::uint64_t>(base.as_int()) +
                         static_cast<std::uint64_t>(delta.as_int()));
        else
          return Err{err::value, "integer overflow incrementing " + key.repr()};
      } else {
        result = Value(r);
      }
    } else {
      // At least one side exceeds INT64_MAX; the other may be negative.
      __int128 r =
          static_cast<__int128>(base.variant().index() == 3 ? static_cast<__int128>(base.as_uint())
                                                            : base.as_int()) +
          (delta.variant().index() == 3 ? static_cast<__int128>(delta.as_uint()) : delta.as_int());
      if (r > static_cast<__int128>(UINT64_MAX) || r < static_cast<__int128>(INT64_MIN))
        return Err{err::value, "integer overflow incrementing " + key.repr()};
      result = r >= 0 ? Value(static_cast<std::uint64_t>(r)) : Value(static_cast<std::int64_t>(r));
    }
  } else {
    result = Value(base.as_double() + delta.as_double());
  }
  t.set(key, result);
  return result;
}

OpResult<Value> compare_and_set(Table& t, const Value& key, const Value& expected, Value desired) {
  if (auto e = check_hashable(key)) return *e;
  Value* cur = t.find(key);
  if (cur == nullptr || !(*cur == expected)) return Value(false);
  *cur = std::move(desired);
  return Value(true);
}

OpResult<Value> set_if_absent(Table& t, const Value& key, Value value) {
  if (auto e = check_hashable(key)) return *e;
  if (t.find(key) != nullptr) return Value(false);
  t.set(key, std::move(value));
  return Value(true);
}

}  // namespace table_ops
}  // namespace syncmgr::server
