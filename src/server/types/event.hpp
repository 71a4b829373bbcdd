// Event: Python's threading.Event across processes.
//
// A wait that was parked when set() came returns true even if clear() follows at once, as in
// Python (whose waiters are notified by set): each set() bumps a counter the waiter remembers.
#pragma once

#include <cstdint>

#include "server/object.hpp"

namespace syncmgr::server {

struct EventState {
  bool flag = false;
  /// How many times set() was called: a parked wait that saw a smaller count was woken.
  std::uint64_t sets = 0;
};

namespace event_ops {
void set(EventState& e);
void clear(EventState& e);
bool is_set(const EventState& e);
/// Whether a wait that began when the set-counter was `seen` is over (set now, or set since).
bool wait_done(const EventState& e, std::uint64_t seen);
}  // namespace event_ops

class EventObject : public Object {
 public:
  EventObject() : Object("event") {}
  std::size_t size() const override { return state.flag ? 1 : 0; }
  void describe(Map& out, const Inspector& in) const override;

  EventState state;
};

}  // namespace syncmgr::server
