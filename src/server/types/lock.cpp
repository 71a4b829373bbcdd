// lock and rlock: acquire (blocking, with timeout) returning a fencing token, release, locked.
// Waiters queue in arrival order; a release hands the lock to the longest-waiting acquirer.
#include "server/types/lock.hpp"

#include "protocol/message.hpp"
#include "server/commands.hpp"
#include "server/server.hpp"

namespace syncmgr::server {

namespace err = protocol::err;

namespace lock_ops {

bool try_acquire(LockState& l, const Owner& who, std::uint64_t fence) {
  if (l.count == 0) {
    l.count = 1;
    l.owner = who;
    l.fence = fence;
    return true;
  }
  if (l.recursive && l.owner == who) {
    ++l.count;
    return true;
  }
  return false;
}

OpResult<Unit> release(LockState& l, const Owner& who) {
  if (l.count == 0) return Err{err::runtime, "release unlocked lock"};
  if (l.recursive && !(l.owner == who)) return Err{err::runtime, "cannot release un-acquired lock"};
  if (--l.count == 0) l.owner = Owner{};
  return Unit{};
}

OpResult<std::uint32_t> release_all(LockState& l, const Owner& who) {
  if (!held_by(l, who)) return Err{err::runtime, "cannot release un-acquired lock"};
  std::uint32_t n = l.count;
  l.count = 0;
  l.owner = Owner{};
  return n;
}

bool held_by(const LockState& l, const Owner& who) {
  return l.count > 0 && l.owner == who;
}

Value holding(const LockState& l, std::uint64_t session) {
  if (l.count == 0 || l.owner.session != session) return Value();
  return Value(Map{{"fence", l.fence},
                   {"count", static_cast<std::uint64_t>(l.count)},
                   {"thread", l.owner.thread}});
}

void describe(const LockState& l, Map& out, const Inspector& in) {
  out.emplace_back("locked", l.count > 0);
  Value holder;
  if (l.count > 0) {
    Map h = in.session(l.owner.session).as_map();
    h.emplace_back("thread", l.owner.thread);
    holder = Value(std::move(h));
  }
  out.emplace_back("holder", std::move(holder));
  if (l.recursive) out.emplace_back("count", static_cast<std::uint64_t>(l.count));
  // The token of the current grant (after a release: of the last one).
  out.emplace_back("fence", l.fence);
}

}  // namespace lock_ops

std::vector<std::string> LockObject::release_session(std::uint64_t session) {
  if (state.count == 0 || state.owner.session != session) return {};
  std::string line = "released " + std::string(type()) + " '" + name + "' (fencing token " +
                     std::to_string(state.fence) + ")";
  state.count = 0;
  state.owner = Owner{};
  return {line};
}

// Acquirers waiting, the Conditions' re-acquiring waiters on this lock among them.
void LockObject::describe(Map& out, const Inspector& in) const {
  lock_ops::describe(state, out, in);
  out.emplace_back("waiters", static_cast<std::uint64_t>(in.parked(*this, Awaited::free)));
}

OpResult<Owner> owner_arg(const Ctx& c, std::size_t index) {
  auto t = int_arg(c.args[index], "thread id");
  if (!t.ok()) return t.error();
  return Owner{c.session.id, static_cast<std::uint64_t>(t.value())};
}

namespace {

LockObject& lock(Ctx& c) {
  return static_cast<LockObject&>(*c.object);
}

OpResult<std::unique_ptr<Object>> make(const Value& params, bool recursive) {
  if (!params.is_nil() && !(params.kind() == Value::Kind::map && params.as_map().empty()))
    return Err{err::type, "Lock and RLock take no parameters"};
  return std::unique_ptr<Object>(std::make_unique<LockObject>(recursive));
}
OpResult<std::unique_ptr<Object>> make_lock(const Value& p) {
  return make(p, false);
}
OpResult<std::unique_ptr<Object>> make_rlock(const Value& p) {
  return make(p, true);
}

// lock.acquire thread block timeout -> fencing token | nil (not acquired)
// rlock.acquire thread block timeout -> fencing token | nil
Reply acquire(Ctx& c) {
  auto who = owner_arg(c, 0);
  if (!who.ok()) return who.error();
  LockObject& l = lock(c);
  // A release signals the parked acquirers before any new request is read, so a new acquirer
  // never overtakes them: arrival order holds. A Condition's acquirers park on this key too.
  if (lock_ops::try_acquire(l.state, who.value(), c.server.next_fence())) {
    c.session.holdings.insert(l.name);
    return Value(l.state.fence);
  }
  if (!c.may_wait) return Value();
  return Reply::park({{&l, Awaited::free}});
}

// lock.release thread [token] -> nil | RuntimeError | LockLost
// rlock.release thread [token] -> nil | RuntimeError | LockLost
Reply release(Ctx& c) {
  auto who = owner_arg(c, 0);
  if (!who.ok()) return who.error();
  LockObject& l = lock(c);
  if (c.args.size() > 1 && !c.args[1].is_nil()) {
    // The caller names the grant it releases (issue 10 #1). A grant that is not the current one
    // ended with its session (the lock was released then, and may be someone else's now) or was
    // released already: releasing now would free whoever holds it, so it is refused.
    auto token = int_arg(c.args[1], "token");
    if (!token.ok()) return token.error();
    auto t = static_cast<std::uint64_t>(token.value());
    if (l.state.count == 0 || l.state.fence != t)
      return Err{err::lock_lost,
                 "the grant with fencing token " + std::to_string(t) +
                     " is no longer held (its session ended, or it was released); the lock is " +
                     (l.state.count == 0 ? std::string("free")
                                         : "held under token " + std::to_string(l.state.fence))};
  }
  // Mutating: the release signals this lock's `free` key, where its acquirers and those of the
  // Conditions built on it wait.
  return lock_ops::release(l.state, who.value());
}

// lock.locked -> bool
Reply locked(Ctx& c) {
  return Value(lock(c).state.count > 0);
}

// rlock.owned thread -> bool (whether the calling thread holds it)
Reply owned(Ctx& c) {
  auto who = owner_arg(c, 0);
  if (!who.ok()) return who.error();
  return Value(lock_ops::held_by(lock(c).state, who.value()));
}

}  // namespace

void register_lock_commands(CommandTable& t) {
  using F = CommandFlags;
  t.add_type("lock", make_lock);
  t.add_type("rlock", make_rlock);
  t.add("lock.acquire", 3, 3, F::blocking, acquire);
  t.add("lock.release", 1, 2, F::mutating, release);
  t.add("lock.locked", 0, 0, F::none, locked);
  t.add("lock.owned", 1, 1, F::none, owned);
  t.add("rlock.acquire", 3, 3, F::blocking, acquire);
  t.add("rlock.release", 1, 2, F::mutating, release);
  t.add("rlock.locked", 0, 0, F::none, locked);
  t.add("rlock.owned", 1, 1, F::none, owned);
}

}  // namespace syncmgr::server
