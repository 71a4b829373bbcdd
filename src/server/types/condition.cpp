// condition: Python's Condition across processes, on its own RLock or on an existing Lock/RLock.
// wait releases the lock on the daemon and parks in one step (no notify can slip in between),
// and re-acquires the lock before it answers, also after a timeout (as Python's does).
// Keys (blocking.hpp): a waiter parks on the condition's `notified` key until notify wakes it (or
// its deadline passes); every acquire and re-acquire parks on the lock's `free` key, which is the
// named Lock's own when there is one, so its release, or its holder's session ending, wakes them.
#include <algorithm>
#include <memory>

#include "protocol/message.hpp"
#include "server/commands.hpp"
#include "server/registry.hpp"
#include "server/server.hpp"
#include "server/types/lock.hpp"

namespace syncmgr::server {

namespace err = protocol::err;

namespace {

class ConditionObject : public Object {
 public:
  ConditionObject() : Object("condition") { own.recursive = true; }
  std::size_t size() const override { return own.count; }
  std::vector<std::string> release_session(std::uint64_t session) override {
    if (!lock_name.empty() || own.count == 0 || own.owner.session != session) return {};
    own.count = 0;
    own.owner = Owner{};
    return {"released the lock of condition '" + name + "'"};
  }
  Value holding(std::uint64_t session) const override {
    return lock_name.empty() ? lock_ops::holding(own, session) : Value();
  }
  // Waiters for a notify; its own lock's state and acquirers (a named Lock's are that Lock's to
  // inspect).
  void describe(Map& out, const Inspector& in) const override {
    out.emplace_back("lock", lock_name.empty() ? Value() : Value(lock_name));
    out.emplace_back("waiters", static_cast<std::uint64_t>(in.parked(*this, Awaited::notified)));
    if (!lock_name.empty()) return;
    lock_ops::describe(own, out, in);
    out.emplace_back("acquirers", static_cast<std::uint64_t>(in.parked(*this, Awaited::free)));
  }

