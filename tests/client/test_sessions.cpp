// What a session's end takes back, and from whom (issue 10, "Session semantics"): a lock grant
// belongs to the session that received it, and a process whose session ended cannot release the
// grant someone else holds now. Processes are real, stopped and killed with real signals, and the
// daemon is real; the tests wait on its counters instead of sleeping.
#include <doctest/doctest.h>

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <string>

#include "support/daemon.hpp"
#include "support/raw_client.hpp"
#include "syncmgr/syncmgr.hpp"

using namespace syncmgr;
using namespace std::chrono_literals;
using testsupport::Daemon;
using Clock = std::chrono::steady_clock;

namespace {

/// A pipe for telling a child to go on: unlike a daemon object, it works across a stop that
/// outlives the child's session.
struct Go {
  int fds[2] = {-1, -1};
  Go() { REQUIRE(::pipe(fds) == 0); }
  ~Go() {
    ::close(fds[0]);
    ::close(fds[1]);
  }
  void signal() { REQUIRE(::write(fds[1], "g", 1) == 1); }
  void wait() {
    char c;
    while (::read(fds[0], &c, 1) < 0 && errno == EINTR) {
    }
  }
};

// Child exit codes of the stalled holder.
enum : int { kLockLost = 0, kStillOwned = 1, kReleased = 2, kOtherError = 3, kReleasedLater = 4 };

/// A child that takes `lock` through `acquire`, sets "held", waits for `go`, then reports what
/// owned() and release() say (exit code, above).
template <class Proxy>
pid_t stalled_holder(Daemon& d, Go& go, std::function<Proxy(Manager&)> open) {
  return testsupport::spawn([&d, &go, open] {
    Manager child(d.options());
    auto lock = open(child);
    if (!lock.acquire()) return kOtherError;
    child.Event("held").set();
    go.wait();
    if (lock.owned()) return kStillOwned;
    try {
      lock.release();
      return kReleased;
    } catch (const LockLost&) {
    } catch (const std::exception&) {
      return kOtherError;
    }
    // A second try of a thread that thought it held the lock is refused too, until it acquires
    // again (a plain release would free the new holder's grant).
    try {
      lock.release();
      return kReleasedLater;
    } catch (const LockLost&) {
      return kLockLost;
    } catch (const std::exception&) {
      return kOtherError;
    }
  });
}

}  // namespace

TEST_CASE("sessions: a holder stopped past its lease cannot release the Lock granted since") {
  Daemon d({"--session-timeout", "1"});
  Manager m(d.options());
  auto lock = m.Lock("L");
  Go go;
  pid_t a = stalled_holder<LockProxy>(d, go, [](Manager& c) { return c.Lock("L"); });
  REQUIRE(m.Event("held").wait(10s));
  ::kill(a, SIGSTOP);
  // C: this process gets the Lock once A's session has expired.
  auto token = lock.acquire_fenced(true, 20s);
  REQUIRE(token.has_value());
  ::kill(a, SIGCONT);
  go.signal();
  CHECK(testsupport::join(a) == kLockLost);
  // C still holds it: a third process cannot take it, and C releases it as its own.
  CHECK(lock.owned());
  CHECK(testsupport::in_child([&d] {
          Manager third(d.options());
          return third.Lock("L").acquire(false) ? 1 : 0;
        }) == 0);
  lock.release();
  CHECK_FALSE(lock.locked());
}

TEST_CASE(
    "sessions: a std::lock_guard whose grant was lost ends quietly; the next acquire says so") {
  // Found by review of the LockLost change: unlock() threw LockLost from lock_guard's destructor,
  // which ends the program (std::terminate). unlock() must not throw; the loss is reported by the
  // thread's next acquire, and the new holder keeps the lock.
  Daemon d({"--session-timeout", "1"});
  Manager m(d.options());
  auto lock = m.Lock("G");
  Go go;
  pid_t a = testsupport::spawn([&d, &go] {
    Manager child(d.options());
    auto l = child.Lock("G");
    {
      std::lock_guard guard(l);
      child.Event("held").set();
      go.wait();
    }  // unlock() here: the grant is gone
    try {
      l.acquire(false);
      return kReleased;
    } catch (const LockLost&) {
      return kLockLost;
    } catch (const std::exception&) {
      return kOtherError;
    }
  });
  REQUIRE(m.Event("held").wait(10s));
  ::kill(a, SIGSTOP);
  REQUIRE(lock.acquire(true, 20s));
  ::kill(a, SIGCONT);
  go.signal();
  CHECK(testsupport::join(a) == kLockLost);  // not killed by std::terminate (SIGABRT)
  CHECK(lock.owned());
  lock.release();
}

