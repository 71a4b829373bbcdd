// Pure operations of Semaphore, BoundedSemaphore, Event, Barrier, Value and Array, against the
// semantics of Python's threading and multiprocessing objects.
#include <doctest/doctest.h>

#include <cstdint>
#include <limits>
#include <vector>

#include "protocol/message.hpp"
#include "server/types/barrier.hpp"
#include "server/types/event.hpp"
#include "server/types/semaphore.hpp"
#include "server/types/value.hpp"

using namespace syncmgr;
using namespace syncmgr::server;
namespace err = syncmgr::protocol::err;

namespace {

// Checks that an op failed with the given kind.
#define CHECK_KIND(expr, kind_)        \
  do {                                 \
    auto r_ = (expr);                  \
    REQUIRE_FALSE(r_.ok());            \
    CHECK(r_.error().kind == (kind_)); \
  } while (0)

constexpr std::uint64_t kA = 1;  // sessions
constexpr std::uint64_t kB = 2;
constexpr std::uint64_t kC = 3;

SemaphoreState semaphore(bool bounded, std::int64_t initial) {
  auto s = semaphore_ops::make(bounded, initial);
  REQUIRE(s.ok());
  return s.value();
}

BarrierState barrier(std::int64_t parties, bool action = false) {
  auto b = barrier_ops::make(parties, std::nullopt, action);
  REQUIRE(b.ok());
  return b.value();
}

// One party that entered a cycle; `ticket` is what its parked call keeps in its state.
BarrierTicket enter(BarrierState& b, std::uint64_t session) {
  auto a = barrier_ops::arrive(b, session);
  REQUIRE(a.ok());
  REQUIRE(a.value().entered);
  return a.value().ticket;
}

}  // namespace

TEST_CASE("semaphore: counts down to zero, then would block; release counts up") {
  auto s = semaphore(false, 2);
  CHECK(semaphore_ops::try_acquire(s, kA));
  CHECK(semaphore_ops::try_acquire(s, kB));
  CHECK(s.value == 0);
  CHECK_FALSE(semaphore_ops::try_acquire(s, kA));
  CHECK(semaphore_ops::release(s, kA, 1).ok());
  CHECK(s.value == 1);
  // A plain Semaphore may go above its initial value (Python allows it).
  CHECK(semaphore_ops::release(s, kC, 5).ok());
  CHECK(s.value == 6);
}

TEST_CASE("semaphore: initial value and release count are validated") {
  CHECK_KIND(semaphore_ops::make(false, -1), err::value);
  auto zero = semaphore(false, 0);
  CHECK_FALSE(semaphore_ops::try_acquire(zero, kA));
  CHECK_KIND(semaphore_ops::release(zero, kA, 0), err::value);
  CHECK_KIND(semaphore_ops::release(zero, kA, -3), err::value);
  auto big = semaphore(false, std::numeric_limits<std::int64_t>::max());
  CHECK_KIND(semaphore_ops::release(big, kA, 1), err::value);  // no silent wrap-around
}

TEST_CASE("boundedsemaphore: releasing above the initial value is a ValueError") {
  auto s = semaphore(true, 2);
  auto r = semaphore_ops::release(s, kA, 1);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == err::value);
  CHECK(r.error().message == "Semaphore released too many times");
  CHECK(s.value == 2);
  REQUIRE(semaphore_ops::try_acquire(s, kA));
  REQUIRE(semaphore_ops::try_acquire(s, kA));
  CHECK_KIND(semaphore_ops::release(s, kA, 3), err::value);  // 0 + 3 > 2: nothing released
  CHECK(s.value == 0);
  CHECK(semaphore_ops::release(s, kA, 2).ok());
  CHECK(s.value == 2);
}

