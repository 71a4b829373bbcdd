// Blocking objects against a real daemon, in the style of CPython's lock_tests.py and
// test_queue.py: calls park on the daemon (never a blocked daemon thread), are served in arrival
// order, honour timeouts (a wait of t returns no earlier than t), and every parked call ends
// exactly once. Tests wait for the daemon's count of parked calls rather than sleeping.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

#include "support/daemon.hpp"
#include "syncmgr/syncmgr.hpp"

using namespace syncmgr;
using namespace std::chrono_literals;
using testsupport::Daemon;
using testsupport::wait_parked;
using Clock = std::chrono::steady_clock;

TEST_CASE("lock: acquire, release, locked, try_lock and timeouts") {
  Daemon d;
  Manager m(d.options());
  auto lock = m.Lock("l");
  CHECK_FALSE(lock.locked());
  CHECK(lock.acquire());
  CHECK(lock.locked());
  CHECK(lock.owned());
  CHECK_FALSE(lock.try_lock());  // not re-entrant
  auto t0 = Clock::now();
  CHECK_FALSE(lock.acquire(true, 200ms));
  CHECK(testsupport::seconds_since(t0) >= 0.2);
  CHECK(testsupport::seconds_since(t0) < 5);
  lock.release();
  CHECK_FALSE(lock.locked());
  CHECK_THROWS_AS(lock.release(), RuntimeError);  // releasing an unlocked lock
  {
    std::lock_guard guard(lock);  // Lockable
    CHECK(lock.locked());
  }
  CHECK_FALSE(lock.locked());
  CHECK(lock.try_lock_for(10ms));
  lock.unlock();
  CHECK(lock.try_lock_until(Clock::now() + 10ms));
  lock.unlock();
}

TEST_CASE("lock: fencing tokens grow with every grant") {
  Daemon d;
  Manager m(d.options());
  auto lock = m.Lock("fenced");
  auto first = lock.acquire_fenced();
  REQUIRE(first);
  lock.release();
  auto second = lock.acquire_fenced();
  REQUIRE(second);
  CHECK(*second > *first);
  CHECK_FALSE(lock.acquire_fenced(false));
  lock.release();
}

TEST_CASE("lock: a blocked acquire is served when another process releases; FIFO order") {
  Daemon d;
  Manager m(d.options());
  auto lock = m.Lock("fifo");
  auto order = m.list("order");
  REQUIRE(lock.acquire());
  std::vector<pid_t> pids;
  for (int i = 0; i < 3; ++i) {
    pids.push_back(testsupport::spawn([&d, i] {
      Manager child(d.options());
      auto l = child.Lock("fifo");
      l.acquire();
      child.list("order").append(i);
      l.release();
      return 0;
    }));
    wait_parked(m, static_cast<std::uint64_t>(i + 1));  // arrival order is the spawn order
  }
  lock.release();
  for (pid_t p : pids)
    CHECK(testsupport::join(p) == 0);
  CHECK(order.copy<int>() == std::vector<int>{0, 1, 2});
}

TEST_CASE("lock: std::scoped_lock over two process-shared locks") {
  Daemon d;
  Manager m(d.options());
  auto a = m.Lock("a");
  auto b = m.RLock("b");
  {
    std::scoped_lock both(a, b);
    CHECK(a.locked());
    CHECK(b.owned());
  }
  CHECK_FALSE(a.locked());
  CHECK_FALSE(b.owned());
}

TEST_CASE("rlock: recursion count, owner is (session, thread)") {
  Daemon d;
  Manager m(d.options());
  auto r = m.RLock("r");
  CHECK(r.acquire());
  CHECK(r.acquire());  // re-entrant for the owner
  std::atomic<bool> other_got{true};
  std::thread other([&] {
    other_got = r.acquire(false);  // another thread of the same process is not the owner
    CHECK_THROWS_AS(r.release(), RuntimeError);  // and may not release
  });
  other.join();
  CHECK_FALSE(other_got);
  r.release();
  CHECK(r.owned());
  r.release();
  CHECK_FALSE(r.owned());
  CHECK_THROWS_AS(r.release(), RuntimeError);  // more releases than acquires
  int rc = testsupport::in_child([&d] {
    Manager child(d.options());
    return child.RLock("r").acquire(false) ? 0 : 1;
  });
  CHECK(rc == 0);
}

