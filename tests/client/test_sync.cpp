// Semaphore, BoundedSemaphore, Event, Barrier, Value and Array through real proxies, in the style
// of CPython's lock_tests.py (a wait of t returns no earlier than t).
#include <doctest/doctest.h>

#include <signal.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "support/daemon.hpp"
#include "syncmgr/syncmgr.hpp"

using namespace syncmgr;
using namespace std::chrono_literals;
using testsupport::Daemon;
using Clock = std::chrono::steady_clock;

TEST_CASE("semaphore: counting, timeouts, release(n), bounded overflow") {
  Daemon d;
  Manager m(d.options());
  auto sem = m.Semaphore("s", 2);
  CHECK(sem.get_value() == 2);
  CHECK(sem.acquire());
  CHECK(sem.acquire(false));
  CHECK_FALSE(sem.acquire(false));
  auto t0 = Clock::now();
  CHECK_FALSE(sem.acquire(true, 100ms));
  CHECK(testsupport::seconds_since(t0) >= 0.1);
  sem.release(2);
  CHECK(sem.get_value() == 2);
  sem.release();  // a plain Semaphore may go above its initial value
  CHECK(sem.get_value() == 3);
  {
    std::lock_guard g(sem);
    CHECK(sem.get_value() == 2);
  }
  auto bounded = m.BoundedSemaphore("b", 1);
  CHECK(bounded.acquire());
  bounded.release();
  CHECK_THROWS_AS(bounded.release(), ValueError);
  CHECK(bounded.get_value() == 1);
}

TEST_CASE("semaphore: a blocked acquire is served by another process's release") {
  Daemon d;
  Manager m(d.options());
  auto sem = m.Semaphore("gate", 0);
  pid_t releaser = testsupport::spawn([&d] {
    Manager child(d.options());
    std::this_thread::sleep_for(100ms);
    child.Semaphore("gate").release();
    return 0;
  });
  auto t0 = Clock::now();
  CHECK(sem.acquire(true, 20s));
  CHECK(testsupport::seconds_since(t0) >= 0.05);
  CHECK(testsupport::join(releaser) == 0);
}

TEST_CASE("event: set, clear, is_set, wait with timeout, wakes every waiter") {
  Daemon d;
  Manager m(d.options());
  auto ev = m.Event("e");
  CHECK_FALSE(ev.is_set());
  auto t0 = Clock::now();
  CHECK_FALSE(ev.wait(100ms));
  CHECK(testsupport::seconds_since(t0) >= 0.1);
  std::vector<pid_t> waiters;
  for (int i = 0; i < 3; ++i) {
    waiters.push_back(testsupport::spawn([&d] {
      Manager child(d.options());
      return child.Event("e").wait(20s) ? 0 : 1;
    }));
  }
  std::this_thread::sleep_for(100ms);
  ev.set();
  ev.clear();  // waiters already woken by set() still return true
  for (pid_t p : waiters)
    CHECK(testsupport::join(p) == 0);
  CHECK_FALSE(ev.is_set());
  ev.set();
  CHECK(ev.wait(0s));
}

TEST_CASE("barrier: abort and reset, timeouts break it, the action runs once per cycle") {
  Daemon d;
  Manager m(d.options());
  auto b = m.Barrier("b", 2);
  CHECK(b.parties() == 2);
  CHECK(b.n_waiting() == 0);
  auto t0 = Clock::now();
  CHECK_THROWS_AS(b.wait(100ms), BrokenBarrierError);  // a timeout breaks the barrier
  CHECK(testsupport::seconds_since(t0) >= 0.1);
  CHECK(b.broken());
  CHECK_THROWS_AS(b.wait(), BrokenBarrierError);  // broken until reset
  b.reset();
  CHECK_FALSE(b.broken());
  b.abort();
  CHECK(b.broken());
  b.reset();

  auto acts = m.Namespace("acts");
  auto with_action = m.Barrier("act", 2, [&] { acts.increment("n"); });
  pid_t other = testsupport::spawn([&d] {
    Manager child(d.options());
    auto cns = child.Namespace("acts");
    auto cb = child.Barrier("act", 2, [&] { cns.increment("n"); });
    std::size_t a = cb.wait(20s);
    std::size_t b2 = cb.wait(20s);
    return static_cast<int>(a + b2 * 10);
  });
  std::size_t first = with_action.wait(20s);
  std::size_t second = with_action.wait(20s);
  int child_indices = testsupport::join(other);
  CHECK(first + static_cast<std::size_t>(child_indices % 10) == 1);  // indices 0 and 1 per cycle
  CHECK(second + static_cast<std::size_t>(child_indices / 10) == 1);
  CHECK(acts.get<int>("n") == 2);  // once per cycle, by whichever process arrived last

  auto failing = m.Barrier("fails", 1, [] { throw std::runtime_error("action failed"); });
  CHECK_THROWS_AS(failing.wait(), std::runtime_error);
  CHECK(failing.broken());
}

