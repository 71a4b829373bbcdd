// Parked calls end exactly once, whatever ends them: a Lock freed by its holder's death wakes the
// Conditions built on it, and a call parked on a temporary object that is freed is answered.
// Death is real (SIGKILL, then the session's lease runs out); tests wait on the daemon's counters.
#include <doctest/doctest.h>

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <future>
#include <optional>
#include <thread>

#include "support/daemon.hpp"
#include "syncmgr/syncmgr.hpp"

using namespace syncmgr;
using namespace std::chrono_literals;
using testsupport::Daemon;
using testsupport::wait_parked;
using Clock = std::chrono::steady_clock;

namespace {

/// A child that takes the Lock "base" (through `how`), sets the Event "held", and waits to be
/// killed.
pid_t holder(Daemon& d, const std::function<void(Manager&)>& how) {
  return testsupport::spawn([&d, how] {
    Manager child(d.options());
    how(child);
    child.Event("held").set();
    for (;;)
      pause();
    return 0;
  });
}

}  // namespace

TEST_CASE("parked: a Condition's acquire on a named Lock is served when the Lock's holder dies") {
  Daemon d({"--session-timeout", "1"});
  Manager m(d.options());
  m.Lock("base");
  auto cond = m.Condition("cond", "base");
  pid_t h = holder(d, [](Manager& c) { REQUIRE(c.Lock("base").acquire()); });
  REQUIRE(m.Event("held").wait(10s));
  auto f = std::async(std::launch::async, [&] {
    auto t0 = Clock::now();
    bool got = cond.acquire(true, 20s);
    return std::make_pair(got, testsupport::seconds_since(t0));
  });
  wait_parked(m, 1);
  kill(h, SIGKILL);
  testsupport::join(h);
  auto [got, secs] = f.get();
  CHECK(got);
  CHECK(secs < 15);  // served when the lease ran out, not when its own 20 s deadline fired
  cond.release();
}

TEST_CASE("parked: a Condition.wait re-acquiring a named Lock is served when its holder dies") {
  Daemon d({"--session-timeout", "1"});
  Manager m(d.options());
  m.Lock("base");
  auto cond = m.Condition("cond", "base");
  auto f = std::async(std::launch::async, [&] {
    std::lock_guard g(cond);
    auto t0 = Clock::now();
    bool notified = cond.wait(20s);
    return std::make_pair(notified, testsupport::seconds_since(t0));
  });
  wait_parked(m, 1);
  // The holder notifies, then dies holding the Lock: the waiter must re-acquire it after that.
  pid_t h = holder(d, [](Manager& c) {
    auto cv = c.Condition("cond");
    REQUIRE(cv.acquire());
    cv.notify();
  });
  REQUIRE(m.Event("held").wait(10s));
  kill(h, SIGKILL);
  testsupport::join(h);
  auto [notified, secs] = f.get();
  CHECK(notified);
  CHECK(secs < 15);
  CHECK_FALSE(m.Lock("base").locked());
}

TEST_CASE("parked: a call on a temporary object released by its last holder ends with NameError") {
  Daemon d;
  Manager m(d.options());
  for (bool with_timeout : {false, true}) {
    CAPTURE(with_timeout);
    std::optional<QueueProxy> q = m.Queue();
    auto got = with_timeout ? q->async_get<int>(true, 1s) : q->async_get<int>(true);
    wait_parked(m, 1);
    q.reset();  // the last proxy: the client releases the temporary, which is freed
    REQUIRE(got.wait_for(10s) == std::future_status::ready);
    CHECK_THROWS_AS(got.get(), NameError);
    CHECK(testsupport::stat(m, "parked_calls") == 0);
    CHECK(testsupport::stat(m, "objects") == 0);
  }
  m.ping();
}