TEST_CASE("sessions: an RLock holder stopped past its lease cannot release the grant since") {
  Daemon d({"--session-timeout", "1"});
  Manager m(d.options());
  auto lock = m.RLock("R");
  Go go;
  pid_t a = stalled_holder<RLockProxy>(d, go, [](Manager& c) { return c.RLock("R"); });
  REQUIRE(m.Event("held").wait(10s));
  ::kill(a, SIGSTOP);
  REQUIRE(lock.acquire(true, 20s));
  ::kill(a, SIGCONT);
  go.signal();
  CHECK(testsupport::join(a) == kLockLost);
  CHECK(lock.owned());
  lock.release();
  CHECK_FALSE(lock.locked());
}

TEST_CASE(
    "sessions: a Condition's holder stopped past its lease cannot free its Lock's new holder") {
  Daemon d({"--session-timeout", "1"});
  Manager m(d.options());
  auto lock = m.Lock("base");
  m.Condition("cond", "base");
  Go go;
  pid_t a = testsupport::spawn([&d, &go] {
    Manager child(d.options());
    auto cond = child.Condition("cond");
    if (!cond.acquire()) return kOtherError;
    child.Event("held").set();
    go.wait();
    try {
      cond.release();  // a plain Lock underneath: the daemon would let anyone release it
      return kReleased;
    } catch (const LockLost&) {
      return kLockLost;
    } catch (const std::exception&) {
      return kOtherError;
    }
  });
  REQUIRE(m.Event("held").wait(10s));
  ::kill(a, SIGSTOP);
  REQUIRE(lock.acquire(true, 20s));
  ::kill(a, SIGCONT);
  go.signal();
  CHECK(testsupport::join(a) == kLockLost);
  CHECK(lock.owned());
  lock.release();
}

TEST_CASE("sessions: a release naming an older grant's token is refused with LockLost") {
  Daemon d;
  Manager m(d.options());
  auto lock = m.Lock("L");
  auto first = lock.acquire_fenced();
  REQUIRE(first.has_value());
  lock.release();
  auto second = lock.acquire_fenced();
  REQUIRE(second.has_value());
  // Another client (written from PROTOCOL.md) releasing with the first grant's token: refused,
  // and the second grant stands.
  zmq::context_t ctx;
  testsupport::RawClient raw(ctx, d.ipc(), testsupport::read_file(d.key_file()));
  raw.handshake();
  auto release = [](std::uint64_t id, std::optional<std::uint64_t> token) {
    return testsupport::pack_request(id, "lock.release", "L", [token](auto& pk) {
      pk.pack_array(token ? 2 : 1);
      pk.pack(7);
      if (token) pk.pack(*token);
    });
  };
  auto r = raw.call(release(1, *first), 1);
  REQUIRE(r.size() == 1);
  CHECK(r[0].as_list()[1] == Value(1));
  CHECK(r[0].as_list()[2] == Value("LockLost"));
  CHECK(lock.owned());
  // Without a token, a live party may release a plain Lock, as in Python.
  r = raw.call(release(2, std::nullopt), 2);
  REQUIRE(r.size() == 1);
  CHECK(r[0].as_list()[1] == Value(0));
  CHECK_FALSE(lock.locked());
  CHECK_FALSE(lock.owned());
}

