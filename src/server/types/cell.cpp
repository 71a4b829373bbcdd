// Cell: the 16-byte storage of one Value (see cell.hpp).
#include "server/types/cell.hpp"

#include <functional>
#include <string>
#include <utility>
#include <variant>

namespace syncmgr::server {

Cell::Cell(Value v) {
  const auto& var = v.variant();
  if (std::holds_alternative<std::monostate>(var)) {
    set_tag(Tag::nil);
  } else if (auto* b = std::get_if<bool>(&var)) {
    set_tag(Tag::boolean);
    set_scalar<std::uint64_t>(*b ? 1 : 0);
  } else if (auto* i = std::get_if<std::int64_t>(&var)) {
    set_tag(Tag::int64);
    set_scalar(*i);
  } else if (auto* u = std::get_if<std::uint64_t>(&var)) {
    set_tag(Tag::uint64);
    set_scalar(*u);
  } else if (auto* d = std::get_if<double>(&var)) {
    set_tag(Tag::float64);
    set_scalar(*d);
  } else if (auto* s = std::get_if<std::string>(&var); s != nullptr && s->size() < kMoveMin) {
    store_bytes(*s, false);
  } else if (auto* bin = std::get_if<Bytes>(&var); bin != nullptr && bin->data.size() < kMoveMin) {
    store_bytes(bin->data, true);
  } else {
    set_tag(Tag::value);
    set_scalar<void*>(new Value(std::move(v)));
  }
}

void Cell::store_bytes(std::string_view s, bool binary) {
  if (s.size() <= kSmall) {
    set_tag(binary ? Tag::small_bin : Tag::small_str);
    raw_[1] = static_cast<unsigned char>(s.size());
    std::memcpy(raw_ + 2, s.data(), s.size());
    return;
  }
  set_tag(binary ? Tag::heap_bin : Tag::heap_str);
  auto n = static_cast<std::uint32_t>(s.size());
  std::memcpy(raw_ + 4, &n, sizeof n);
  char* p = new char[s.size()];
  std::memcpy(p, s.data(), s.size());
  set_scalar<void*>(p);
}

void Cell::release() noexcept {
  switch (tag()) {
    case Tag::heap_str:
    case Tag::heap_bin:
      delete[] pointer<char>();
      break;
    case Tag::value:
      delete pointer<Value>();
      break;
    default:
      break;
  }
  set_tag(Tag::nil);
}

std::string_view Cell::bytes() const noexcept {
  if (tag() == Tag::small_str || tag() == Tag::small_bin)
    return {reinterpret_cast<const char*>(raw_ + 2), raw_[1]};
  std::uint32_t n;
  std::memcpy(&n, raw_ + 4, sizeof n);
  return {pointer<const char>(), n};
}

Value Cell::get() const {
  switch (tag()) {
    case Tag::nil:
      return Value();
    case Tag::boolean:
      return Value(scalar<std::uint64_t>() != 0);
    case Tag::int64:
      return Value(scalar<std::int64_t>());
    case Tag::uint64:
      return Value(scalar<std::uint64_t>());
    case Tag::float64:
      return Value(scalar<double>());
    case Tag::small_str:
    case Tag::heap_str:
      return Value(std::string(bytes()));
    case Tag::small_bin:
    case Tag::heap_bin:
      return Value(Bytes{std::string(bytes())});
    case Tag::value:
      return *pointer<const Value>();
  }
  return Value();
}

Value Cell::take() {
  Value v = tag() == Tag::value ? std::move(*pointer<Value>()) : get();
  release();
  return v;
}

bool Cell::equals(const Value& v) const {
  switch (tag()) {
    case Tag::small_str:
    case Tag::heap_str:
      return v.kind() == Value::Kind::string && v.as_string() == bytes();
    case Tag::small_bin:
    case Tag::heap_bin:
      return v.kind() == Value::Kind::binary && v.as_bytes().data == bytes();
    case Tag::value:
      return *pointer<const Value>() == v;
    default:
      return get() == v;  // a scalar: Python's cross-type number equality, no allocation
  }
}

std::size_t Cell::hash() const {
  switch (tag()) {
    case Tag::small_str:
    case Tag::heap_str:
      // std::hash of a string and of a string_view with the same characters agree.
      return std::hash<std::string_view>{}(bytes());
    case Tag::value:
      return pointer<const Value>()->hash();
    default:
      return get().hash();  // scalars, and bin (rare as a key) through its Value
  }
}

}  // namespace syncmgr::server
