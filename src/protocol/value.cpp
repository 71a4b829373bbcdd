// syncmgr::Value: Python-like equality, ordering and hashing over msgpack values, and the msgpack
// conversion. Shared by the daemon (which stores Values) and the client (dynamic values).
#include "syncmgr/value.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <vector>

#include "syncmgr/errors.hpp"

namespace syncmgr {
namespace {

enum Index : std::size_t { kNil, kBool, kInt, kUint, kDouble, kStr, kBin, kArray, kMap };

[[noreturn]] void wrong_type(const Value& v, std::string_view wanted) {
  throw TypeError("value is " + std::string(v.type_name()) + ", not " + std::string(wanted));
}

// Numbers compare exactly across int64, uint64 and double (as Python does for int and float).
int compare_numbers(const Value& a, const Value& b) {
  const auto& va = a.variant();
  const auto& vb = b.variant();
  auto as_i = [](const auto& v) -> std::int64_t {
    return v.index() == kBool ? std::get<bool>(v) : std::get<std::int64_t>(v);
  };
  bool a_int = va.index() == kBool || va.index() == kInt;
  bool b_int = vb.index() == kBool || vb.index() == kInt;
  if (a_int && b_int) {
    auto x = as_i(va), y = as_i(vb);
    return x < y ? -1 : x > y;
  }
  if (va.index() == kUint && vb.index() == kUint) {
    auto x = std::get<std::uint64_t>(va), y = std::get<std::uint64_t>(vb);
    return x < y ? -1 : x > y;
  }
  // A uint64 value is always above INT64_MAX, hence above every int64.
  if (va.index() == kUint && b_int) return 1;
  if (a_int && vb.index() == kUint) return -1;
  // At least one side is a double. long double holds every int64/uint64 exactly on x86-64; NaN
  // compares unequal to everything, which we report as "greater" only for ordering purposes.
  long double x = va.index() == kDouble ? std::get<double>(va)
                  : va.index() == kUint ? static_cast<long double>(std::get<std::uint64_t>(va))
                                        : static_cast<long double>(as_i(va));
  long double y = vb.index() == kDouble ? std::get<double>(vb)
                  : vb.index() == kUint ? static_cast<long double>(std::get<std::uint64_t>(vb))
                                        : static_cast<long double>(as_i(vb));
  if (x < y) return -1;
  if (x > y) return 1;
  if (x == y) return 0;
  return 2;  // NaN involved: unordered and unequal
}

std::size_t mix(std::size_t h, std::size_t v) {
  return h ^ (v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2));
}

}  // namespace

Value::Kind Value::kind() const noexcept {
  switch (v_.index()) {
    case kNil:
      return Kind::nil;
    case kBool:
      return Kind::boolean;
    case kInt:
    case kUint:
      return Kind::integer;
    case kDouble:
      return Kind::floating;
    case kStr:
      return Kind::string;
    case kBin:
      return Kind::binary;
    case kArray:
      return Kind::array;
    default:
      return Kind::map;
  }
}

std::string_view Value::type_name() const noexcept {
  static constexpr std::string_view names[] = {"nil", "bool", "int",   "int", "float",
                                               "str", "bin",  "array", "map"};
  return names[v_.index()];
}

bool Value::is_number() const noexcept {
  auto i = v_.index();
  return i == kBool || i == kInt || i == kUint || i == kDouble;
}