namespace {

/// A child that opens `endpoint` and parks in `call` (it never returns from it).
pid_t parked_child(Daemon& d, const std::string& endpoint, std::function<void(Manager&)> call) {
  return testsupport::spawn([&d, endpoint, call] {
    Manager child(d.options(endpoint));
    call(child);
    return 0;
  });
}

/// A waiter SIGKILLed while parked in lock.acquire must not keep a live waiter behind it waiting
/// for its lease (30 s here): its connection closed, so its session ends at once.
void killed_lock_waiter(const std::string& transport) {
  Daemon d({"--session-timeout", "30"});
  std::string ep = transport == "ipc" ? d.ipc() : d.tcp();
  Manager m(d.options(ep));
  auto lock = m.Lock("L");
  REQUIRE(lock.acquire());
  pid_t dead = parked_child(d, ep, [](Manager& c) { c.Lock("L").acquire(); });
  testsupport::wait_parked(m, 1);
  pid_t live = testsupport::spawn([&d, ep] {
    Manager c(d.options(ep));
    auto l = c.Lock("L");
    auto got = l.acquire(true, 20s);
    if (got) c.Event("got").set();
    c.Event("done").wait(30s);
    return got ? 0 : 1;
  });
  testsupport::wait_parked(m, 2);
  ::kill(dead, SIGKILL);
  testsupport::join(dead);
  lock.release();  // before or after the daemon saw the death: either way the live waiter's
  auto t0 = Clock::now();
  REQUIRE(m.Event("got").wait(20s));
  double secs = testsupport::seconds_since(t0);
  MESSAGE(transport << ": the live waiter got the Lock " << secs << " s after the release");
  CHECK(secs < 5.0);  // ~ms; the lease would be 30 s
  CHECK(lock.locked());
  m.Event("done").set();
  CHECK(testsupport::join(live) == 0);
}

/// A getter SIGKILLed while parked in queue.get: its session ends at once, so the next put goes to
/// the live getter behind it.
void killed_getter(const std::string& transport) {
  Daemon d({"--session-timeout", "30"});
  std::string ep = transport == "ipc" ? d.ipc() : d.tcp();
  Manager m(d.options(ep));
  auto q = m.Queue("q");
  pid_t dead = parked_child(d, ep, [](Manager& c) { c.Queue("q").get<int>(); });
  testsupport::wait_parked(m, 1);
  pid_t live = testsupport::spawn([&d, ep] {
    Manager c(d.options(ep));
    return c.Queue("q").get<int>(true, 20s) == 42 ? 0 : 1;
  });
  testsupport::wait_parked(m, 2);
  auto t0 = Clock::now();
  ::kill(dead, SIGKILL);
  testsupport::join(dead);
  testsupport::wait_sessions(m, 2);  // this one and the live getter's
  double secs = testsupport::seconds_since(t0);
  MESSAGE(transport << ": the dead getter's session ended " << secs << " s after SIGKILL");
  CHECK(secs < 5.0);
  q.put(42);
  CHECK(testsupport::join(live) == 0);
}

}  // namespace

TEST_CASE("sessions: a waiter SIGKILLed while parked in lock.acquire holds up no one (ipc)") {
  killed_lock_waiter("ipc");
}

TEST_CASE("sessions: a waiter SIGKILLed while parked in lock.acquire holds up no one (tcp)") {
  killed_lock_waiter("tcp");
}

TEST_CASE("sessions: a getter SIGKILLed while parked in queue.get holds up no one (ipc)") {
  killed_getter("ipc");
}

TEST_CASE("sessions: a getter SIGKILLed while parked in queue.get holds up no one (tcp)") {
  killed_getter("tcp");
}

namespace {

/// A live getter in its own process: exits 0 when it got `want` within 20 s.
pid_t live_getter(Daemon& d, const std::string& queue, int want) {
  return testsupport::spawn([&d, queue, want] {
    Manager c(d.options(d.ipc()));
    try {
      return c.Queue(queue).get<int>(true, 20s) == want ? 0 : 1;
    } catch (const std::exception&) {
      return 2;
    }
  });
}

}  // namespace

TEST_CASE("sessions: an item handed to a stopped getter that then dies goes to the next getter") {
  // The getter is stopped while parked: the item is handed out but never acknowledged, then the
  // getter is killed. Its session ends (connection closed), and the item goes back to the queue.
  Daemon d({"--session-timeout", "30"});
  Manager m(d.options(d.ipc()));
  auto q = m.Queue("q");
  pid_t dead = parked_child(d, d.ipc(), [](Manager& c) { c.Queue("q").get<int>(); });
  testsupport::wait_parked(m, 1);
  pid_t live = live_getter(d, "q", 42);
  testsupport::wait_parked(m, 2);
  ::kill(dead, SIGSTOP);
  q.put(42);  // handed to the stopped getter, first in line
  testsupport::wait_parked(m, 1);
  CHECK(q.qsize() == 0);
  ::kill(dead, SIGKILL);
  testsupport::join(dead);
  CHECK(testsupport::join(live) == 0);
  CHECK(q.qsize() == 0);
}

