// syncmgr::Value: a dynamically typed msgpack value.
//
// The daemon stores every value as a Value (it never needs the user's C++ types), and clients use
// it when they do not know a value's type in advance. Equality, hashing and ordering follow
// Python's rules for the corresponding types, so that dict keys, list.index/remove/count and
// list.sort behave as they do in Python: 1 == 1.0 == true, str and bin never compare equal, and
// ordering is defined only between numbers, between strings, between byte strings and
// (element-wise) between arrays.
#pragma once

#include <cstdint>
#include <cstring>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include <typeinfo>

#include <msgpack.hpp>

#include "syncmgr/errors.hpp"

namespace syncmgr {

class Value;

namespace detail {
/// A C++ type's name as a user wrote it: `std::string` rather than
/// `std::__cxx11::basic_string<char, std::char_traits<char>, std::allocator<char> >`.
std::string readable_type_name(const std::type_info& t);
}  // namespace detail

/// A msgpack bin value (Python bytes), kept apart from str.
struct Bytes {
  std::string data;
  friend bool operator==(const Bytes& a, const Bytes& b) { return a.data == b.data; }
};

/// msgpack array (Python list). Named List, not Array: Manager::Array(...) is the shared-array
/// proxy factory, a different thing.
using List = std::vector<Value>;
/// The old name of List, kept so existing code compiles (with a warning).
using Array [[deprecated("use syncmgr::List")]] = List;
/// msgpack map; insertion order is kept.
using Map = std::vector<std::pair<Value, Value>>;

class Value {
 public:
  enum class Kind : std::uint8_t { nil, boolean, integer, floating, string, binary, array, map };

  Value() = default;
  Value(std::nullptr_t) {}
  Value(bool b) : v_(b) {}
  template <class I, std::enable_if_t<std::is_integral_v<I> && !std::is_same_v<I, bool>, int> = 0>
  Value(I i) {
    if constexpr (std::is_signed_v<I>) {
      v_ = static_cast<std::int64_t>(i);
    } else if (static_cast<std::uint64_t>(i) <= static_cast<std::uint64_t>(INT64_MAX)) {
      v_ = static_cast<std::int64_t>(i);
    } else {
      v_ = static_cast<std::uint64_t>(i);
    }
  }
  Value(double d) : v_(d) {}
  Value(std::string s) : v_(std::move(s)) {}
  Value(std::string_view s) : v_(std::string(s)) {}
  Value(const char* s) : v_(std::string(s)) {}
  Value(Bytes b) : v_(std::move(b)) {}
  Value(List a) : v_(std::move(a)) {}
  Value(Map m) : v_(std::move(m)) {}

  Kind kind() const noexcept;
  /// The value's type as named in messages: nil, bool, int, float, str, bin, array, map.
  std::string_view type_name() const noexcept;

  bool is_nil() const noexcept { return v_.index() == 0; }
  bool is_number() const noexcept;  // bool, int or float (Python's numeric tower)
  bool is_integer() const noexcept { return v_.index() == 2 || v_.index() == 3; }

  // Accessors throw syncmgr::TypeError naming the stored type when the kind does not match.
  bool as_bool() const;
  std::int64_t as_int() const;  // also accepts an unsigned value that fits
  std::uint64_t as_uint() const;
  double as_double() const;  // any number
  const std::string& as_string() const;
  const Bytes& as_bytes() const;
  const List& as_list() const;
  List& as_list();
  [[deprecated("use as_list()")]] const List& as_array() const { return as_list(); }
  [[deprecated("use as_list()")]] List& as_array() { return as_list(); }
  const Map& as_map() const;
  Map& as_map();

  /// Python equality (numbers compare by value across int, float and bool).
  friend bool operator==(const Value& a, const Value& b) noexcept;
  friend bool operator!=(const Value& a, const Value& b) noexcept { return !(a == b); }

  /// Returns <0, 0 or >0, or nullopt when Python would raise TypeError for `a < b`.
  friend std::optional<int> compare(const Value& a, const Value& b) noexcept;

  /// Python's hashability: nil, bool, numbers, str, bin and arrays of hashables. Maps are not
  /// hashable.
  bool hashable() const noexcept;
  /// Consistent with operator== (equal numbers hash equal).
  std::size_t hash() const noexcept;

  /// A human-readable rendering (JSON-like), whole unless cut at max_len with "...". Error
  /// messages quote values cut at kShortRepr, so that a client's 1 MiB value does not become a
  /// 1 MiB message. For Python's str() of the value, print it (operator<<, to_string()).
  std::string repr(std::size_t max_len = std::string::npos) const;
  static constexpr std::size_t kShortRepr = 80;

  /// The value as T, converted exactly as a proxy's get<T>() converts what the daemon sent (any
  /// type with a msgpack adaptor: numbers, strings, containers, your MSGPACK_DEFINE structs).
  /// Throws TypeError naming the stored type and T when it does not convert (an int out of T's
  /// range, a float read as an int, a str read as a struct).
  template <class T>
  T as() const;
  /// Whether as<T>() would succeed (the conversion is done once and discarded).
  template <class T>
  bool is() const noexcept;
  /// The Value a proxy would store for x (x packed with its msgpack adaptor): Value::from(site).
  template <class T>
  static Value from(const T& x);

  const auto& variant() const noexcept { return v_; }

