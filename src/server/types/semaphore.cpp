// semaphore and boundedsemaphore: acquire (blocking, with timeout) -> bool, release n, get_value.
// Acquirers wait in arrival order. Permits have no owner (Python's semantics) unless the semaphore
// was created owned (pool-style: a session's end returns the permits it holds; see semaphore.hpp).
// A bounded semaphore never goes above its initial value (ValueError, as Python's
// BoundedSemaphore).
#include "server/types/semaphore.hpp"

#include <algorithm>

#include "protocol/message.hpp"
#include "server/blocking.hpp"
#include "server/commands.hpp"
#include "server/sessions.hpp"

namespace syncmgr::server {

namespace err = protocol::err;

namespace semaphore_ops {

OpResult<SemaphoreState> make(bool bounded, std::int64_t initial, bool owned) {
  if (initial < 0) return Err{err::value, "semaphore initial value must be >= 0"};
  SemaphoreState s;
  s.bounded = bounded;
  s.owned = owned;
  s.initial = initial;
  s.value = initial;
  return s;
}

bool try_acquire(SemaphoreState& s, std::uint64_t session) {
  if (s.value == 0) return false;
  --s.value;
  if (s.owned) ++s.held[session];
  return true;
}

OpResult<Unit> release(SemaphoreState& s, std::uint64_t session, std::int64_t n) {
  if (n < 1) return Err{err::value, "n must be one or more"};
  auto it = s.held.find(session);
  if (s.owned) {
    // A release by anyone else would let the holder's later exit return the same permit twice.
    std::int64_t holds = it == s.held.end() ? 0 : it->second;
    if (holds < n)
      return Err{err::runtime, "cannot release " + std::to_string(n) + " permit" +
                                   (n == 1 ? "" : "s") + ": this session holds " +
                                   std::to_string(holds) +
                                   " (an owned semaphore's permits are released by their holder)"};
  }
  std::int64_t next = 0;
  if (__builtin_add_overflow(s.value, n, &next))
    return Err{err::value, "semaphore value would overflow"};
  if (s.bounded && next > s.initial) return Err{err::value, "Semaphore released too many times"};
  s.value = next;
  if (s.owned && (it->second -= n) == 0) s.held.erase(it);
  return Unit{};
}

std::int64_t release_session(SemaphoreState& s, std::uint64_t session) {
  auto it = s.held.find(session);
  if (it == s.held.end()) return 0;
  std::int64_t n = it->second;
  s.held.erase(it);
  // Owned permits keep value + held == initial, so this never clips; it guards the bound anyway.
  std::int64_t room = (s.bounded ? s.initial : INT64_MAX) - s.value;
  n = std::min(n, room);
  s.value += n;
  return n;
}

}  // namespace semaphore_ops

std::vector<std::string> SemaphoreObject::release_session(std::uint64_t session) {
  std::int64_t n = semaphore_ops::release_session(state, session);
  if (n == 0) return {};
  return {"returned " + std::to_string(n) + " permit" + (n == 1 ? "" : "s") + " of " +
          std::string(type()) + " '" + name + "'"};
}

// The permits free, waiting acquirers and, owned, who holds the others.
void SemaphoreObject::describe(Map& out, const Inspector& in) const {
  out.emplace_back("value", state.value);
  out.emplace_back("initial", state.initial);
  out.emplace_back("owned", state.owned);
  out.emplace_back("waiters", static_cast<std::uint64_t>(in.parked(*this, Awaited::permits)));
  if (!state.owned) return;
  List held;
  for (const auto& [session, n] : state.held) {
    Map h = in.session(session).as_map();
    h.emplace_back("permits", n);
    held.emplace_back(std::move(h));
  }
  out.emplace_back("held", std::move(held));
}

namespace {

SemaphoreObject& sem(Ctx& c) {
  return static_cast<SemaphoreObject&>(*c.object);
}

OpResult<std::unique_ptr<Object>> make(const Value& params, bool bounded) {
  std::int64_t initial = 1;
  bool owned = false;
  if (!params.is_nil()) {
    if (params.kind() != Value::Kind::map)
      return arg_type_error("semaphore parameters", params, "a map");
    for (const auto& [k, v] : params.as_map()) {
      if (k == Value("owned")) {
        if (v.kind() != Value::Kind::boolean) return arg_type_error("semaphore owned", v, "a bool");
        owned = v.as_bool();
        continue;
      }
      if (k != Value("value"))
        return Err{err::type, "semaphore got an unexpected parameter " + k.repr(Value::kShortRepr)};
      auto n = int_arg(v, "semaphore value");
      if (!n.ok()) return n.error();
      initial = n.value();
    }
  }
  auto s = semaphore_ops::make(bounded, initial, owned);
  if (!s.ok()) return s.error();
  return std::unique_ptr<Object>(std::make_unique<SemaphoreObject>(std::move(s.value())));
}
OpResult<std::unique_ptr<Object>> make_semaphore(const Value& p) {
  return make(p, false);
}
OpResult<std::unique_ptr<Object>> make_bounded(const Value& p) {
  return make(p, true);
}

// semaphore.acquire block timeout -> bool (false: would block, or timed out)
// boundedsemaphore.acquire block timeout -> bool
Reply acquire(Ctx& c) {
  SemaphoreObject& s = sem(c);
  // A release signals the parked acquirers before the next request is read, so a free permit here
  // means no one is waiting for it: a new acquirer never overtakes a parked one.
  if (semaphore_ops::try_acquire(s.state, c.session.id)) {
    // Only an owned permit is the session's: its end must return it.
    if (s.state.owned) c.session.holdings.insert(s.name);
    return Value(true);
  }
  if (!c.may_wait) return Value(false);
  return Reply::park({{c.object, Awaited::permits}});
}

// semaphore.release n -> nil | ValueError (n < 1) | RuntimeError (owned: more than this session
// holds) boundedsemaphore.release n -> nil | ValueError (n < 1, above the initial value) |
// RuntimeError
Reply release(Ctx& c) {
  auto n = int_arg(c.args[0], std::string(c.object->type()) + ".release n");
  if (!n.ok()) return n.error();
  return semaphore_ops::release(sem(c).state, c.session.id, n.value());
}

// semaphore.get_value -> int
// boundedsemaphore.get_value -> int
Reply get_value(Ctx& c) {
  return Value(sem(c).state.value);
}

}  // namespace

void register_semaphore_commands(CommandTable& t) {
  using F = CommandFlags;
  t.add_type("semaphore", make_semaphore);
  t.add_type("boundedsemaphore", make_bounded);
  t.add("semaphore.acquire", 2, 2, F::blocking, acquire);
  t.add("semaphore.release", 1, 1, F::mutating, release);
  t.add("semaphore.get_value", 0, 0, F::none, get_value);
  t.add("boundedsemaphore.acquire", 2, 2, F::blocking, acquire);
  t.add("boundedsemaphore.release", 1, 1, F::mutating, release);
  t.add("boundedsemaphore.get_value", 0, 0, F::none, get_value);
}

}  // namespace syncmgr::server