  std::string lock_name;  // empty: `own` is the lock
  LockState own;
};

// A waiter's phase, kept in its state as [phase, saved recursion count].
enum Phase : std::int64_t { kWaiting = 0, kNotified = 1, kTimedOut = 2 };

OpResult<std::unique_ptr<Object>> make_condition(const Value& params) {
  auto obj = std::make_unique<ConditionObject>();
  if (params.is_nil()) return std::unique_ptr<Object>(std::move(obj));
  if (params.kind() != Value::Kind::map)
    return arg_type_error("Condition parameters", params, "a map");
  for (const auto& [k, v] : params.as_map()) {
    if (!(k == Value("lock")) || (!v.is_nil() && v.kind() != Value::Kind::string))
      return Err{err::type, "Condition takes only 'lock': the name of a Lock or RLock"};
    if (!v.is_nil()) obj->lock_name = v.as_string();
  }
  return std::unique_ptr<Object>(std::move(obj));
}

struct Bound {
  ConditionObject& cond;
  LockState& lock;
  Object& holder;  // the object whose name a holding session records (the lock's owner object)
};

// Resolves the condition's lock.
OpResult<Bound> bind(Ctx& c) {
  auto& cond = static_cast<ConditionObject&>(*c.object);
  if (cond.lock_name.empty()) return Bound{cond, cond.own, cond};
  Object* o = c.registry.find(cond.lock_name);
  if (o == nullptr || (o->type() != "lock" && o->type() != "rlock"))
    return Err{err::name,
               "the condition's lock '" + cond.lock_name + "' is not a Lock or RLock that exists"};
  auto& lock = static_cast<LockObject&>(*o);
  return Bound{cond, lock.state, lock};
}

WaitKey lock_free(const Bound& b) {
  return WaitKey{&b.holder, Awaited::free};
}

// After the lock was released: the calls parked on it (any Condition's, or the Lock's own) may
// proceed.
void lock_released(Ctx& c, Bound& b) {
  c.server.blocking().signal(lock_free(b));
}

// condition.acquire thread block timeout -> fencing token | nil
Reply acquire(Ctx& c) {
  auto who = owner_arg(c, 0);
  if (!who.ok()) return who.error();
  auto b = bind(c);
  if (!b.ok()) return b.error();
  if (lock_ops::try_acquire(b.value().lock, who.value(), c.server.next_fence())) {
    c.session.holdings.insert(b.value().holder.name);
    return Value(b.value().lock.fence);
  }
  if (!c.may_wait) return Value();
  return Reply::park({lock_free(b.value())});
}

// condition.release thread -> nil | RuntimeError
Reply release(Ctx& c) {
  auto who = owner_arg(c, 0);
  if (!who.ok()) return who.error();
  auto b = bind(c);
  if (!b.ok()) return b.error();
  auto r = lock_ops::release(b.value().lock, who.value());
  if (!r.ok()) return r.error();
  if (b.value().lock.count == 0) lock_released(c, b.value());
  return r;
}

// condition.wait thread block timeout -> bool (false: timed out) | RuntimeError
Reply wait(Ctx& c) {
  auto who = owner_arg(c, 0);
  if (!who.ok()) return who.error();
  auto b = bind(c);
  if (!b.ok()) return b.error();
  LockState& lock = b.value().lock;
  if (c.state.is_nil()) {
    auto saved = lock_ops::release_all(lock, who.value());
    if (!saved.ok()) return Err{err::runtime, "cannot wait on un-acquired lock"};
    lock_released(c, b.value());
    c.state = Value(List{Value(std::int64_t{kWaiting}), Value(std::uint64_t{saved.value()})});
    if (c.may_wait) return Reply::park({{&b.value().cond, Awaited::notified}});
    c.state.as_list()[0] = Value(std::int64_t{kTimedOut});  // block=false: a zero timeout
  }
  auto& st = c.state.as_list();
  std::int64_t phase = st[0].as_int();
  if (phase == kWaiting) {
    if (!c.timed_out) return Reply::park({{&b.value().cond, Awaited::notified}});
    st[0] = Value(std::int64_t{kTimedOut});
    phase = kTimedOut;
  }
  // Notified or timed out: re-acquire the lock (with no deadline) before answering.
  if (!lock_ops::try_acquire(lock, who.value(), c.server.next_fence()))
    return Reply::park({lock_free(b.value())});
  lock.count = static_cast<std::uint32_t>(st[1].as_uint());
  c.session.holdings.insert(b.value().holder.name);
  return Value(phase == kNotified);
}

// Marks up to n waiting calls (arrival order) notified.
Reply notify_some(Ctx& c, std::uint64_t n) {
  auto who = owner_arg(c, 0);
  if (!who.ok()) return who.error();
  auto b = bind(c);
  if (!b.ok()) return b.error();
  if (!lock_ops::held_by(b.value().lock, who.value()))
    return Err{err::runtime, "cannot notify on un-acquired lock"};
  if (n == 0) return Value();
  Blocking& blocking = c.server.blocking();
  // Only waiters still waiting for a notify are on this key, in arrival order. Each notified one
  // is woken on its own, to re-acquire the lock (parking on the lock's key if it is held).
  blocking.for_each_on({&b.value().cond, Awaited::notified}, [&](Waiter& w) {
    if (w.state.kind() != Value::Kind::array) return true;
    auto& st = w.state.as_list();
    if (st[0].as_int() != kWaiting) return true;
    st[0] = Value(std::int64_t{kNotified});
    blocking.wake(w.id);
    return --n > 0;
  });
  return Value();
}

// condition.notify thread n -> nil | RuntimeError
Reply notify(Ctx& c) {
  auto n = int_arg(c.args[1], "n");
  if (!n.ok()) return n.error();
  if (n.value() < 0) return Err{err::value, "n must be non-negative"};
  return notify_some(c, static_cast<std::uint64_t>(n.value()));
}

// condition.notify_all thread -> nil | RuntimeError
Reply notify_all(Ctx& c) {
  return notify_some(c, UINT64_MAX);
}

}  // namespace

void register_condition_commands(CommandTable& t) {
  using F = CommandFlags;
  t.add_type("condition", make_condition);
  t.add("condition.acquire", 3, 3, F::blocking, acquire);
  t.add("condition.release", 1, 1, F::mutating, release);
  t.add("condition.wait", 3, 3, F::blocking | F::mutating, wait);
  t.add("condition.notify", 2, 2, F::mutating, notify);
  t.add("condition.notify_all", 1, 1, F::mutating, notify_all);
}

}  // namespace syncmgr::server