 private:
  std::variant<std::monostate, bool, std::int64_t, std::uint64_t, double, std::string, Bytes, List,
               Map>
      v_;
};

/// value_cast<T>(v) is v.as<T>().
template <class T>
T value_cast(const Value& v) {
  return v.template as<T>();
}

/// Python's str(): a top-level string as it is, everything else as Python's repr (None, True,
/// 1.5, 'text', b'\x00', [1, 'a'], {'k': None}). Never truncated.
std::string to_string(const Value& v);
/// Writes to_string(v): `std::cout << queue.get()` prints the item as Python's print() would.
std::ostream& operator<<(std::ostream& os, const Value& v);

struct ValueHash {
  std::size_t operator()(const Value& v) const noexcept { return v.hash(); }
};

namespace detail {
/// A double as msgpack float64, always. msgpack-c 4.1.2 to 6.x packs a double with an integral
/// value as an integer (msgpack-c #1018, reverted upstream in #1144), so a stored 3.0 came back
/// as 3, and 2^64 went through an out-of-range float-to-integer conversion (undefined behaviour,
/// found by tests/fuzz/fuzz_payload).
template <typename Stream>
void pack_float64(msgpack::packer<Stream>& p, double d) {
  std::uint64_t bits;
  std::memcpy(&bits, &d, sizeof bits);
  char buf[9] = {static_cast<char>(0xcb)};
  for (int i = 0; i < 8; ++i)
    buf[1 + i] = static_cast<char>(bits >> (56 - 8 * i));
  p.pack_bin_body(buf, sizeof buf);  // appends the bytes as they are
}
}  // namespace detail

}  // namespace syncmgr

// msgpack adaptors: Value converts from any msgpack object except ext, and packs canonically.
namespace msgpack {
MSGPACK_API_VERSION_NAMESPACE(MSGPACK_DEFAULT_API_NS) {
  namespace adaptor {
  template <>
  struct convert<syncmgr::Value> {
    const msgpack::object& operator()(const msgpack::object& o, syncmgr::Value& v) const;
  };
  template <>
  struct pack<syncmgr::Value> {
    template <typename Stream>
    msgpack::packer<Stream>& operator()(msgpack::packer<Stream>& p, const syncmgr::Value& v) const {
      std::visit(
          [&p](const auto& x) {
            using T = std::decay_t<decltype(x)>;
            if constexpr (std::is_same_v<T, std::monostate>) {
              p.pack_nil();
            } else if constexpr (std::is_same_v<T, double>) {
              syncmgr::detail::pack_float64(p, x);
            } else if constexpr (std::is_same_v<T, syncmgr::Bytes>) {
              p.pack_bin(static_cast<uint32_t>(x.data.size()));
              p.pack_bin_body(x.data.data(), static_cast<uint32_t>(x.data.size()));
            } else if constexpr (std::is_same_v<T, syncmgr::Map>) {
              p.pack_map(static_cast<uint32_t>(x.size()));
              for (const auto& [k, val] : x) {
                p.pack(k);
                p.pack(val);
              }
            } else {
              p.pack(x);
            }
          },
          v.variant());
      return p;
    }
  };
  // put(nullptr) stores nil, Python's None.
  template <>
  struct pack<std::nullptr_t> {
    template <typename Stream>
    msgpack::packer<Stream>& operator()(msgpack::packer<Stream>& p, std::nullptr_t) const {
      p.pack_nil();
      return p;
    }
  };
  template <>
  struct convert<syncmgr::Bytes> {
    const msgpack::object& operator()(const msgpack::object& o, syncmgr::Bytes& b) const {
      if (o.type == msgpack::type::BIN) {
        b.data.assign(o.via.bin.ptr, o.via.bin.size);
      } else if (o.type == msgpack::type::STR) {
        b.data.assign(o.via.str.ptr, o.via.str.size);
      } else {
        throw msgpack::type_error();
      }
      return o;
    }
  };
  template <>
  struct pack<syncmgr::Bytes> {
    template <typename Stream>
    msgpack::packer<Stream>& operator()(msgpack::packer<Stream>& p, const syncmgr::Bytes& b) const {
      p.pack_bin(static_cast<uint32_t>(b.data.size()));
      p.pack_bin_body(b.data.data(), static_cast<uint32_t>(b.data.size()));
      return p;
    }
  };
  }  // namespace adaptor
}
}  // namespace msgpack

namespace syncmgr {
// Defined after the adaptors: the conversion packs the Value and reads it back as T, the same
// path a reply from the daemon takes.
template <class T>
T Value::as() const {
  if constexpr (std::is_same_v<T, Value>) {
    return *this;
  } else {
    msgpack::sbuffer buf;
    msgpack::pack(buf, *this);
    auto handle = msgpack::unpack(buf.data(), buf.size());
    try {
      return handle.get().as<T>();
    } catch (const msgpack::type_error&) {
      throw TypeError("value is " + std::string(type_name()) + " (" + repr(kShortRepr) +
                      "), which does not convert to " + detail::readable_type_name(typeid(T)));
    }
  }
}

template <class T>
bool Value::is() const noexcept {
  try {
    (void)as<T>();
    return true;
  } catch (...) {
    return false;
  }
}

template <class T>
Value Value::from(const T& x) {
  if constexpr (std::is_same_v<T, Value>) {
    return x;
  } else {
    msgpack::sbuffer buf;
    msgpack::pack(buf, x);
    return msgpack::unpack(buf.data(), buf.size()).get().as<Value>();
  }
}
}  // namespace syncmgr