TEST_CASE("semaphore: shared permits have no owner, so a session's end returns none") {
  // The signal pattern: A releases, B acquires and ends. Python's value stays 0.
  auto s = semaphore(false, 0);
  CHECK(semaphore_ops::release(s, kA, 5).ok());
  for (int i = 0; i < 5; ++i)
    REQUIRE(semaphore_ops::try_acquire(s, kB));
  CHECK(semaphore_ops::release_session(s, kB) == 0);
  CHECK(semaphore_ops::release_session(s, kA) == 0);
  CHECK(s.value == 0);
  CHECK(s.held.empty());
}

SemaphoreState owned_semaphore(bool bounded, std::int64_t initial) {
  auto s = semaphore_ops::make(bounded, initial, true);
  REQUIRE(s.ok());
  return s.value();
}

TEST_CASE("semaphore: owned permits a session holds return when it ends") {
  auto s = owned_semaphore(false, 3);
  REQUIRE(semaphore_ops::try_acquire(s, kA));
  REQUIRE(semaphore_ops::try_acquire(s, kA));
  REQUIRE(semaphore_ops::try_acquire(s, kB));
  CHECK(s.value == 0);
  CHECK(semaphore_ops::release_session(s, kA) == 2);
  CHECK(s.value == 2);
  CHECK(semaphore_ops::release_session(s, kA) == 0);  // only once
  // Only a holder releases, and no more than it holds: nothing changes otherwise.
  auto other = semaphore_ops::release(s, kC, 1);
  REQUIRE_FALSE(other.ok());
  CHECK(other.error().kind == err::runtime);
  CHECK_KIND(semaphore_ops::release(s, kB, 2), err::runtime);
  CHECK(s.value == 2);
  CHECK(semaphore_ops::release(s, kB, 1).ok());
  CHECK(semaphore_ops::release_session(s, kB) == 0);
  CHECK(s.value == 3);  // value + held == initial throughout
}

TEST_CASE("boundedsemaphore: owned permits never take it above its initial value") {
  auto s = owned_semaphore(true, 2);
  REQUIRE(semaphore_ops::try_acquire(s, kA));
  REQUIRE(semaphore_ops::try_acquire(s, kA));
  CHECK_KIND(semaphore_ops::release(s, kB, 2), err::runtime);  // not B's to release
  CHECK(s.value == 0);
  CHECK(semaphore_ops::release(s, kA, 1).ok());
  CHECK(semaphore_ops::release_session(s, kA) == 1);
  CHECK(s.value == 2);
  CHECK_KIND(semaphore_ops::release(s, kA, 1), err::runtime);
  CHECK(s.value == 2);
}

TEST_CASE("event: set, clear, is_set, and waits woken by a set that was cleared at once") {
  EventState e;
  CHECK_FALSE(event_ops::is_set(e));
  std::uint64_t seen = e.sets;  // a wait parks here
  CHECK_FALSE(event_ops::wait_done(e, seen));
  event_ops::set(e);
  CHECK(event_ops::is_set(e));
  event_ops::clear(e);
  CHECK_FALSE(event_ops::is_set(e));
  CHECK(event_ops::wait_done(e, seen));          // the parked wait returns true
  CHECK_FALSE(event_ops::wait_done(e, e.sets));  // a new wait parks again
  event_ops::set(e);
  event_ops::set(e);  // setting twice is harmless
  CHECK(event_ops::wait_done(e, e.sets));
}

TEST_CASE("barrier: arrival indices over several cycles") {
  auto b = barrier(3);
  for (int cycle = 0; cycle < 4; ++cycle) {
    auto t0 = enter(b, kA);
    auto t1 = enter(b, kB);
    CHECK(t0.index == 0);
    CHECK(t1.index == 1);
    CHECK(barrier_ops::n_waiting(b) == 2);
    CHECK(barrier_ops::check(b, t0) == barrier_ops::Outcome::waiting);
    auto last = barrier_ops::arrive(b, kC);
    REQUIRE(last.ok());
    CHECK(last.value().last);
    CHECK_FALSE(last.value().run_action);
    CHECK(last.value().ticket.index == 2);
    CHECK(barrier_ops::check(b, t0) == barrier_ops::Outcome::released);
    CHECK(barrier_ops::check(b, t1) == barrier_ops::Outcome::released);
    CHECK(barrier_ops::n_waiting(b) == 0);
    CHECK(b.generation == static_cast<std::uint64_t>(cycle + 1));
  }
  auto one = barrier(1);  // a single party never waits
  auto a = barrier_ops::arrive(one, kA);
  REQUIRE(a.ok());
  CHECK(a.value().last);
  CHECK(a.value().ticket.index == 0);
}

