// PageAllocator: an allocator for the large arrays of the daemon's tables.
//
// Blocks of at least kPageAllocMin bytes come straight from mmap and go back with munmap, so that
// (1) the block a growing table has just outgrown is returned to the kernel at once, whereas
// syncmgrd's glibc settings (it keeps freed memory below 32 MiB for large values) would keep it in
// the heap, and (2) the capacity a vector reserves beyond its size costs no memory until used
// (untouched pages are not resident). Measured: 1,000,000 int -> int dict entries 67 -> 43 bytes
// each. Smaller blocks use the ordinary allocator.
#pragma once

#include <sys/mman.h>

#include <cstddef>
#include <memory>
#include <new>

namespace syncmgr::server {

constexpr std::size_t kPageAllocMin = 1u << 20;

template <class T>
struct PageAllocator {
  using value_type = T;

  PageAllocator() noexcept = default;
  template <class U>
  PageAllocator(const PageAllocator<U>&) noexcept {}

  T* allocate(std::size_t n) {
    if (n > static_cast<std::size_t>(-1) / sizeof(T)) throw std::bad_array_new_length();
    std::size_t bytes = n * sizeof(T);
    if (bytes < kPageAllocMin) return std::allocator<T>().allocate(n);
    void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::bad_alloc();
    return static_cast<T*>(p);
  }

  void deallocate(T* p, std::size_t n) noexcept {
    std::size_t bytes = n * sizeof(T);
    if (bytes < kPageAllocMin) return std::allocator<T>().deallocate(p, n);
    ::munmap(p, bytes);
  }

  template <class U>
  friend bool operator==(const PageAllocator&, const PageAllocator<U>&) noexcept {
    return true;
  }
};

}  // namespace syncmgr::server