bool Value::as_bool() const {
  if (v_.index() != kBool) wrong_type(*this, "bool");
  return std::get<bool>(v_);
}
std::int64_t Value::as_int() const {
  if (v_.index() == kInt) return std::get<std::int64_t>(v_);
  if (v_.index() == kUint) throw ValueError("integer " + repr() + " does not fit in int64");
  wrong_type(*this, "int");
}
std::uint64_t Value::as_uint() const {
  if (v_.index() == kUint) return std::get<std::uint64_t>(v_);
  if (v_.index() == kInt && std::get<std::int64_t>(v_) >= 0) return std::get<std::int64_t>(v_);
  if (v_.index() == kInt) throw ValueError("integer " + repr() + " is negative");
  wrong_type(*this, "int");
}
double Value::as_double() const {
  switch (v_.index()) {
    case kDouble:
      return std::get<double>(v_);
    case kInt:
      return static_cast<double>(std::get<std::int64_t>(v_));
    case kUint:
      return static_cast<double>(std::get<std::uint64_t>(v_));
    case kBool:
      return std::get<bool>(v_);
    default:
      wrong_type(*this, "float");
  }
}
const std::string& Value::as_string() const {
  if (v_.index() != kStr) wrong_type(*this, "str");
  return std::get<std::string>(v_);
}
const Bytes& Value::as_bytes() const {
  if (v_.index() != kBin) wrong_type(*this, "bin");
  return std::get<Bytes>(v_);
}
const Array& Value::as_array() const {
  if (v_.index() != kArray) wrong_type(*this, "array");
  return std::get<Array>(v_);
}
Array& Value::as_array() {
  if (v_.index() != kArray) wrong_type(*this, "array");
  return std::get<Array>(v_);
}
const Map& Value::as_map() const {
  if (v_.index() != kMap) wrong_type(*this, "map");
  return std::get<Map>(v_);
}
Map& Value::as_map() {
  if (v_.index() != kMap) wrong_type(*this, "map");
  return std::get<Map>(v_);
}

namespace {

/// A map's entries ordered by their key's hash, so keys are matched in O(n log n) rather than by
/// comparing every pair (two 20,000-entry maps took seconds). Unhashable keys share hash 0.
class KeyIndex {
 public:
  explicit KeyIndex(const Map& m) {
    entries_.reserve(m.size());
    for (const auto& kv : m)
      entries_.emplace_back(hash_of(kv.first), &kv);
    std::sort(entries_.begin(), entries_.end(),
              [](const auto& x, const auto& y) { return x.first < y.first; });
  }
  const std::pair<Value, Value>* find(const Value& key) const {
    std::size_t h = hash_of(key);
    auto it = std::lower_bound(entries_.begin(), entries_.end(), h,
                               [](const auto& e, std::size_t v) { return e.first < v; });
    for (; it != entries_.end() && it->first == h; ++it)
      if (it->second->first == key) return it->second;
    return nullptr;
  }
  /// True if two entries have equal keys.
  bool has_duplicates() const {
    for (std::size_t i = 0; i < entries_.size(); ++i)
      for (std::size_t j = i + 1; j < entries_.size() && entries_[j].first == entries_[i].first;
           ++j)
        if (entries_[j].second->first == entries_[i].second->first) return true;
    return false;
  }

 private:
  static std::size_t hash_of(const Value& v) { return v.hashable() ? v.hash() : 0; }
  std::vector<std::pair<std::size_t, const std::pair<Value, Value>*>> entries_;
};

constexpr std::size_t kSmallMap = 8;  // below this, comparing every pair is cheaper than sorting

// Maps are equal when they hold the same key -> value pairs, whatever their order. Keys within a
// map are distinct (a decoded map with duplicate keys is refused), so matching each key of one in
// the other suffices.
bool maps_equal(const Map& x, const Map& y) noexcept {
  if (x.size() != y.size()) return false;
  auto value_of = [&](const Value& key) -> const Value* {
    for (const auto& [k, v] : y)
      if (k == key) return &v;
    return nullptr;
  };
  if (x.size() <= kSmallMap) {
    for (const auto& [k, v] : x) {
      const Value* other = value_of(k);
      if (other == nullptr || !(*other == v)) return false;
    }
    return true;
  }
  try {
    KeyIndex index(y);
    for (const auto& [k, v] : x) {
      const auto* other = index.find(k);
      if (other == nullptr || !(other->second == v)) return false;
    }
    return true;
  } catch (const std::bad_alloc&) {
    return false;  // equality is noexcept; with no memory for the index, say "not equal"
  }
}


}  // namespace