TEST_CASE("barrier: parameters are validated") {
  CHECK_KIND(barrier_ops::make(0, std::nullopt, false), err::value);
  CHECK_KIND(barrier_ops::make(2, -1.0, false), err::value);
  CHECK(barrier_ops::make(2, 0.5, true).ok());
}

TEST_CASE("barrier: a timeout or abort breaks it for every party until reset") {
  auto b = barrier(3);
  auto t0 = enter(b, kA);
  auto t1 = enter(b, kB);
  barrier_ops::break_barrier(b, "a party timed out");  // what t1's timeout does
  CHECK(b.broken);
  CHECK(barrier_ops::check(b, t0) == barrier_ops::Outcome::broken);
  CHECK(barrier_ops::check(b, t1) == barrier_ops::Outcome::broken);
  auto e = barrier_ops::failure(b, barrier_ops::Outcome::broken);
  CHECK(e.kind == err::broken_barrier);
  CHECK(e.message == "the barrier is broken (a party timed out)");
  CHECK_KIND(barrier_ops::arrive(b, kC), err::broken_barrier);  // fails at once while broken
  CHECK(barrier_ops::n_waiting(b) == 0);
  barrier_ops::reset(b);
  CHECK_FALSE(b.broken);
  CHECK(enter(b, kA).index == 0);

  auto c = barrier(2);
  auto w = enter(c, kA);
  barrier_ops::break_barrier(c, "aborted");
  CHECK(barrier_ops::check(c, w) == barrier_ops::Outcome::broken);
  CHECK(barrier_ops::failure(c, barrier_ops::Outcome::broken).message ==
        "the barrier is broken (aborted)");
}

TEST_CASE("barrier: reset fails parked parties and leaves a fresh barrier") {
  auto b = barrier(3);
  auto t0 = enter(b, kA);
  auto t1 = enter(b, kB);
  barrier_ops::reset(b);
  CHECK(barrier_ops::check(b, t0) == barrier_ops::Outcome::reset);
  CHECK(barrier_ops::check(b, t1) == barrier_ops::Outcome::reset);
  CHECK(barrier_ops::failure(b, barrier_ops::Outcome::reset).kind == err::broken_barrier);
  CHECK_FALSE(b.broken);
  CHECK(barrier_ops::n_waiting(b) == 0);
  // A full cycle works again, indices from 0.
  auto u0 = enter(b, kA);
  auto u1 = enter(b, kB);
  CHECK(u0.index == 0);
  CHECK(u1.index == 1);
  auto last = barrier_ops::arrive(b, kC);
  REQUIRE(last.ok());
  CHECK(last.value().last);
  CHECK(barrier_ops::check(b, u0) == barrier_ops::Outcome::released);
  CHECK(barrier_ops::check(b, t0) == barrier_ops::Outcome::reset);  // old epoch stays failed
}

