// The client's per-thread free lists (src/client/pool.hpp): blocks and request strings are reused
// on their thread, the lists stay bounded, and a block freed on another thread is that thread's.
#include <doctest/doctest.h>

#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "client/pool.hpp"

using syncmgr::detail::BlockPool;
using syncmgr::detail::PoolAllocator;
using syncmgr::detail::RequestBuffers;

TEST_CASE("BlockPool: a freed block is the next one handed out on its thread, up to the bound") {
  using Pool = BlockPool<48, 4>;
  void* a = Pool::allocate();
  Pool::deallocate(a);
  CHECK(Pool::allocate() == a);
  // Six freed, four kept: the next four allocations are four of them, then fresh memory.
  std::vector<void*> blocks;
  for (int i = 0; i < 6; ++i)
    blocks.push_back(Pool::allocate());
  blocks.push_back(a);
  for (int i = 0; i < 6; ++i)
    Pool::deallocate(blocks[i]);
  std::set<void*> freed(blocks.begin(), blocks.begin() + 6);
  std::vector<void*> again;
  for (int i = 0; i < 4; ++i) {
    again.push_back(Pool::allocate());
    CHECK(freed.count(again.back()) == 1);
  }
  for (void* p : again)
    Pool::deallocate(p);
  Pool::deallocate(a);
}

TEST_CASE("BlockPool: a block freed on another thread, and a thread's list, go away cleanly") {
  using Pool = BlockPool<64, 8>;
  void* p = Pool::allocate();
  std::thread([p] {
    Pool::deallocate(p);         // joins this thread's list
    void* q = Pool::allocate();  // and is handed out there
    CHECK(q == p);
    Pool::deallocate(q);  // freed to the heap when the thread exits
  }).join();
}

TEST_CASE("PoolAllocator: allocate_shared objects are built, destroyed and their memory reused") {
  struct Obj {
    std::string s = "payload that does not fit in a small string";
    std::shared_ptr<int> counted;
  };
  auto token = std::make_shared<int>(1);
  const void* first;
  {
    auto a = std::allocate_shared<Obj>(PoolAllocator<Obj>());
    a->counted = token;
    first = a.get();
    CHECK(token.use_count() == 2);
  }
  CHECK(token.use_count() == 1);  // destroyed with its last reference
  auto b = std::allocate_shared<Obj>(PoolAllocator<Obj>());
  CHECK(static_cast<const void*>(b.get()) == first);  // the same block again
  CHECK(b->s == "payload that does not fit in a small string");
}

TEST_CASE("RequestBuffers: a spent request's capacity is reused; large or tiny ones are not kept") {
  for (int i = 0; i < 200; ++i)
    (void)RequestBuffers::take();  // drain what earlier tests on this thread left
  std::string s(200, 'x');
  const char* mem = s.data();
  RequestBuffers::give(std::move(s));
  std::string t = RequestBuffers::take();
  CHECK(t.empty());
  CHECK(t.capacity() >= 200);
  CHECK(t.data() == mem);
  RequestBuffers::give(std::string(1 << 20, 'y'));  // a big value's buffer goes back to the heap
  CHECK(RequestBuffers::take().capacity() < 64);
}
