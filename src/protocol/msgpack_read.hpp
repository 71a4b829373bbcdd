// Reading msgpack straight from a frame's bytes, for the per-call path of both sides: a request's
// envelope and arguments on the daemon, a reply's envelope and scalar result on the client.
//
// msgpack-c's general parser builds an object tree in a zone and then converts it, which cost
// more than the daemon's own work for a small call (issue 11). This reader handles only what a
// well-formed frame holds and returns false on anything else (an ext, a truncated value, a
// non-minimal type it does not expect, nesting too deep). The caller then hands that request or
// reply to msgpack-c, which decides and words the error; so this reader never has to be right
// about bad input, only never wrong about good input.
#pragma once

#include <cstdint>
#include <cstring>
#include <string_view>

#include "syncmgr/value.hpp"

namespace syncmgr {
/// Whether two keys of a map are equal (value.cpp): such a map is refused as a value.
bool has_duplicate_keys(const Map& m);
}  // namespace syncmgr

namespace syncmgr::protocol {

class Cursor {
 public:
  explicit Cursor(std::string_view bytes)
      : p_(reinterpret_cast<const unsigned char*>(bytes.data())), end_(p_ + bytes.size()) {}

  bool at_end() const { return p_ == end_; }
  std::size_t remaining() const { return static_cast<std::size_t>(end_ - p_); }
  const char* position() const { return reinterpret_cast<const char*>(p_); }
  void skip(std::size_t n) { p_ += n; }  // n <= remaining()
  /// The next byte's msgpack format (its type and, for fix types, part of its value), or -1 at the
  /// end.
  int peek() const { return p_ < end_ ? *p_ : -1; }

  bool nil() { return take_byte(0xc0); }

  bool array_header(std::uint32_t& n) { return container(n, 0x90, 0xdc); }
  bool map_header(std::uint32_t& n) { return container(n, 0x80, 0xde); }

  /// A non-negative integer in any of msgpack's unsigned encodings (as a request id is sent).
  bool uint(std::uint64_t& v) {
    if (p_ >= end_) return false;
    unsigned char b = *p_;
    if (b <= 0x7f) {
      v = b;
      ++p_;
      return true;
    }
    if (b < 0xcc || b > 0xcf) return false;
    return big_endian(std::size_t{1} << (b - 0xcc), v, 1);
  }

  bool str(std::string_view& s) {
    if (p_ >= end_) return false;
    unsigned char b = *p_;
    std::uint64_t n;
    if ((b & 0xe0) == 0xa0) {
      n = b & 0x1f;
      ++p_;
    } else if (b >= 0xd9 && b <= 0xdb) {
      if (!big_endian(std::size_t{1} << (b - 0xd9), n, 1)) return false;
    } else {
      return false;
    }
    return span(n, s);
  }

  bool bin(std::string_view& s) {
    if (p_ >= end_) return false;
    unsigned char b = *p_;
    std::uint64_t n;
    if (b < 0xc4 || b > 0xc6 || !big_endian(std::size_t{1} << (b - 0xc4), n, 1)) return false;
    return span(n, s);
  }

  /// Reads `width` bytes big-endian after `skip` bytes of format; nothing is consumed on failure.
  bool big_endian(std::size_t width, std::uint64_t& v, std::size_t skip) {
    if (remaining() < skip + width) return false;
    std::uint64_t x = 0;
    for (std::size_t i = 0; i < width; ++i)
      x = (x << 8) | p_[skip + i];
    v = x;
    p_ += skip + width;
    return true;
  }

 private:
  bool take_byte(unsigned char b) {
    if (p_ >= end_ || *p_ != b) return false;
    ++p_;
    return true;
  }
  // fix form (fix_base | n, n < 16), then 16 and 32 bit counts at wide, wide + 1.
  bool container(std::uint32_t& n, unsigned char fix_base, unsigned char wide) {
    if (p_ >= end_) return false;
    unsigned char b = *p_;
    std::uint64_t v;
    if ((b & 0xf0) == fix_base) {
      v = b & 0x0f;
      ++p_;
    } else if (b == wide || b == wide + 1) {
      if (!big_endian(b == wide ? 2 : 4, v, 1)) return false;
    } else {
      return false;
    }
    // Every element takes at least one byte: a count beyond the bytes left is a lie (and would
    // make the caller reserve for it).
    if (v > remaining()) return false;
    n = static_cast<std::uint32_t>(v);
    return true;
  }
  bool span(std::uint64_t n, std::string_view& s) {
    if (n > remaining()) return false;
    s = std::string_view(reinterpret_cast<const char*>(p_), static_cast<std::size_t>(n));
    p_ += n;
    return true;
  }

  const unsigned char* p_;
  const unsigned char* end_;
};

/// Reads one value into `out`, as msgpack-c and the Value adaptor would produce it; false (with
/// the cursor anywhere) for an ext, a map with duplicate keys, more than `max_depth` levels of
/// nesting or a truncated value: the caller falls back to msgpack-c for the whole request.
bool read_value(Cursor& c, Value& out, std::size_t max_depth);

}  // namespace syncmgr::protocol