TEST_CASE("value and array: atomic add, compare_and_set, fixed-length slices") {
  Daemon d;
  Manager m(d.options());
  auto v = m.Value("counter", 10);
  CHECK(v.get<int>() == 10);
  CHECK(v.add(5) == 15);
  CHECK(v.add(-20) == -5);
  CHECK(v.compare_and_set(-5, 0));
  CHECK_FALSE(v.compare_and_set(-5, 1));
  v.set(std::string("text"));
  CHECK_THROWS_AS(v.add(1), TypeError);
  auto arr = m.Array("arr", std::vector<double>{0.5, 1.5, 2.5, 3.5});
  CHECK(arr.len() == 4);
  CHECK(arr.get<double>(-1) == 3.5);
  CHECK_THROWS_AS(arr.get<double>(4), IndexError);
  arr.set(0, 9.0);
  CHECK(arr.get_slice<double>({std::nullopt, 2, std::nullopt}) == std::vector<double>{9.0, 1.5});
  arr.set_slice({1, 3, std::nullopt}, std::vector<double>{7.0, 8.0});
  CHECK(arr.get<double>(2) == 8.0);
  CHECK_THROWS_AS(arr.set_slice({0, 2, std::nullopt}, std::vector<double>{1.0}), ValueError);
  CHECK(arr.len() == 4);
  std::vector<pid_t> pids;
  for (int p = 0; p < 4; ++p) {
    pids.push_back(testsupport::spawn([&d] {
      Manager child(d.options());
      auto cv = child.Value("shared", 0);
      for (int i = 0; i < 250; ++i)
        cv.add(1);
      return 0;
    }));
  }
  for (pid_t p : pids)
    CHECK(testsupport::join(p) == 0);
  CHECK(m.Value("shared", 0).get<int>() == 1000);
}

TEST_CASE("blocking: a timed-out get leaves no parked call and takes no later item") {
  Daemon d;
  auto opts = d.options();
  opts.timeout = 200ms;  // the client's own grace after the call's timeout
  Manager m(opts);
  auto q = m.Queue("handoff");
  auto t0 = Clock::now();
  CHECK_THROWS_AS(q.get(true, 100ms), Empty);  // the daemon's timeout answers first
  CHECK(testsupport::seconds_since(t0) >= 0.1);
  syncmgr::Value stats = m.stats();
  for (const auto& [k, val] : stats.as_map())
    if (k == syncmgr::Value("parked_calls")) CHECK(val.as_uint() == 0);
  q.put(1);
  CHECK(q.get<int>() == 1);  // the item went to the live call, not to an abandoned one
}

TEST_CASE("semaphore: used as a signal it never gains permits when the consumer's session ends") {
  Daemon d({"--session-timeout", "1"});
  Manager m(d.options());
  auto sig = m.Semaphore("sig", 0);
  CHECK(testsupport::in_child([&d] {
          Manager child(d.options());
          child.Semaphore("sig").release(5);
          return 0;
        }) == 0);
  CHECK(testsupport::in_child([&d] {
          Manager child(d.options());
          auto s = child.Semaphore("sig");
          for (int i = 0; i < 5; ++i)
            if (!s.acquire(false)) return 1;
          return 0;  // exits cleanly: its session ends with server.bye
        }) == 0);
  CHECK(sig.get_value() == 0);
  // The same with a consumer that crashes: its session expires instead.
  sig.release(3);
  pid_t consumer = testsupport::spawn([&d] {
    Manager child(d.options());
    auto s = child.Semaphore("sig");
    for (int i = 0; i < 3; ++i)
      if (!s.acquire(false)) return 1;
    child.Event("took").set();
    for (;;)
      std::this_thread::sleep_for(1s);
  });
  REQUIRE(m.Event("took").wait(10s));
  kill(consumer, SIGKILL);
  CHECK(testsupport::join(consumer) == 128 + SIGKILL);
  testsupport::wait_sessions(m, 1);  // the dead consumer's session has ended
  CHECK(sig.get_value() == 0);
}
