// Cell: one stored Value in 16 bytes, for the dict and Namespace tables.
//
// A Value is 40 bytes (a std::string inside a std::variant), which made a small int -> int dict
// entry cost about 99 bytes. A Cell keeps what small entries hold inline (nil, bool, int, float,
// and str/bin of up to 14 bytes) and puts the rest behind one pointer: the bytes of a longer
// str/bin (length in the cell), or a whole Value for arrays, maps and str/bin of 4 KiB or more.
// Cells are read by materialising a Value (no allocation for the inline kinds) or compared and
// hashed in place, consistently with Value's == and hash().
#pragma once

#include <cstdint>
#include <cstring>
#include <string_view>

#include "syncmgr/value.hpp"

namespace syncmgr::server {

class Cell {
 public:
  Cell() noexcept { raw_[0] = static_cast<unsigned char>(Tag::nil); }
  explicit Cell(Value v);
  ~Cell() { release(); }
  Cell(Cell&& o) noexcept {
    std::memcpy(raw_, o.raw_, sizeof raw_);
    o.raw_[0] = static_cast<unsigned char>(Tag::nil);
  }
  Cell& operator=(Cell&& o) noexcept {
    if (this != &o) {
      release();
      std::memcpy(raw_, o.raw_, sizeof raw_);
      o.raw_[0] = static_cast<unsigned char>(Tag::nil);
    }
    return *this;
  }
  Cell(const Cell&) = delete;
  Cell& operator=(const Cell&) = delete;

  /// The stored value, as a Value of its own.
  Value get() const;
  /// The stored value, moved out where it is a heap Value (no copy of a large value); the cell is
  /// nil afterwards.
  Value take();
  /// Python equality with `v`, as Value's operator== (1 == 1.0 == true; str never equals bin).
  bool equals(const Value& v) const;
  /// Equal to get().hash().
  std::size_t hash() const;

  /// Calls fn(const Value&) with the stored value: the heap Value itself when there is one (no
  /// copy of an array or map), else a materialised one.
  template <class F>
  auto visit(F&& fn) const {
    if (tag() == Tag::value) return fn(*pointer<const Value>());
    Value v = get();
    return fn(static_cast<const Value&>(v));
  }

 private:
  // raw_[0]: the tag. Inline str/bin: raw_[1] length, raw_[2..15] bytes. Heap str/bin: raw_[4..7]
  // the length (uint32), raw_[8..15] the pointer. Scalars and heap Values: raw_[8..15].
  enum class Tag : unsigned char {
    nil,
    boolean,
    int64,
    uint64,
    float64,
    small_str,
    small_bin,
    heap_str,
    heap_bin,
    value
  };
  static constexpr std::size_t kSmall = 14;
  // From this size on a str/bin is kept as its moved Value (no copy of a large value; the 40 bytes
  // of a Value and an allocation no longer matter), which also bounds the cell's 32-bit length.
  static constexpr std::size_t kMoveMin = 4096;

  Tag tag() const noexcept { return static_cast<Tag>(raw_[0]); }
  void set_tag(Tag t) noexcept { raw_[0] = static_cast<unsigned char>(t); }
  template <class T>
  T scalar() const noexcept {
    T x;
    std::memcpy(&x, raw_ + 8, sizeof x);
    return x;
  }
  template <class T>
  void set_scalar(T x) noexcept {
    std::memcpy(raw_ + 8, &x, sizeof x);
  }
  template <class T>
  T* pointer() const noexcept {
    return static_cast<T*>(scalar<void*>());
  }
  /// The bytes of a str or bin cell (inline or on the heap).
  std::string_view bytes() const noexcept;
  void store_bytes(std::string_view s, bool binary);
  void release() noexcept;

  alignas(8) unsigned char raw_[16];
};

static_assert(sizeof(Cell) == 16);

}  // namespace syncmgr::server