TEST_CASE("barrier: the action keeps the cycle pending until action_done") {
  auto b = barrier(2, true);
  auto t0 = enter(b, kA);
  auto last = barrier_ops::arrive(b, kB);
  REQUIRE(last.ok());
  CHECK(last.value().last);
  CHECK(last.value().run_action);
  CHECK(last.value().ticket.index == 1);
  CHECK(barrier_ops::check(b, t0) == barrier_ops::Outcome::waiting);
  CHECK(barrier_ops::awaiting_action(b, t0));  // a timeout does not break it now
  CHECK(barrier_ops::n_waiting(b) == 1);
  // Arrivals meanwhile wait to enter the next cycle.
  auto early = barrier_ops::arrive(b, kC);
  REQUIRE(early.ok());
  CHECK_FALSE(early.value().entered);
  // Only the runner reports.
  CHECK_KIND(barrier_ops::action_done(b, kA, true), err::runtime);
  REQUIRE(barrier_ops::action_done(b, kB, true).ok());
  CHECK(barrier_ops::check(b, t0) == barrier_ops::Outcome::released);
  CHECK_KIND(barrier_ops::action_done(b, kB, true), err::runtime);  // nothing pending now
  CHECK(enter(b, kC).index == 0);                                   // the early one enters now
}

TEST_CASE("barrier: a failed action, or its session ending, breaks the barrier") {
  auto b = barrier(2, true);
  auto t0 = enter(b, kA);
  REQUIRE(barrier_ops::arrive(b, kB).ok());
  REQUIRE(barrier_ops::action_done(b, kB, false).ok());
  CHECK(b.broken);
  CHECK(barrier_ops::check(b, t0) == barrier_ops::Outcome::broken);

  auto c = barrier(2, true);
  auto u0 = enter(c, kA);
  REQUIRE(barrier_ops::arrive(c, kB).ok());
  CHECK_FALSE(barrier_ops::session_ended(c, kC));  // not involved
  CHECK(barrier_ops::session_ended(c, kB));
  CHECK(c.broken);
  CHECK(barrier_ops::check(c, u0) == barrier_ops::Outcome::broken);

  // An abort while the action runs: its runner's action_done learns the barrier broke.
  auto d = barrier(2, true);
  enter(d, kA);
  REQUIRE(barrier_ops::arrive(d, kB).ok());
  barrier_ops::break_barrier(d, "aborted");
  CHECK_KIND(barrier_ops::action_done(d, kB, true), err::broken_barrier);
  CHECK_KIND(barrier_ops::action_done(d, kB, true), err::runtime);
}

TEST_CASE("barrier: a parked party going away breaks it; other parked calls do not") {
  auto b = barrier(3);
  auto t0 = enter(b, kA);
  CHECK_FALSE(barrier_ops::party_gone(b, kB));  // kB has no party in this cycle
  CHECK_FALSE(b.broken);
  CHECK(barrier_ops::party_gone(b, kA));
  CHECK(b.broken);
  CHECK(barrier_ops::check(b, t0) == barrier_ops::Outcome::broken);
  CHECK_FALSE(barrier_ops::party_gone(b, kA));  // already broken: once
}

TEST_CASE("value: add follows table_ops::increment's numeric rules") {
  Value v;  // nil counts as 0
  CHECK(value_ops::add(v, Value(5)).value() == Value(5));
  CHECK(v.kind() == Value::Kind::integer);
  CHECK(value_ops::add(v, Value(-7)).value() == Value(-2));
  CHECK(value_ops::add(v, Value(0.5)).value() == Value(-1.5));
  CHECK(v.kind() == Value::Kind::floating);
  Value big(std::numeric_limits<std::int64_t>::max());
  CHECK(value_ops::add(big, Value(1)).value() ==
        Value(static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) + 1));
  Value top(std::numeric_limits<std::uint64_t>::max());
  CHECK_KIND(value_ops::add(top, Value(1)), err::value);
  CHECK(top == Value(std::numeric_limits<std::uint64_t>::max()));  // unchanged
  Value low(std::numeric_limits<std::int64_t>::min());
  CHECK_KIND(value_ops::add(low, Value(-1)), err::value);
  CHECK(value_ops::add(top, Value(-1)).value() ==
        Value(std::numeric_limits<std::uint64_t>::max() - 1));
  Value s("x");
  CHECK_KIND(value_ops::add(s, Value(1)), err::type);
  Value n(1);
  CHECK_KIND(value_ops::add(n, Value("1")), err::type);
  CHECK_KIND(value_ops::add(n, Value(true)), err::type);
  CHECK(n == Value(1));
  // The caller's limits: refused results leave the value as it was.
  Value x(2.5);
  CHECK_KIND(value_ops::add(x, Value(1), Value(List{Value(0), Value(10)})), err::type);
  CHECK(x == Value(2.5));
  Value y(10);
  CHECK_KIND(value_ops::add(y, Value(1), Value(List{Value(0), Value(10)})), err::value);
  CHECK(y == Value(10));
}

