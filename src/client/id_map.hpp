// IdMap<V>: the client connection's calls in flight, by request id.
//
// Ids come from one per-connection counter (Connection::next_id) and replies mostly arrive in the
// order their requests left, so the ids in the map at any moment are a window of nearly consecutive
// numbers. An open-addressing table with linear probing and the id itself as the hash (id & mask)
// then puts every id in its own slot: a lookup is one probe, an insert or erase allocates nothing
// once the table has grown to the connection's peak number of calls in flight (std::unordered_map
// allocated a node per insert). Erase shifts the following entries of the probe run back
// (backward-shift deletion), so there are no tombstones and runs stay short.
//
// Id 0 is not a key (it marks an empty slot; the counter starts at 1). Not thread-safe: the
// connection guards it with its mutex.
#pragma once

#include <cassert>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>

namespace syncmgr::detail {

template <class V>
class IdMap {
 public:
  IdMap() = default;
  IdMap(const IdMap&) = delete;
  IdMap& operator=(const IdMap&) = delete;

  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  std::size_t capacity() const { return mask_ + (slots_ ? 1 : 0); }

  /// The value of `id`, or nullptr.
  V* find(std::uint64_t id) {
    if (!slots_) return nullptr;
    for (std::size_t i = id & mask_;; i = (i + 1) & mask_) {
      if (slots_[i].key == id) return &slots_[i].value;
      if (slots_[i].key == 0) return nullptr;
    }
  }

  /// The value of `id`, inserted (value-initialized) if absent.
  V& operator[](std::uint64_t id) {
    assert(id != 0);
    if (V* v = find(id)) return *v;
    // At most half full: probe runs stay short even when ids are not consecutive.
    if (2 * (size_ + 1) > capacity()) grow();
    std::size_t i = id & mask_;
    while (slots_[i].key != 0)
      i = (i + 1) & mask_;
    slots_[i].key = id;
    slots_[i].value = V();
    ++size_;
    return slots_[i].value;
  }

  /// Removes `id`; whether it was there.
  bool erase(std::uint64_t id) {
    if (!slots_) return false;
    for (std::size_t i = id & mask_;; i = (i + 1) & mask_) {
      if (slots_[i].key == id) {
        remove_at(i);
        return true;
      }
      if (slots_[i].key == 0) return false;
    }
  }

  /// Calls f(id, value) for every entry, in no particular order.
  template <class F>
  void for_each(F&& f) {
    for (std::size_t i = 0; i < capacity(); ++i)
      if (slots_[i].key != 0) f(slots_[i].key, slots_[i].value);
  }

  /// Calls f(id, value) for entries until one returns true; whether one did.
  template <class F>
  bool any_of(F&& f) {
    for (std::size_t i = 0; i < capacity(); ++i)
      if (slots_[i].key != 0 && f(slots_[i].key, slots_[i].value)) return true;
    return false;
  }

  /// Calls pred(id, value) once for every entry and removes those for which it returns true.
  template <class P>
  void erase_if(P&& pred) {
    if (size_ == 0) return;
    // Start right after an empty slot (there is one: the table is at most half full). A removal
    // shifts entries back only within their own run, towards their home slot, and no run crosses
    // an empty slot: so entries already visited never move, and the entry shifted into the slot
    // just emptied is one not visited yet, examined next without advancing.
    std::size_t start = 0;
    while (slots_[start].key != 0)
      ++start;
    std::size_t i = (start + 1) & mask_;
    for (std::size_t visited = 0; visited < capacity();) {
      if (slots_[i].key != 0 && pred(slots_[i].key, slots_[i].value)) {
        remove_at(i);
        continue;
      }
      i = (i + 1) & mask_;
      ++visited;
    }
  }

  void clear() {
    for (std::size_t i = 0; i < capacity(); ++i) {
      if (slots_[i].key == 0) continue;
      slots_[i].key = 0;
      slots_[i].value = V();  // release what it holds now, not at the next insert there
    }
    size_ = 0;
  }

 private:
  struct Slot {
    std::uint64_t key = 0;
    V value{};
  };

  std::size_t home(std::uint64_t id) const { return id & mask_; }

  // Backward-shift deletion: the entries after `i` in its probe run move back into the hole unless
  // that would put one before its home slot.
  void remove_at(std::size_t i) {
    --size_;
    std::size_t j = i;
    for (;;) {
      j = (j + 1) & mask_;
      if (slots_[j].key == 0) break;
      std::size_t k = home(slots_[j].key);
      // Movable when its home is not in the cyclic range (i, j].
      bool home_in_between = i <= j ? (i < k && k <= j) : (i < k || k <= j);
      if (home_in_between) continue;
      slots_[i] = std::move(slots_[j]);
      i = j;
    }
    slots_[i].key = 0;
    slots_[i].value = V();
  }

  void grow() {
    std::size_t old_cap = capacity();
    std::size_t cap = old_cap != 0 ? 2 * old_cap : 16;
    auto old = std::move(slots_);
    slots_ = std::make_unique<Slot[]>(cap);
    mask_ = cap - 1;
    for (std::size_t i = 0; i < old_cap; ++i) {
      if (old[i].key == 0) continue;
      std::size_t j = old[i].key & mask_;
      while (slots_[j].key != 0)
        j = (j + 1) & mask_;
      slots_[j] = std::move(old[i]);
    }
  }

  std::unique_ptr<Slot[]> slots_;
  std::size_t mask_ = 0;  // capacity - 1 once allocated
  std::size_t size_ = 0;
};

}  // namespace syncmgr::detail