TEST_CASE("sessions: a put right after a parked getter is SIGKILLed goes to the live getter") {
  // Whichever comes first at the daemon, the put or the connection's close, the item ends with
  // the live getter: handed to the dead one, it is never acknowledged and comes back.
  Daemon d({"--session-timeout", "30"});
  Manager m(d.options(d.ipc()));
  auto q = m.Queue("q");
  for (int round = 0; round < 3; ++round) {
    pid_t dead = parked_child(d, d.ipc(), [](Manager& c) { c.Queue("q").get<int>(); });
    testsupport::wait_parked(m, 1);
    pid_t live = live_getter(d, "q", round);
    testsupport::wait_parked(m, 2);
    ::kill(dead, SIGKILL);
    q.put(round);
    CHECK(testsupport::join(live) == 0);
    testsupport::join(dead);
    testsupport::wait_sessions(m, 1);
    CHECK(q.qsize() == 0);
  }
}

TEST_CASE("sessions: an item got by a consumer that goes on, or exits cleanly, is not put back") {
  Daemon d({"--session-timeout", "30"});
  Manager m(d.options(d.ipc()));
  auto q = m.Queue("q");
  q.put(1);
  q.put(2);
  CHECK(testsupport::in_child([&d] {
          Manager c(d.options(d.ipc()));
          auto cq = c.Queue("q");
          if (cq.get<int>() != 1) return 1;
          c.ping();  // acknowledges the reply that carried it
          return cq.get<int>() == 2 ? 0 : 1;
        }) == 0);  // and a clean exit (bye) acknowledges the last
  testsupport::wait_sessions(m, 1);
  CHECK(q.qsize() == 0);
}

TEST_CASE("sessions: a JoinableQueue worker killed between get and task_done: join() returns") {
  Daemon d({"--session-timeout", "30"});
  Manager m(d.options(d.ipc()));
  auto q = m.JoinableQueue("jobs");
  q.put(7);
  pid_t dying = testsupport::spawn([&d] {
    Manager c(d.options(d.ipc()));
    c.JoinableQueue("jobs").get<int>();
    c.ping();  // the item is acknowledged: only task_done is missing
    c.Event("got").set();
    for (;;)
      pause();
    return 0;
  });
  REQUIRE(m.Event("got").wait(10s));
  CHECK(q.qsize() == 0);
  ::kill(dying, SIGKILL);
  testsupport::join(dying);
  // Another worker redoes it.
  pid_t worker = testsupport::spawn([&d] {
    Manager c(d.options(d.ipc()));
    auto jobs = c.JoinableQueue("jobs");
    int job = jobs.get<int>(true, 20s);
    jobs.task_done();
    return job == 7 ? 0 : 1;
  });
  CHECK(q.join(20s));
  CHECK(testsupport::join(worker) == 0);
  CHECK(q.qsize() == 0);
}

TEST_CASE("sessions: a JoinableQueue created with Undone::forget keeps Python's behaviour") {
  Daemon d({"--session-timeout", "30"});
  Manager m(d.options(d.ipc()));
  auto q = m.JoinableQueue("jobs", 0, Undone::forget);
  q.put(7);
  CHECK(testsupport::in_child([&d] {
          Manager c(d.options(d.ipc()));
          c.JoinableQueue("jobs").get<int>();
          c.ping();
          ::_exit(0);  // no task_done, no goodbye
          return 0;
        }) == 0);
  testsupport::wait_sessions(m, 1);
  CHECK(q.qsize() == 0);
  CHECK_FALSE(q.join(0.2s));  // as in Python: nobody will call task_done for it
  q.task_done();
  CHECK(q.join(1s));
}

TEST_CASE("sessions: an undone item put back after another process's task_done counts again") {
  // task_done names no item: a coordinator may mark the worker's item done. The worker's session
  // then ends with the item still its own undone one; it is redone, and the redoing worker's
  // task_done is not "called too many times".
  Daemon d({"--session-timeout", "30"});
  Manager m(d.options(d.ipc()));
  auto q = m.JoinableQueue("jobs");
  q.put(7);
  pid_t worker = testsupport::spawn([&d] {
    Manager c(d.options(d.ipc()));
    if (c.JoinableQueue("jobs").get<int>() != 7) return 1;
    c.Event("got").set();
    return c.Event("marked").wait(20s) ? 0 : 1;  // then exits without task_done of its own
  });
  REQUIRE(m.Event("got").wait(10s));
  q.task_done();  // the coordinator's
  CHECK(q.join(0s));
  m.Event("marked").set();
  CHECK(testsupport::join(worker) == 0);
  testsupport::wait_sessions(m, 1);
  REQUIRE(q.qsize() == 1);
  CHECK(q.get<int>() == 7);
  q.task_done();
  CHECK(q.join(1s));
}