bool has_duplicate_keys(const Map& m) {
  if (m.size() <= kSmallMap) {
    for (std::size_t i = 0; i < m.size(); ++i)
      for (std::size_t j = i + 1; j < m.size(); ++j)
        if (m[i].first == m[j].first) return true;
    return false;
  }
  return KeyIndex(m).has_duplicates();
}

bool operator==(const Value& a, const Value& b) noexcept {
  if (a.is_number() && b.is_number()) return compare_numbers(a, b) == 0;
  if (a.v_.index() != b.v_.index()) return false;
  switch (a.v_.index()) {
    case kNil:
      return true;
    case kStr:
      return std::get<std::string>(a.v_) == std::get<std::string>(b.v_);
    case kBin:
      return std::get<Bytes>(a.v_) == std::get<Bytes>(b.v_);
    case kArray:
      return std::get<Array>(a.v_) == std::get<Array>(b.v_);
    default:
      return maps_equal(std::get<Map>(a.v_), std::get<Map>(b.v_));
  }
}

std::optional<int> compare(const Value& a, const Value& b) noexcept {
  if (a.is_number() && b.is_number()) {
    int c = compare_numbers(a, b);
    if (c == 2) return std::nullopt;
    return c;
  }
  if (a.v_.index() != b.v_.index()) return std::nullopt;
  switch (a.v_.index()) {
    case kStr: {
      int c = std::get<std::string>(a.v_).compare(std::get<std::string>(b.v_));
      return c < 0 ? -1 : c > 0;
    }
    case kBin: {
      int c = std::get<Bytes>(a.v_).data.compare(std::get<Bytes>(b.v_).data);
      return c < 0 ? -1 : c > 0;
    }
    case kArray: {
      // Lexicographic, as Python compares lists: the first unequal pair decides.
      const Array& x = std::get<Array>(a.v_);
      const Array& y = std::get<Array>(b.v_);
      for (std::size_t i = 0; i < x.size() && i < y.size(); ++i) {
        if (x[i] == y[i]) continue;
        return compare(x[i], y[i]);
      }
      return x.size() < y.size() ? -1 : x.size() > y.size();
    }
    default:
      return std::nullopt;  // nil, map: unorderable
  }
}

bool Value::hashable() const noexcept {
  if (v_.index() == kMap) return false;
  if (v_.index() == kArray) {
    for (const auto& e : std::get<Array>(v_))
      if (!e.hashable()) return false;
  }
  return true;
}

std::size_t Value::hash() const noexcept {
  switch (v_.index()) {
    case kNil:
      return 0x5bd1e995;
    case kBool:
      return std::hash<std::int64_t>{}(std::get<bool>(v_));
    case kInt:
      return std::hash<std::int64_t>{}(std::get<std::int64_t>(v_));
    case kUint: {
      // Integral-valued doubles must hash like the integer they equal.
      return std::hash<std::uint64_t>{}(std::get<std::uint64_t>(v_));
    }
    case kDouble: {
      double d = std::get<double>(v_);
      if (std::isfinite(d) && d == std::trunc(d)) {
        if (d >= -9223372036854775808.0 && d < 9223372036854775808.0)
          return std::hash<std::int64_t>{}(static_cast<std::int64_t>(d));
        if (d >= 0 && d < 18446744073709551616.0)
          return std::hash<std::uint64_t>{}(static_cast<std::uint64_t>(d));
      }
      return std::hash<double>{}(d);
    }
    case kStr:
      return std::hash<std::string>{}(std::get<std::string>(v_));
    case kBin:
      return mix(7, std::hash<std::string>{}(std::get<Bytes>(v_).data));
    case kArray: {
      std::size_t h = 11;
      for (const auto& e : std::get<Array>(v_))
        h = mix(h, e.hash());
      return h;
    }
    default:
      return 13;  // maps are not hashable; callers check hashable() first
  }
}

