// The blocking module in-process: park, signal, expire, cancel, end_session and free, with a fake
// host that decides each retry and records each answer. Every parked call must end exactly once.
#include <doctest/doctest.h>

#include <functional>
#include <string>
#include <vector>

#include "server/blocking.hpp"
#include "server/commands.hpp"

using namespace syncmgr;
using namespace syncmgr::server;

namespace {

class Thing : public Object {
 public:
  explicit Thing(std::string n) : Object("thing") { name = std::move(n); }
  std::size_t size() const override { return 0; }
  void describe(Map&, const Inspector&) const override {}
};

const Command kGet{"thing.get", "thing", 2, 2, CommandFlags::blocking | CommandFlags::mutating,
                   nullptr};

struct Answer {
  std::uint64_t request_id;
  std::string what;  // the value's repr, or the error kind
};

class FakeHost : public BlockingHost {
 public:
  /// Decides a retry: return a value to serve it, or Reply::park(...) to keep it parked.
  std::function<Reply(Waiter&, bool timed_out)> decide;
  std::vector<Answer> answers;
  std::vector<std::pair<std::uint64_t, Outcome>> unserved_calls;
  int retries = 0;

  Reply retry(Waiter& w, bool timed_out) override {
    ++retries;
    return decide(w, timed_out);
  }
  void answer(const Waiter& w, Reply& r) override {
    answers.push_back(
        {w.request_id, r.is_error() ? std::string(r.error().kind) : r.value().repr()});
  }
  void unserved(const Waiter& w, Outcome how) override {
    unserved_calls.emplace_back(w.request_id, how);
  }
};

Waiter call(Object& obj, std::uint64_t session, std::uint64_t request_id,
            Clock::time_point deadline = Clock::time_point::max()) {
  Waiter w;
  w.session = session;
  w.request_id = request_id;
  w.command = &kGet;
  w.object = &obj;
  w.deadline = deadline;
  return w;
}

}  // namespace

TEST_CASE(
    "blocking: a signal tries its key's waiters in arrival order, stopping at the first "
    "that stays parked") {
  FakeHost host;
  Blocking b(host);
  Thing q("q");
  WaitKey items{&q, Awaited::items};
  int available = 0;
  host.decide = [&](Waiter& w, bool) -> Reply {
    if (available > 0) {
      --available;
      return Value(static_cast<std::int64_t>(w.request_id));
    }
    return Reply::park({items});
  };
  for (std::uint64_t id = 1; id <= 1000; ++id)
    b.park(call(q, 1, id), {items});
  CHECK(b.size() == 1000);
  available = 2;
  b.signal(items);
  b.signal(items);  // deduplicated until processed
  b.process();
  REQUIRE(host.answers.size() == 2);
  CHECK(host.answers[0].request_id == 1);
  CHECK(host.answers[1].request_id == 2);
  // Two served, then one tried and still parked: not the 997 behind it. The served get is
  // mutating, so it signals its object's keys again: one more retry of the new first waiter.
  CHECK(host.retries <= 5);
  CHECK(b.size() == 998);
}

TEST_CASE("blocking: waiters that do not block the same op are all tried; wake tries one") {
  FakeHost host;
  Blocking b(host);
  Thing q("q");
  WaitKey room{&q, Awaited::room};
  std::uint64_t serve = 3;
  host.decide = [&](Waiter& w, bool) -> Reply {
    if (w.request_id == serve) return Value(true);
    return Reply::park({room}, false);
  };
  for (std::uint64_t id = 1; id <= 4; ++id)
    b.park(call(q, 1, id), {room});
  b.signal(room);
  b.process();
  REQUIRE(host.answers.size() == 1);
  CHECK(host.answers[0].request_id == 3);
  serve = 4;
  WaiterId fourth = 0;
  b.for_each_on(room, [&](Waiter& w) {
    if (w.request_id == 4) fourth = w.id;
    return true;
  });
  REQUIRE(fourth != 0);
  host.retries = 0;
  b.wake(fourth);
  b.process();
  CHECK(host.answers.size() == 2);
  CHECK(host.answers[1].request_id == 4);
}

TEST_CASE("blocking: a retry may move a waiter to another object's key") {
  FakeHost host;
  Blocking b(host);
  Thing cond("cond"), lock("lock");
  WaitKey notified{&cond, Awaited::notified}, free{&lock, Awaited::free};
  bool lock_free = false;
  host.decide = [&](Waiter&, bool) -> Reply {
    if (lock_free) return Value(true);
    return Reply::park({free});
  };
  WaiterId id = b.park(call(cond, 1, 1), {notified});
  b.wake(id);
  b.process();
  CHECK(host.answers.empty());
  REQUIRE(b.find(id) != nullptr);
  CHECK(b.find(id)->keys == std::vector<WaitKey>{free});
  lock_free = true;
  b.signal_object(lock);  // e.g. the lock's holder's session ended
  b.process();
  REQUIRE(host.answers.size() == 1);
  CHECK(b.size() == 0);
}

