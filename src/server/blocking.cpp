// The parked-call engine: indices by key, deadline, session and object, the signal queue, and the
// one function through which every parked call ends (see blocking.hpp for the contract).
#include "server/blocking.hpp"

#include <algorithm>
#include <utility>

#include "protocol/message.hpp"
#include "server/commands.hpp"
#include "server/object.hpp"

namespace syncmgr::server {

namespace err = protocol::err;

WaiterId Blocking::park(Waiter w, std::vector<WaitKey> keys) {
  WaiterId id = ++next_id_;
  w.id = id;
  if (w.deadline != Clock::time_point::max()) deadlines_.emplace(w.deadline, id);
  by_session_[w.session].emplace(w.request_id, id);
  index_object(w.object, id);
  Waiter& stored = waiters_.emplace(id, std::move(w)).first->second;
  index_keys(stored, std::move(keys));
  return id;
}

void Blocking::index_keys(Waiter& w, std::vector<WaitKey> keys) {
  w.keys = std::move(keys);
  for (const auto& k : w.keys) {
    keys_[k].insert(w.id);
    if (k.object != w.object) index_object(k.object, w.id);
  }
}

void Blocking::unindex_keys(Waiter& w) {
  for (const auto& k : w.keys) {
    auto it = keys_.find(k);
    if (it != keys_.end()) {
      it->second.erase(w.id);
      if (it->second.empty()) keys_.erase(it);
    }
    if (k.object != w.object) unindex_object(k.object, w.id);
  }
  w.keys.clear();
}

void Blocking::index_object(const Object* obj, WaiterId id) {
  by_object_[obj].insert(id);
}

void Blocking::unindex_object(const Object* obj, WaiterId id) {
  auto it = by_object_.find(obj);
  if (it == by_object_.end()) return;
  it->second.erase(id);
  if (it->second.empty()) by_object_.erase(it);
}

void Blocking::signal(const WaitKey& key) {
  if (keys_.count(key) == 0) return;  // nobody waits on it
  if (pending_keys_.insert(key).second) queue_.push_back(Signal{key, 0});
}

void Blocking::signal_object(const Object& obj) {
  for (auto it = keys_.lower_bound(WaitKey{&obj, Awaited{}});
       it != keys_.end() && it->first.object == &obj; ++it)
    signal(it->first);
}

void Blocking::wake(WaiterId id) {
  if (pending_waiters_.insert(id).second) queue_.push_back(Signal{WaitKey{}, id});
}

void Blocking::process() {
  if (processing_) return;  // a retry's own signals join the queue being processed
  processing_ = true;
  while (!queue_.empty()) {
    Signal s = queue_.front();
    queue_.pop_front();
    if (s.waiter != 0) {
      if (pending_waiters_.erase(s.waiter) == 0) continue;
      if (Waiter* w = find(s.waiter)) try_waiter(*w, nullptr);
    } else {
      if (pending_keys_.erase(s.key) == 0) continue;  // forgotten: its object is gone
      try_key(s.key);
    }
  }
  processing_ = false;
}

void Blocking::try_key(const WaitKey& key) {
  // Retries may serve waiters (and so remove them) as this walks: for_each_on looks up where it
  // was after each one.
  for_each_on(key, [&](Waiter& w) { return !try_waiter(w, &key); });
}

bool Blocking::try_waiter(Waiter& w, const WaitKey* key) {
  Reply r = host_.retry(w, false);
  if (!r.is_parked()) {
    end(w.id, Outcome::served, &r);
    return false;
  }
  if (r.keys() != w.keys) {
    unindex_keys(w);
    index_keys(w, r.keys());
  }
  if (!r.blocks_same_op() || key == nullptr) return false;
  return std::find(w.keys.begin(), w.keys.end(), *key) != w.keys.end();
}

void Blocking::expire(Clock::time_point now) {
  while (!deadlines_.empty() && deadlines_.begin()->first <= now) {
    auto [when, id] = *deadlines_.begin();
    Waiter& w = waiters_.at(id);
    Reply r = host_.retry(w, true);
    if (!r.is_parked()) {
      end(id, Outcome::timed_out, &r);
      continue;
    }
    // Out of time but still waiting for something (a Condition re-acquiring its lock): parked on
    // its new keys with no deadline.
    deadlines_.erase({when, id});
    w.deadline = Clock::time_point::max();
    if (r.keys() != w.keys) {
      unindex_keys(w);
      index_keys(w, r.keys());
    }
  }
  process();
}

std::size_t Blocking::cancel(std::uint64_t session, std::uint64_t request_id) {
  std::vector<WaiterId> ids;
  if (auto s = by_session_.find(session); s != by_session_.end()) {
    auto [from, to] = s->second.equal_range(request_id);
    for (auto it = from; it != to; ++it)
      ids.push_back(it->second);
  }
  std::sort(ids.begin(), ids.end());  // arrival order
  for (auto id : ids) {
    Reply r(Err{err::cancelled, "cancelled by the client"});
    end(id, Outcome::cancelled, &r);
  }
  return ids.size();
}

void Blocking::end_session(std::uint64_t session) {
  std::vector<WaiterId> ids;
  if (auto s = by_session_.find(session); s != by_session_.end())
    for (const auto& [request, id] : s->second)
      ids.push_back(id);
  std::sort(ids.begin(), ids.end());
  for (auto id : ids)
    end(id, Outcome::session_ended);
}

void Blocking::object_gone(const Object& obj, Outcome how) {
  if (auto it = by_object_.find(&obj); it != by_object_.end()) {
    std::vector<WaiterId> ids(it->second.begin(), it->second.end());
    std::string why =
        "'" + obj.name + "' was " +
        (how == Outcome::object_removed ? "removed" : "freed (its last holder let go)") +
        " while this call waited";
    for (auto id : ids) {
      Reply r(Err{err::name, why});
      end(id, how, &r);
    }
  }
  // Its queued signals are forgotten: a later object at the same address must not inherit them.
  pending_keys_.erase(pending_keys_.lower_bound(WaitKey{&obj, Awaited{}}),
                      pending_keys_.lower_bound(WaitKey{&obj + 1, Awaited{}}));
}

void Blocking::end(WaiterId id, Outcome how, Reply* r) {
  auto it = waiters_.find(id);
  if (it == waiters_.end()) return;
  Waiter w = std::move(it->second);
  waiters_.erase(it);
  unindex_keys(w);
  unindex_object(w.object, id);
  if (w.deadline != Clock::time_point::max()) deadlines_.erase({w.deadline, id});
  if (auto s = by_session_.find(w.session); s != by_session_.end()) {
    auto [from, to] = s->second.equal_range(w.request_id);
    for (auto e = from; e != to; ++e)
      if (e->second == id) {
        s->second.erase(e);
        break;
      }
    if (s->second.empty()) by_session_.erase(s);
  }
  pending_waiters_.erase(id);
  if (how != Outcome::session_ended && r != nullptr) host_.answer(w, *r);
  switch (how) {
    case Outcome::served:
      // A served call changed its object (an item taken, a lock granted): others may proceed.
      if (has(w.command->flags, CommandFlags::mutating)) signal_object(*w.object);
      break;
    case Outcome::timed_out:
    case Outcome::cancelled:
    case Outcome::session_ended:
      host_.unserved(w, how);
      signal_object(*w.object);
      break;
    case Outcome::object_freed:
    case Outcome::object_removed:
      break;
  }
}

Waiter* Blocking::find(WaiterId id) {
  auto it = waiters_.find(id);
  return it == waiters_.end() ? nullptr : &it->second;
}

void Blocking::for_each_on(const WaitKey& key, const std::function<bool(Waiter&)>& fn) {
  WaiterId last = 0;
  for (;;) {
    auto k = keys_.find(key);
    if (k == keys_.end()) return;
    auto it = k->second.upper_bound(last);
    if (it == k->second.end()) return;
    last = *it;
    if (!fn(waiters_.at(last))) return;
  }
}

Clock::time_point Blocking::next_deadline() const {
  return deadlines_.empty() ? Clock::time_point::max() : deadlines_.begin()->first;
}

}  // namespace syncmgr::server
