// barrier: wait (blocking, with timeout; nil means the barrier's default) -> [index, run_action],
// action_done, abort, reset, parties, n_waiting, broken. Python's threading.Barrier rules; a party
// timing out, cancelled or whose session ends breaks the barrier, as does its action's session
// ending. With an action, the last arriver runs it client-side and reports with action_done.
#include "server/types/barrier.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <memory>

#include "protocol/message.hpp"
#include "server/commands.hpp"
#include "server/log.hpp"
#include "server/sessions.hpp"

namespace syncmgr::server {

namespace err = protocol::err;

namespace barrier_ops {
namespace {

// The cycle is over for everyone in it: the next arrival starts a new one.
void complete(BarrierState& b) {
  ++b.generation;
  b.count = 0;
  b.waiting.clear();
}

// Ends a pending action without its outcome; its runner's action_done will be told.
void orphan_action(BarrierState& b) {
  if (!b.action_pending) return;
  b.action_pending = false;
  b.orphaned_action = b.action_session;
}

}  // namespace

OpResult<BarrierState> make(std::int64_t parties, std::optional<double> timeout, bool action) {
  if (parties < 1) return Err{err::value, "parties must be at least 1"};
  if (timeout && !(*timeout >= 0)) return Err{err::value, "barrier timeout must be non-negative"};
  BarrierState b;
  b.parties = parties;
  b.timeout = timeout;
  b.action = action;
  return b;
}

OpResult<Arrival> arrive(BarrierState& b, std::uint64_t session) {
  if (b.broken) return failure(b, Outcome::broken);
  Arrival a;
  if (b.action_pending) return a;
  a.entered = true;
  a.ticket = BarrierTicket{b.epoch, b.generation, b.count};
  if (++b.count < b.parties) {
    ++b.waiting[session];
    return a;
  }
  a.last = true;
  if (b.action) {
    a.run_action = true;
    b.action_pending = true;
    b.action_session = session;
  } else {
    complete(b);
  }
  return a;
}

Outcome check(const BarrierState& b, const BarrierTicket& t) {
  // Parked parties are retried after every change, so at most one of these moved since they parked.
  if (t.epoch != b.epoch) return Outcome::reset;
  if (t.generation != b.generation) return Outcome::released;
  if (b.broken) return Outcome::broken;
  return Outcome::waiting;
}

bool awaiting_action(const BarrierState& b, const BarrierTicket& t) {
  return b.action_pending && check(b, t) == Outcome::waiting;
}

void break_barrier(BarrierState& b, std::string why) {
  if (b.broken) return;
  orphan_action(b);
  b.broken = true;
  b.broken_why = std::move(why);
  b.count = 0;
  b.waiting.clear();
}

void reset(BarrierState& b) {
  orphan_action(b);
  ++b.epoch;
  b.broken = false;
  b.broken_why.clear();
  b.count = 0;
  b.waiting.clear();
}

OpResult<Unit> action_done(BarrierState& b, std::uint64_t session, bool ok) {
  if (!b.action_pending || b.action_session != session) {
    if (b.orphaned_action == session) {
      b.orphaned_action.reset();
      return Err{err::broken_barrier, "the barrier was broken or reset while its action ran"};
    }
    return Err{err::runtime, "no barrier action is pending for this session"};
  }
  b.action_pending = false;
  if (ok)
    complete(b);
  else
    break_barrier(b, "its action failed");
  return Unit{};
}

std::int64_t n_waiting(const BarrierState& b) {
  if (b.broken) return 0;
  return b.action_pending ? b.count - 1 : b.count;  // the action's runner is not waiting
}

bool party_gone(BarrierState& b, std::uint64_t session) {
  if (b.broken || b.waiting.count(session) == 0) return false;
  break_barrier(b, "a party's call was cancelled or its session ended");
  return true;
}

bool session_ended(BarrierState& b, std::uint64_t session) {
  if (b.orphaned_action == session) b.orphaned_action.reset();
  if (b.action_pending && b.action_session == session) {
    break_barrier(b, "the session running its action ended");
    return true;
  }
  return party_gone(b, session);
}

Err failure(const BarrierState& b, Outcome o) {
  if (o == Outcome::reset) return Err{err::broken_barrier, "the barrier was reset"};
  std::string why = b.broken_why.empty() ? "" : " (" + b.broken_why + ")";
  return Err{err::broken_barrier, "the barrier is broken" + why};
}

}  // namespace barrier_ops

// Parties, who waits in this cycle (by session), and why it broke: what a hung wait() waits for.
void BarrierObject::describe(Map& out, const Inspector& in) const {
  out.emplace_back("parties", state.parties);
  out.emplace_back("waiting", barrier_ops::n_waiting(state));
  out.emplace_back("broken", state.broken);
  if (state.broken) out.emplace_back("broken_why", state.broken_why);
  out.emplace_back("timeout", state.timeout ? Value(*state.timeout) : Value());
  out.emplace_back("cycles", state.generation);
  out.emplace_back("action_pending", state.action_pending);
  List parties;
  for (const auto& [session, n] : state.waiting) {
    Map p = in.session(session).as_map();
    p.emplace_back("parties", n);
    parties.emplace_back(std::move(p));
  }
  out.emplace_back("waiting_sessions", std::move(parties));
}

std::vector<std::string> BarrierObject::release_session(std::uint64_t session) {
  if (!barrier_ops::session_ended(state, session)) return {};
  return {"broke barrier '" + name + "': " + state.broken_why};
}

void BarrierObject::waiter_gone(std::uint64_t session) {
  if (barrier_ops::party_gone(state, session))
    SYNCMGR_LOG(info, "broke barrier '%s': %s", name.c_str(), state.broken_why.c_str());
}

namespace {

using barrier_ops::Outcome;

BarrierObject& barrier(Ctx& c) {
  return static_cast<BarrierObject&>(*c.object);
}

OpResult<std::unique_ptr<Object>> make_barrier(const Value& params) {
  if (params.kind() != Value::Kind::map)
    return Err{err::type, "Barrier requires parameters: a map with 'parties'"};
  std::optional<std::int64_t> parties;
  std::optional<double> timeout;
  bool action = false;
  for (const auto& [k, v] : params.as_map()) {
    if (k == Value("parties")) {
      auto n = int_arg(v, "barrier parties");
      if (!n.ok()) return n.error();
      parties = n.value();
    } else if (k == Value("timeout")) {
      if (v.is_nil()) continue;
      if (!v.is_number() || v.kind() == Value::Kind::boolean)
        return arg_type_error("barrier timeout", v, "a number of seconds or nil");
      timeout = v.as_double();
    } else if (k == Value("action")) {
      if (v.is_nil()) continue;
      if (v.kind() != Value::Kind::boolean) return arg_type_error("barrier action", v, "a bool");
      action = v.as_bool();
    } else {
      return Err{err::type, "barrier got an unexpected parameter " + k.repr(Value::kShortRepr)};
    }
  }
  if (!parties) return Err{err::type, "Barrier requires 'parties'"};
  auto b = barrier_ops::make(*parties, timeout, action);
  if (!b.ok()) return b.error();
  return std::unique_ptr<Object>(std::make_unique<BarrierObject>(std::move(b.value())));
}

// A party's ticket in its call's state: [epoch, generation, index]. Before it enters a cycle the
// state is nil, or true once its deadline passed while it waited to enter.
Value ticket_value(const BarrierTicket& t) {
  return Value(List{t.epoch, t.generation, t.index});
}
BarrierTicket ticket_of(const Value& v) {
  const List& a = v.as_list();
  return BarrierTicket{a[0].as_uint(), a[1].as_uint(), a[2].as_int()};
}

Reply answer(std::int64_t index, bool run_action) {
  return Value(List{index, run_action});
}

// barrier.wait block timeout -> [index, run_action] | BrokenBarrierError
// (block=false, or a timeout, before the cycle completes breaks the barrier, as a timeout does)
Reply wait(Ctx& c) {
  BarrierObject& obj = barrier(c);
  BarrierState& b = obj.state;
  if (c.state.kind() != Value::Kind::array) {
    // Not a party yet: the first run, or waiting for the previous cycle's action to end.
    if (c.args.back().is_nil() && b.timeout && c.deadline == Clock::time_point::max()) {
      double secs = std::min(*b.timeout, 1e9);
      c.deadline = Clock::now() +
                   std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(secs));
    }
    bool out_of_time = c.state.kind() == Value::Kind::boolean || !c.may_wait;
    auto a = barrier_ops::arrive(b, c.session.id);
    if (!a.ok()) return a.error();
    if (!a.value().entered) {
      // No timeout fires while an action runs (Python runs it holding the barrier's lock); a call
      // whose time ran out meanwhile enters with none left.
      if (c.timed_out) c.state = Value(true);
      if (c.may_wait || c.timed_out) return Reply::park({{c.object, Awaited::change}}, false);
      return Err{err::broken_barrier,
                 "barrier.wait would block: the previous cycle's action is still running"};
    }
    const barrier_ops::Arrival& arr = a.value();
    c.state = ticket_value(arr.ticket);
    if (arr.run_action) c.session.holdings.insert(obj.name);
    if (arr.last) return answer(arr.ticket.index, arr.run_action);
    if (out_of_time) {
      barrier_ops::break_barrier(b, "a party timed out");
      return barrier_ops::failure(b, Outcome::broken);
    }
    // Parties of one wait op wait for different things (entry, release), so later ones still run.
    return Reply::park({{c.object, Awaited::change}}, false);
  }
  BarrierTicket t = ticket_of(c.state);
  Outcome o = barrier_ops::check(b, t);
  if (o == Outcome::released) return answer(t.index, false);
  if (o != Outcome::waiting) return barrier_ops::failure(b, o);
  if (c.may_wait || barrier_ops::awaiting_action(b, t))
    return Reply::park({{c.object, Awaited::change}}, false);
  barrier_ops::break_barrier(b, "a party timed out");
  return barrier_ops::failure(b, Outcome::broken);
}

// barrier.action_done ok(bool) -> nil | RuntimeError (no action pending) | BrokenBarrierError
Reply action_done(Ctx& c) {
  const Value& ok = c.args[0];
  if (ok.kind() != Value::Kind::boolean)
    return arg_type_error("barrier.action_done ok", ok, "a bool");
  return barrier_ops::action_done(barrier(c).state, c.session.id, ok.as_bool());
}

// barrier.abort
Reply abort(Ctx& c) {
  barrier_ops::break_barrier(barrier(c).state, "aborted");
  return Value();
}

// barrier.reset
Reply reset(Ctx& c) {
  barrier_ops::reset(barrier(c).state);
  return Value();
}

// barrier.parties -> int
Reply parties(Ctx& c) {
  return Value(barrier(c).state.parties);
}

// barrier.n_waiting -> int
Reply n_waiting(Ctx& c) {
  return Value(barrier_ops::n_waiting(barrier(c).state));
}

// barrier.broken -> bool
Reply broken(Ctx& c) {
  return Value(barrier(c).state.broken);
}

}  // namespace

void register_barrier_commands(CommandTable& t) {
  using F = CommandFlags;
  t.add_type("barrier", make_barrier);
  t.add("barrier.wait", 2, 2, F::blocking | F::mutating, wait);
  t.add("barrier.action_done", 1, 1, F::mutating, action_done);
  t.add("barrier.abort", 0, 0, F::mutating, abort);
  t.add("barrier.reset", 0, 0, F::mutating, reset);
  t.add("barrier.parties", 0, 0, F::none, parties);
  t.add("barrier.n_waiting", 0, 0, F::none, n_waiting);
  t.add("barrier.broken", 0, 0, F::none, broken);
}

}  // namespace syncmgr::server
