// The waiter table's indices.
#include "server/waiters.hpp"

namespace syncmgr::server {

std::uint64_t WaiterTable::add(Waiter w) {
  w.id = ++next_id_;
  std::uint64_t id = w.id;
  if (w.deadline != Clock::time_point::max()) deadlines_.emplace(w.deadline, id);
  by_session_[w.session][w.request_id] = id;
  waiters_.emplace(id, std::move(w));
  return id;
}

Waiter* WaiterTable::find(std::uint64_t id) {
  auto it = waiters_.find(id);
  return it == waiters_.end() ? nullptr : &it->second;
}

std::optional<std::uint64_t> WaiterTable::find_request(std::uint64_t session,
                                                       std::uint64_t request_id) const {
  auto s = by_session_.find(session);
  if (s == by_session_.end()) return std::nullopt;
  auto r = s->second.find(request_id);
  if (r == s->second.end()) return std::nullopt;
  return r->second;
}

Waiter WaiterTable::remove(std::uint64_t id) {
  auto it = waiters_.find(id);
  Waiter w = std::move(it->second);
  waiters_.erase(it);
  if (w.deadline != Clock::time_point::max()) deadlines_.erase({w.deadline, id});
  auto s = by_session_.find(w.session);
  if (s != by_session_.end()) {
    s->second.erase(w.request_id);
    if (s->second.empty()) by_session_.erase(s);
  }
  return w;
}

std::vector<std::uint64_t> WaiterTable::due(Clock::time_point now) const {
  std::vector<std::uint64_t> out;
  for (const auto& [when, id] : deadlines_) {
    if (when > now) break;
    out.push_back(id);
  }
  return out;
}

Clock::time_point WaiterTable::next_deadline() const {
  return deadlines_.empty() ? Clock::time_point::max() : deadlines_.begin()->first;
}

std::vector<std::uint64_t> WaiterTable::of_session(std::uint64_t session) const {
  std::vector<std::uint64_t> out;
  auto s = by_session_.find(session);
  if (s == by_session_.end()) return out;
  for (const auto& [req, id] : s->second)
    out.push_back(id);
  return out;
}

}  // namespace syncmgr::server