TEST_CASE("rlock: locked() says whether anyone holds it, at any recursion level") {
  Daemon d;
  Manager m(d.options());
  auto r = m.RLock("r");
  CHECK_FALSE(r.locked());
  REQUIRE(r.acquire());
  REQUIRE(r.acquire());
  CHECK(r.locked());
  CHECK(testsupport::in_child([&d] { return Manager(d.options()).RLock("r").locked() ? 0 : 1; }) ==
        0);
  r.release();
  CHECK(r.async_locked().get());
  r.release();
  CHECK_FALSE(r.locked());
}

TEST_CASE("condition: wait releases the lock, notify wakes, wait re-acquires; timeouts") {
  Daemon d;
  Manager m(d.options());
  auto cond = m.Condition("c");
  CHECK_THROWS_AS(cond.wait(), RuntimeError);  // without the lock
  CHECK_THROWS_AS(cond.notify(), RuntimeError);
  cond.acquire();
  auto t0 = Clock::now();
  CHECK_FALSE(cond.wait(150ms));
  CHECK(testsupport::seconds_since(t0) >= 0.15);
  cond.release();  // wait re-acquired it even though it timed out

  auto state = m.Namespace("state");
  state.set("ready", false);
  pid_t waiter = testsupport::spawn([&d] {
    Manager child(d.options());
    auto c = child.Condition("c");
    auto st = child.Namespace("state");
    std::lock_guard g(c);
    bool ok = c.wait_for([&] { return st.get<bool>("ready"); }, 20s);
    return ok ? 0 : 1;
  });
  wait_parked(m, 1);
  {
    std::lock_guard g(cond);
    state.set("ready", true);
    cond.notify();
  }
  CHECK(testsupport::join(waiter) == 0);
}

TEST_CASE("condition: notify(n) wakes n, notify_all wakes the rest; on an existing Lock") {
  Daemon d;
  Manager m(d.options());
  m.Lock("base");
  auto cond = m.Condition("on-lock", "base");
  auto woken = m.Namespace("woken");
  std::vector<pid_t> pids;
  for (int i = 0; i < 4; ++i) {
    pids.push_back(testsupport::spawn([&d] {
      Manager child(d.options());
      auto c = child.Condition("on-lock");
      std::lock_guard g(c);
      bool notified = c.wait(20s);
      child.Namespace("woken").increment("n");
      return notified ? 0 : 1;
    }));
  }
  wait_parked(m, 4);
  {
    std::lock_guard g(cond);
    cond.notify(1);
  }
  for (int i = 0; i < 1000 && woken.get<int>("n", 0) < 1; ++i)
    std::this_thread::sleep_for(5ms);
  CHECK(woken.get<int>("n", 0) == 1);
  {
    std::lock_guard g(cond);
    cond.notify_all();
  }
  for (pid_t p : pids)
    CHECK(testsupport::join(p) == 0);
  CHECK(woken.get<int>("n") == 4);
  CHECK_FALSE(m.Lock("base").locked());
}

TEST_CASE("threads: a call blocked in one thread never stalls another thread's calls") {
  Daemon d;
  Manager m(d.options());
  auto q = m.Queue("threads-q");
  std::atomic<bool> got{false};
  std::thread blocked([&] {
    CHECK(q.get<int>() == 7);  // parked on the daemon until the main thread puts
    got = true;
  });
  wait_parked(m, 1);
  auto dict = m.dict("threads-d");
  for (int i = 0; i < 200; ++i)
    dict.set(i, i);  // all answered while the get stays parked
  CHECK(dict.len() == 200);
  CHECK_FALSE(got);
  q.put(7);
  blocked.join();
  CHECK(got);
}