TEST_CASE("value: compare_and_set uses Python equality") {
  Value v(1);
  CHECK(value_ops::compare_and_set(v, Value(1.0), Value("a")).value() == Value(true));  // 1 == 1.0
  CHECK(v == Value("a"));
  CHECK(value_ops::compare_and_set(v, Value("b"), Value("c")).value() == Value(false));
  CHECK(v == Value("a"));
  Value nil;
  CHECK(value_ops::compare_and_set(nil, Value(), Value(0)).value() == Value(true));
  CHECK(nil == Value(0));
}

TEST_CASE("array: indices, bounds and length") {
  array_ops::Items a{Value(10), Value(20), Value(30)};
  CHECK(array_ops::len(a).value() == Value(3));
  CHECK(array_ops::get(a, 0).value() == Value(10));
  CHECK(array_ops::get(a, -1).value() == Value(30));
  CHECK(array_ops::get(a, -3).value() == Value(10));
  auto r = array_ops::get(a, 3);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == err::index);
  CHECK(r.error().message == "array index out of range");
  CHECK_KIND(array_ops::get(a, -4), err::index);
  CHECK(array_ops::set(a, -2, Value("x")).ok());
  CHECK(a[1] == Value("x"));
  CHECK_KIND(array_ops::set(a, 3, Value(0)), err::index);
  array_ops::Items empty;
  CHECK_KIND(array_ops::get(empty, 0), err::index);
}

TEST_CASE("array: slices read as Python's and must keep the length when assigned") {
  array_ops::Items a;
  for (int i = 0; i < 6; ++i)
    a.emplace_back(i);
  CHECK(array_ops::get_slice(a, 1, 4, {}).value() == Value(List{1, 2, 3}));
  CHECK(array_ops::get_slice(a, {}, {}, -2).value() == Value(List{5, 3, 1}));
  CHECK_KIND(array_ops::get_slice(a, {}, {}, 0), err::value);

  CHECK(array_ops::set_slice(a, 1, 3, {}, Value(List{"a", "b"})).ok());
  CHECK(Value(List(a)) == Value(List{0, "a", "b", 3, 4, 5}));
  CHECK(array_ops::set_slice(a, {}, {}, -2, Value(List{50, 30, 10})).ok());
  CHECK(Value(List(a)) == Value(List{0, 10, "b", 30, 4, 50}));
  CHECK(array_ops::set_slice(a, 4, 2, {}, Value(List{})).ok());  // an empty selection
  // Anything that would change the length is refused, and nothing changes.
  const array_ops::Items before = a;
  CHECK_KIND(array_ops::set_slice(a, 1, 3, {}, Value(List{1})), err::value);
  CHECK_KIND(array_ops::set_slice(a, 1, 3, {}, Value(List{1, 2, 3})), err::value);
  CHECK_KIND(array_ops::set_slice(a, 4, 2, {}, Value(List{1})), err::value);  // no inserting
  CHECK_KIND(array_ops::set_slice(a, {}, {}, 2, Value(List{1, 2})), err::value);
  CHECK_KIND(array_ops::set_slice(a, {}, {}, 0, Value(List{})), err::value);
  CHECK_KIND(array_ops::set_slice(a, 0, 1, {}, Value(7)), err::type);
  CHECK(a == before);
  CHECK(array_ops::set_slice(a, -100, 100, {}, Value(List{0, 0, 0, 0, 0, 0})).ok());
  CHECK(a.size() == 6);
}