TEST_CASE("blocking: deadlines expire earliest first; a timed-out retry may keep waiting") {
  FakeHost host;
  Blocking b(host);
  Thing q("q");
  WaitKey items{&q, Awaited::items};
  auto t0 = Clock::now();
  bool keep_parked = false;
  host.decide = [&](Waiter&, bool timed_out) -> Reply {
    if (!timed_out) return Reply::park({items});
    if (keep_parked) return Reply::park({items});
    return Err{"Empty", "queue is empty"};
  };
  b.park(call(q, 1, 2, t0 + std::chrono::seconds(2)), {items});
  b.park(call(q, 1, 1, t0 + std::chrono::seconds(1)), {items});
  b.park(call(q, 1, 3), {items});
  CHECK(b.next_deadline() == t0 + std::chrono::seconds(1));
  b.expire(t0 + std::chrono::milliseconds(1500));
  REQUIRE(host.answers.size() == 1);
  CHECK(host.answers[0].request_id == 1);
  CHECK(host.answers[0].what == "Empty");
  CHECK(host.unserved_calls.size() == 1);
  keep_parked = true;
  b.expire(t0 + std::chrono::seconds(3));
  CHECK(host.answers.size() == 1);
  CHECK(b.size() == 2);
  // Kept waiting with no deadline: the loop must not wake for it again (no spinning).
  CHECK(b.next_deadline() == Clock::time_point::max());
}

TEST_CASE("blocking: cancel ends every parked call of a session under a reused client id") {
  FakeHost host;
  Blocking b(host);
  Thing q("q");
  WaitKey items{&q, Awaited::items};
  host.decide = [&](Waiter&, bool) -> Reply { return Reply::park({items}); };
  b.park(call(q, 1, 7), {items});
  b.park(call(q, 1, 7), {items});
  b.park(call(q, 2, 7), {items});  // another session's id 7 is another call
  CHECK(b.cancel(1, 7) == 2);
  CHECK(b.cancel(1, 7) == 0);
  REQUIRE(host.answers.size() == 2);
  CHECK(host.answers[0].what == "CancelledError");
  CHECK(host.answers[1].what == "CancelledError");
  CHECK(host.unserved_calls.size() == 2);
  CHECK(b.size() == 1);
}

TEST_CASE("blocking: end_session ends its calls without a reply, whatever ids it used") {
  FakeHost host;
  Blocking b(host);
  Thing q("q");
  WaitKey items{&q, Awaited::items};
  host.decide = [&](Waiter&, bool) -> Reply { return Reply::park({items}); };
  auto soon = Clock::now() + std::chrono::seconds(1);
  b.park(call(q, 1, 7, soon), {items});
  b.park(call(q, 1, 7, soon), {items});
  b.park(call(q, 2, 8), {items});
  b.end_session(1);
  CHECK(host.answers.empty());
  CHECK(host.unserved_calls.size() == 2);
  CHECK(b.size() == 1);
  CHECK(b.next_deadline() == Clock::time_point::max());
  b.end_session(1);  // nothing left: nothing happens
  CHECK(host.unserved_calls.size() == 2);
}

TEST_CASE(
    "blocking: freeing an object ends the calls on it and on its keys, and forgets its "
    "signals") {
  FakeHost host;
  Blocking b(host);
  Thing cond("cond"), lock("lock"), other("other");
  host.decide = [&](Waiter&, bool) -> Reply { return Value(true); };
  auto soon = Clock::now() + std::chrono::seconds(1);
  b.park(call(lock, 1, 1, soon), {{&lock, Awaited::free}});
  b.park(call(cond, 1, 2), {{&lock, Awaited::free}});  // a Condition's re-acquire
  b.park(call(other, 1, 3), {{&other, Awaited::items}});
  b.signal({&lock, Awaited::free});
  b.object_gone(lock, Outcome::object_freed);
  REQUIRE(host.answers.size() == 2);
  CHECK(host.answers[0].what == "NameError");
  CHECK(host.answers[1].what == "NameError");
  CHECK(host.unserved_calls.empty());
  b.process();  // the forgotten signal tries nothing
  CHECK(host.retries == 0);
  CHECK(b.size() == 1);
  CHECK(b.next_deadline() == Clock::time_point::max());
  b.object_gone(other, Outcome::object_removed);
  CHECK(host.answers.size() == 3);
  CHECK(b.size() == 0);
}
