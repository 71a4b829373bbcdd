// The ordered table and the atomic operations shared by dict and Namespace.
#include "server/types/table.hpp"

#include <algorithm>
#include <cmath>
#include <utility>

#include "protocol/message.hpp"
#include "server/types/number.hpp"

namespace syncmgr::server {

namespace err = protocol::err;

namespace {
// Value::hash() is the identity for small ints (as Python's); spread it before masking.
std::size_t mix(std::size_t h) {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  return h;
}
}  // namespace

std::size_t Table::slots_for(std::size_t n) {
  std::size_t slots = 8;
  while (slots < n * 2)
    slots *= 2;
  return slots;
}

std::size_t Table::probe(const Value& key, bool& found) const {
  std::size_t mask = slots_.size() - 1;
  std::size_t i = mix(key.hash()) & mask;
  std::size_t first_tombstone = slots_.size();
  for (;;) {
    std::uint32_t s = slots_[i];
    if (s == kEmpty) {
      found = false;
      return first_tombstone < slots_.size() ? first_tombstone : i;
    }
    if (s == kTombstone) {
      if (first_tombstone == slots_.size()) first_tombstone = i;
    } else if (entries_[s - 2].key.equals(key)) {
      found = true;
      return i;
    }
    i = (i + 1) & mask;
  }
}

void Table::rebuild(std::size_t slots) {
  // The new index is allocated before anything changes: if that throws, the table is as it was.
  decltype(slots_) index(slots, kEmpty);
  std::size_t out = 0;
  for (std::size_t i = 0; i < entries_.size(); ++i) {
    if (dead_[i]) continue;
    if (out != i) entries_[out] = std::move(entries_[i]);
    ++out;
  }
  entries_.resize(out);
  dead_.assign(out, false);  // no larger than before: no allocation
  std::size_t mask = slots - 1;
  for (std::size_t e = 0; e < out; ++e) {
    std::size_t i = mix(entries_[e].key.hash()) & mask;
    while (index[i] != kEmpty)
      i = (i + 1) & mask;
    index[i] = static_cast<std::uint32_t>(e + 2);
  }
  slots_.swap(index);
  used_slots_ = out;
}

std::size_t Table::slot_of_entry(std::size_t e) const {
  // By entry number, not by key: a key need not equal itself (NaN, or an array holding one).
  std::size_t mask = slots_.size() - 1;
  std::size_t i = mix(entries_[e].key.hash()) & mask;
  while (slots_[i] != e + 2)
    i = (i + 1) & mask;
  return i;
}

const Cell* Table::find_value(const Value& key) const {
  if (live_ == 0) return nullptr;
  bool found;
  std::size_t i = probe(key, found);
  return found ? &entries_[slots_[i] - 2].value : nullptr;
}

std::optional<Value> Table::get(const Value& key) const {
  if (const Cell* v = find_value(key)) return v->get();
  return std::nullopt;
}

bool Table::compare_and_set(const Value& key, const Value& expected, Value desired) {
  auto* cur = const_cast<Cell*>(find_value(key));
  if (cur == nullptr || !cur->equals(expected)) return false;
  *cur = Cell(std::move(desired));
  return true;
}

bool Table::contains(const Value& key) const {
  return find_value(key) != nullptr;
}

bool Table::set(const Value& key, Value value) {
  if (slots_.empty()) rebuild(slots_for(1));
  bool found;
  std::size_t i = probe(key, found);
  if (found) {
    entries_[slots_[i] - 2].value = Cell(std::move(value));
    return false;
  }
  if ((used_slots_ + 1) * 4 > slots_.size() * 3) {
    rebuild(slots_for(live_ + 1));
    i = probe(key, found);
  }
  // Everything that can throw comes before the index points at the new entry.
  Entry entry{Cell(key), Cell(std::move(value))};
  if (entries_.size() == entries_.capacity())
    entries_.reserve(std::max<std::size_t>(8, 2 * entries_.size()));
  if (dead_.size() == dead_.capacity()) dead_.reserve(std::max<std::size_t>(64, 2 * dead_.size()));
  entries_.push_back(std::move(entry));
  dead_.push_back(false);
  if (slots_[i] == kEmpty) ++used_slots_;
  slots_[i] = static_cast<std::uint32_t>(entries_.size() - 1 + 2);  // entry e is slot value e + 2
  ++live_;
  return true;
}

std::optional<Value> Table::erase(const Value& key) {
  if (live_ == 0) return std::nullopt;
  bool found;
  std::size_t i = probe(key, found);
  if (!found) return std::nullopt;
  std::size_t e = slots_[i] - 2;
  Value v = entries_[e].value.take();
  slots_[i] = kTombstone;
  dead_[e] = true;
  --live_;
  entries_[e] = Entry{};  // frees the key's memory now
  if (entries_.size() > 32 && entries_.size() > 2 * live_) rebuild(slots_for(live_));
  return v;
}

std::optional<std::pair<Value, Value>> Table::pop_last() {
  while (!entries_.empty() && dead_.back()) {
    entries_.pop_back();
    dead_.pop_back();
  }
  if (entries_.empty()) return std::nullopt;
  std::size_t i = slot_of_entry(entries_.size() - 1);
  // The key is copied first (it may throw, changing nothing), then the value moved out.
  Value key = entries_.back().key.get();
  auto out = std::make_pair(std::move(key), entries_.back().value.take());
  slots_[i] = kTombstone;
  entries_.pop_back();
  dead_.pop_back();
  --live_;
  return out;
}

void Table::clear() {
  decltype(entries_)().swap(entries_);
  std::vector<bool>().swap(dead_);
  decltype(slots_)().swap(slots_);
  live_ = 0;
  used_slots_ = 0;
}

namespace {

bool contains_nan(const Value& v) {
  if (v.kind() == Value::Kind::floating) return std::isnan(v.as_double());
  if (v.kind() != Value::Kind::array) return false;
  for (const auto& e : v.as_list())
    if (contains_nan(e)) return true;
  return false;
}

}  // namespace

std::optional<Err> check_hashable(const Value& key) {
  if (!key.hashable())
    return Err{err::type, "unhashable key type: '" + std::string(key.type_name()) + "'"};
  // NaN never equals itself: such a key could be stored but never found, read or deleted again,
  // and every one of them would share one probe chain (20,000 took seconds).
  if (contains_nan(key))
    return Err{err::value,
               "a key containing NaN is refused: NaN never equals itself, so the "
               "entry could never be found again"};
  return std::nullopt;
}

namespace table_ops {

OpResult<Value> increment(Table& t, const Value& key, const Value& delta, const Value& limits) {
  if (auto e = check_hashable(key)) return *e;
  // Computed and checked before anything is stored: a failing increment changes nothing.
  number_ops::Target what{{}, &key};
  auto result = number_ops::add(t.get(key).value_or(Value(std::int64_t{0})), delta, what);
  if (!result.ok()) return result;
  if (auto e = number_ops::check_limits(result.value(), limits, what)) return *e;
  t.set(key, result.value());
  return result;
}

OpResult<Value> compare_and_set(Table& t, const Value& key, const Value& expected, Value desired) {
  if (auto e = check_hashable(key)) return *e;
  return Value(t.compare_and_set(key, expected, std::move(desired)));
}

OpResult<Value> set_if_absent(Table& t, const Value& key, Value value) {
  if (auto e = check_hashable(key)) return *e;
  if (t.contains(key)) return Value(false);
  t.set(key, std::move(value));
  return Value(true);
}

}  // namespace table_ops
}  // namespace syncmgr::server
