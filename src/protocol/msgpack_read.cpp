#include "protocol/msgpack_read.hpp"

#include <bit>

#include "syncmgr/value.hpp"

namespace syncmgr::protocol {

namespace {

bool read_at(Cursor& c, Value& out, std::size_t depth_left);

bool read_array(Cursor& c, std::uint32_t n, Value& out, std::size_t depth_left) {
  Array a(n);
  for (auto& v : a)
    if (!read_at(c, v, depth_left)) return false;
  out = Value(std::move(a));
  return true;
}

bool read_map(Cursor& c, std::uint32_t n, Value& out, std::size_t depth_left) {
  Map m(n);
  for (auto& [k, v] : m)
    if (!read_at(c, k, depth_left) || !read_at(c, v, depth_left)) return false;
  // The Value adaptor refuses duplicate keys with a ValueError: msgpack-c's path says so.
  if (has_duplicate_keys(m)) return false;
  out = Value(std::move(m));
  return true;
}

bool read_at(Cursor& c, Value& out, std::size_t depth_left) {
  int b = c.peek();
  if (b < 0) return false;
  std::uint64_t u;
  std::string_view s;
  std::uint32_t n;
  if (b <= 0x7f || (b >= 0xcc && b <= 0xcf)) {
    if (!c.uint(u)) return false;
    out = Value(u);
    return true;
  }
  if (b >= 0xe0) {  // negative fixint
    c.skip(1);
    out = Value(static_cast<std::int64_t>(static_cast<std::int8_t>(b)));
    return true;
  }
  if ((b & 0xe0) == 0xa0 || (b >= 0xd9 && b <= 0xdb)) {
    if (!c.str(s)) return false;
    out = Value(std::string(s));
    return true;
  }
  if ((b & 0xf0) == 0x90 || b == 0xdc || b == 0xdd) {
    if (depth_left == 0 || !c.array_header(n)) return false;
    return read_array(c, n, out, depth_left - 1);
  }
  if ((b & 0xf0) == 0x80 || b == 0xde || b == 0xdf) {
    if (depth_left == 0 || !c.map_header(n)) return false;
    return read_map(c, n, out, depth_left - 1);
  }
  switch (b) {
    case 0xc0:
      c.skip(1);
      out = Value();
      return true;
    case 0xc2:
    case 0xc3:
      c.skip(1);
      out = Value(b == 0xc3);
      return true;
    case 0xc4:
    case 0xc5:
    case 0xc6:
      if (!c.bin(s)) return false;
      out = Value(Bytes{std::string(s)});
      return true;
    case 0xca:
      if (!c.big_endian(4, u, 1)) return false;
      out = Value(static_cast<double>(std::bit_cast<float>(static_cast<std::uint32_t>(u))));
      return true;
    case 0xcb:
      if (!c.big_endian(8, u, 1)) return false;
      out = Value(std::bit_cast<double>(u));
      return true;
    case 0xd0:
    case 0xd1:
    case 0xd2:
    case 0xd3: {  // signed widths: msgpack-c gives their value whatever its sign
      std::size_t width = std::size_t{1} << (b - 0xd0);
      if (!c.big_endian(width, u, 1)) return false;
      // Sign-extend from the width read.
      unsigned shift = static_cast<unsigned>(64 - 8 * width);
      out = Value(static_cast<std::int64_t>(u << shift) >> shift);
      return true;
    }
    default:  // ext types and 0xc1 (never used): the fallback words the error
      return false;
  }
}

}  // namespace

bool read_value(Cursor& c, Value& out, std::size_t max_depth) {
  return read_at(c, out, max_depth);
}

}  // namespace syncmgr::protocol
