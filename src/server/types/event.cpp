// event: set, clear, is_set, and wait (blocking, with timeout) -> bool.
// wait answers true at once when the event is set; otherwise it parks until a set() (true, even if
// a clear() follows right after) or its timeout (false). block=false answers false when unset.
#include "server/types/event.hpp"

#include <memory>

#include "protocol/message.hpp"
#include "server/blocking.hpp"
#include "server/commands.hpp"

namespace syncmgr::server {

namespace err = protocol::err;

namespace event_ops {

void set(EventState& e) {
  e.flag = true;
  ++e.sets;
}

void clear(EventState& e) {
  e.flag = false;
}

bool is_set(const EventState& e) {
  return e.flag;
}

bool wait_done(const EventState& e, std::uint64_t seen) {
  return e.flag || e.sets != seen;
}

}  // namespace event_ops

void EventObject::describe(Map& out, const Inspector& in) const {
  out.emplace_back("set", state.flag);
  out.emplace_back("waiters", static_cast<std::uint64_t>(in.parked(*this, Awaited::set)));
}

namespace {

EventState& event(Ctx& c) {
  return static_cast<EventObject&>(*c.object).state;
}

OpResult<std::unique_ptr<Object>> make_event(const Value& params) {
  if (!params.is_nil() && !(params.kind() == Value::Kind::map && params.as_map().empty()))
    return Err{err::type, "Event takes no parameters"};
  return std::unique_ptr<Object>(std::make_unique<EventObject>());
}

// event.set (wakes every parked wait)
Reply set(Ctx& c) {
  event_ops::set(event(c));
  return Value();
}

// event.clear
Reply clear(Ctx& c) {
  event_ops::clear(event(c));
  return Value();
}

// event.is_set -> bool
Reply is_set(Ctx& c) {
  return Value(event_ops::is_set(event(c)));
}

// event.wait block timeout -> bool (false: unset and block=false, or timed out)
Reply wait(Ctx& c) {
  EventState& e = event(c);
  // The state holds the set-counter seen on the first run.
  if (c.state.is_nil()) c.state = Value(e.sets);
  if (event_ops::wait_done(e, c.state.as_uint())) return Value(true);
  if (!c.may_wait) return Value(false);
  return Reply::park({{c.object, Awaited::set}});
}

}  // namespace

void register_event_commands(CommandTable& t) {
  using F = CommandFlags;
  t.add_type("event", make_event);
  t.add("event.set", 0, 0, F::mutating, set);
  t.add("event.clear", 0, 0, F::none, clear);
  t.add("event.is_set", 0, 0, F::none, is_set);
  t.add("event.wait", 2, 2, F::blocking, wait);
}

}  // namespace syncmgr::server
