// Per-thread reuse of the client's per-call memory: the PendingCall of each call, and the string
// each request is packed into.
//
// An async caller issues a burst of calls (64 in flight) and then takes their replies: 64
// allocations of one size, then 64 frees. glibc's per-thread cache holds only 7 chunks of a size,
// so the rest took malloc's and free's slow paths, ~370 instructions per call for each of the
// two. These free lists are per thread (no lock), bounded, and emptied when their thread exits.
#pragma once

#include <cstddef>
#include <memory>
#include <new>
#include <string>
#include <vector>

namespace syncmgr::detail {

/// Blocks of `Size` bytes. A block may be freed by another thread than the one that took it: it
/// then joins that thread's list.
template <std::size_t Size, std::size_t Max = 256>
class BlockPool {
 public:
  static void* allocate() {
    if (!t_dead) {
      List& l = t_list;
      if (Node* n = l.head) {
        l.head = n->next;
        --l.count;
        return n;
      }
    }
    return ::operator new(Size);
  }
  static void deallocate(void* p) noexcept {
    if (!t_dead) {
      List& l = t_list;
      if (l.count < Max) {
        auto* n = static_cast<Node*>(p);
        n->next = l.head;
        l.head = n;
        ++l.count;
        return;
      }
    }
    ::operator delete(p);
  }

 private:
  static_assert(Size >= sizeof(void*));
  struct Node {
    Node* next;
  };
  struct List {
    Node* head = nullptr;
    std::size_t count = 0;
    List() = default;
    List(const List&) = delete;
    List& operator=(const List&) = delete;
    ~List() {
      t_dead = true;  // a block freed later in this thread's exit goes straight to the heap
      while (head != nullptr) {
        Node* n = head;
        head = n->next;
        ::operator delete(n);
      }
    }
  };
  static inline thread_local List t_list;
  static inline thread_local bool t_dead = false;
};

/// Single objects from BlockPool<sizeof(T)>, for std::allocate_shared.
template <class T>
struct PoolAllocator {
  using value_type = T;
  PoolAllocator() = default;
  template <class U>
  PoolAllocator(const PoolAllocator<U>&) noexcept {}
  T* allocate(std::size_t n) {
    if (n != 1) return std::allocator<T>().allocate(n);
    return static_cast<T*>(BlockPool<sizeof(T)>::allocate());
  }
  void deallocate(T* p, std::size_t n) noexcept {
    if (n != 1) return std::allocator<T>().deallocate(p, n);
    BlockPool<sizeof(T)>::deallocate(p);
  }
  template <class U>
  friend bool operator==(const PoolAllocator&, const PoolAllocator<U>&) noexcept {
    return true;
  }
};

/// Spent request strings (their capacity), handed back by the connection once their bytes are in
/// a frame and taken by the next request packed on the thread.
class RequestBuffers {
 public:
  /// An empty string, with the capacity of a spent request when one is at hand.
  static std::string take() {
    if (t_dead) return {};
    auto& v = t_spare.strings;
    if (v.empty()) return {};
    std::string s = std::move(v.back());
    v.pop_back();
    s.clear();
    return s;
  }
  /// Keeps `s`'s memory for a later take(), unless it is large (a big value's) or enough are kept.
  static void give(std::string&& s) {
    if (t_dead || s.capacity() < 64 || s.capacity() > kMaxCapacity) return;
    auto& v = t_spare.strings;
    if (v.size() >= kMaxKept) return;
    if (v.capacity() == 0) v.reserve(kMaxKept);
    v.push_back(std::move(s));
  }

 private:
  static constexpr std::size_t kMaxCapacity = 1024;
  static constexpr std::size_t kMaxKept = 128;
  struct Spare {
    std::vector<std::string> strings;
    ~Spare() { t_dead = true; }
  };
  static inline thread_local Spare t_spare;
  static inline thread_local bool t_dead = false;
};

}  // namespace syncmgr::detail
