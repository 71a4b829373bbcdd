// IdMap<V>: the client connection's calls in flight, by request id.
//
// Ids come from one per-connection counter (Connection::next_id) and replies mostly arrive in the
// order their requests left, so the ids in the map at any moment are a window of nearly consecutive
// numbers. An open-addressing table with linear probing and the id itself as the hash (id & mask)
// then puts every id in its own slot: a lookup is one probe, an insert or erase allocates nothing
// once the table has grown to the connection's peak number of calls in flight (std::unordered_map
// allocated a node per insert). Insertion is Robin Hood (an entry displaces one nearer its home
// slot), so a probe run is ordered by home slot: a lookup stops at an entry nearer its home than
// the id would be, and erase shifts the following entries back only until one sits in its home
// slot (backward-shift deletion, no tombstones). Without that order, erasing the oldest of 64
// consecutive ids walked the whole run of 63 others, each already at home.
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
    std::size_t i = locate(id);
    return i == kNone ? nullptr : &slots_[i].value;
  }

  /// The value of `id`, inserted (value-initialized) if absent.
  V& operator[](std::uint64_t id) {
    assert(id != 0);
    if (V* v = find(id)) return *v;
    // At most half full: probe runs stay short even when ids are not consecutive.
    if (2 * (size_ + 1) > capacity()) grow();
    ++size_;
    return slots_[place(Slot{id, V()})].value;
  }

  /// Removes `id`; whether it was there.
  bool erase(std::uint64_t id) {
    std::size_t i = locate(id);
    if (i == kNone) return false;
    remove_at(i);
    return true;
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

  static constexpr std::size_t kNone = ~std::size_t{0};

  // How far the entry in slot `i` sits from its home slot.
  std::size_t distance(std::size_t i) const { return (i - (slots_[i].key & mask_)) & mask_; }

  std::size_t locate(std::uint64_t id) const {
    if (!slots_) return kNone;
    for (std::size_t i = id & mask_, d = 0;; i = (i + 1) & mask_, ++d) {
      if (slots_[i].key == id) return i;
      // An empty slot, or an entry nearer its home than `id` would be here: `id` is not in the
      // run (Robin Hood insertion would have put it before that entry).
      if (slots_[i].key == 0 || distance(i) < d) return kNone;
    }
  }

  // Robin Hood insertion of `s` (a key not in the table, a free slot exists): returns its slot.
  std::size_t place(Slot s) {
    std::size_t where = kNone;
    for (std::size_t i = s.key & mask_, d = 0;; i = (i + 1) & mask_, ++d) {
      if (slots_[i].key == 0) {
        slots_[i] = std::move(s);
        return where == kNone ? i : where;
      }
      std::size_t theirs = distance(i);
      if (theirs < d) {
        // Take the slot; carry on placing the entry displaced.
        std::swap(s, slots_[i]);
        if (where == kNone) where = i;
        d = theirs;
      }
    }
  }

  // Backward-shift deletion: the entries after `i` in its probe run move back one slot, up to
  // the first one in its home slot (or an empty slot).
  void remove_at(std::size_t i) {
    --size_;
    for (std::size_t j = (i + 1) & mask_; slots_[j].key != 0 && distance(j) != 0;
         j = (j + 1) & mask_) {
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
    for (std::size_t i = 0; i < old_cap; ++i)
      if (old[i].key != 0) place(std::move(old[i]));
  }

  std::unique_ptr<Slot[]> slots_;
  std::size_t mask_ = 0;  // capacity - 1 once allocated
  std::size_t size_ = 0;
};

}  // namespace syncmgr::detail