namespace {
void append_repr(std::string& out, const Value& v) {
  const auto& var = v.variant();
  switch (var.index()) {
    case kNil:
      out += "null";
      break;
    case kBool:
      out += std::get<bool>(var) ? "true" : "false";
      break;
    case kInt:
      out += std::to_string(std::get<std::int64_t>(var));
      break;
    case kUint:
      out += std::to_string(std::get<std::uint64_t>(var));
      break;
    case kDouble: {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.17g", std::get<double>(var));
      out += buf;
      break;
    }
    case kStr:
      out += '"' + std::get<std::string>(var) + '"';
      break;
    case kBin:
      out += "bin[" + std::to_string(std::get<Bytes>(var).data.size()) + "]";
      break;
    case kArray: {
      out += '[';
      const char* sep = "";
      for (const auto& e : std::get<Array>(var)) {
        out += sep;
        append_repr(out, e);
        sep = ", ";
        if (out.size() > 4096) break;
      }
      out += ']';
      break;
    }
    default: {
      out += '{';
      const char* sep = "";
      for (const auto& [k, e] : std::get<Map>(var)) {
        out += sep;
        append_repr(out, k);
        out += ": ";
        append_repr(out, e);
        sep = ", ";
        if (out.size() > 4096) break;
      }
      out += '}';
    }
  }
}
}  // namespace

std::string Value::repr(std::size_t max_len) const {
  std::string out;
  append_repr(out, *this);
  if (out.size() > max_len) {
    out.resize(max_len > 3 ? max_len - 3 : 0);
    out += "...";
  }
  return out;
}

}  // namespace syncmgr

namespace msgpack {
MSGPACK_API_VERSION_NAMESPACE(MSGPACK_DEFAULT_API_NS) {
  namespace adaptor {
  const msgpack::object& convert<syncmgr::Value>::operator()(const msgpack::object& o,
                                                             syncmgr::Value& v) const {
    using syncmgr::Value;
    switch (o.type) {
      case msgpack::type::NIL:
        v = Value();
        break;
      case msgpack::type::BOOLEAN:
        v = Value(o.via.boolean);
        break;
      case msgpack::type::POSITIVE_INTEGER:
        v = Value(o.via.u64);
        break;
      case msgpack::type::NEGATIVE_INTEGER:
        v = Value(o.via.i64);
        break;
      case msgpack::type::FLOAT32:
      case msgpack::type::FLOAT64:
        v = Value(o.via.f64);
        break;
      case msgpack::type::STR:
        v = Value(std::string(o.via.str.ptr, o.via.str.size));
        break;
      case msgpack::type::BIN:
        v = Value(syncmgr::Bytes{std::string(o.via.bin.ptr, o.via.bin.size)});
        break;
      case msgpack::type::ARRAY: {
        syncmgr::Array a(o.via.array.size);
        for (uint32_t i = 0; i < o.via.array.size; ++i)
          o.via.array.ptr[i].convert(a[i]);
        v = Value(std::move(a));
        break;
      }
      case msgpack::type::MAP: {
        syncmgr::Map m(o.via.map.size);
        for (uint32_t i = 0; i < o.via.map.size; ++i) {
          o.via.map.ptr[i].key.convert(m[i].first);
          o.via.map.ptr[i].val.convert(m[i].second);
        }
        // Legal msgpack, but a map with two equal keys has no meaning as a dict and breaks
        // equality ({1:1, 1:2} would not equal itself): refused.
        if (syncmgr::has_duplicate_keys(m))
          throw syncmgr::ValueError("a map with duplicate keys is not a valid value");
        v = Value(std::move(m));
        break;
      }
      default:
        throw msgpack::type_error();  // ext types carry no meaning for syncmgr
    }
    return o;
  }
  }  // namespace adaptor
}
}  // namespace msgpack
