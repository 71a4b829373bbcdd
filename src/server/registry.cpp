// Object lookup, creation and the lifetime of temporary objects.
#include "server/registry.hpp"

#include <algorithm>
#include <cstdio>

#include "protocol/mac.hpp"
#include "protocol/message.hpp"

namespace syncmgr::server {

namespace err = protocol::err;

Registry::Registry(const CommandTable& table) : table_(table) {
  unsigned char raw[4];
  protocol::random_bytes(raw, sizeof raw);
  char buf[16];
  std::snprintf(buf, sizeof buf, "%02x%02x%02x%02x", raw[0], raw[1], raw[2], raw[3]);
  instance_ = buf;
}

Object* Registry::find(std::string_view name) {
  // Calls come in runs on one object (a worker's queue, a loop over one dict): a comparison
  // instead of hashing the name each time.
  if (last_found_ != nullptr && last_found_->name == name) return last_found_;
  auto it = objects_.find(name);
  if (it == objects_.end()) return nullptr;
  last_found_ = it->second.get();
  return last_found_;
}

OpResult<Registry::Opened> Registry::open(std::string_view type, const Value& name,
                                          const Value& params, std::uint64_t session) {
  Factory make = table_.factory(type);
  if (make == nullptr) return Err{err::value, "unknown object type '" + std::string(type) + "'"};
  if (!name.is_nil() && name.kind() != Value::Kind::string)
    return Err{err::type, "object name must be a str or nil, not " + std::string(name.type_name())};
  std::string key;
  if (name.is_nil()) {
    key = "~" + instance_ + "." + std::to_string(++next_temporary_);
  } else {
    key = name.as_string();
    if (key.empty() || key.size() > 256)
      return Err{err::value, "object name must be 1 to 256 bytes long"};
    if (Object* existing = find(key)) {
      if (existing->type() != type)
        return Err{err::type, "'" + key + "' is a " + std::string(existing->type()) +
                                  ", cannot open it as a " + std::string(type)};
      if (existing->temporary) add_holder(*existing, session);
      return Opened{key, false};
    }
    if (key[0] == '~')
      return Err{err::name, "no object named '" + key +
                                "' (names starting with '~' are generated, never created by name)"};
  }
  auto made = make(params);
  if (!made.ok()) return made.error();
  auto obj = std::move(made.value());
  obj->name = key;
  obj->temporary = name.is_nil();
  if (obj->temporary) add_holder(*obj, session);
  objects_.emplace(key, std::move(obj));
  return Opened{key, true};
}

void Registry::add_holder(Object& obj, std::uint64_t session) {
  if (std::find(obj.holders.begin(), obj.holders.end(), session) != obj.holders.end()) return;
  obj.holders.push_back(session);
  held_[session].insert(obj.name);
}

void Registry::destroy(std::string_view name, bool removed) {
  auto it = objects_.find(name);
  if (it == objects_.end()) return;
  if (on_gone_) on_gone_(*it->second, removed);
  if (last_found_ == it->second.get()) last_found_ = nullptr;
  objects_.erase(it);
}

bool Registry::remove(std::string_view name) {
  Object* obj = find(name);
  if (obj == nullptr) return false;
  for (auto session : obj->holders)
    if (auto held = held_.find(session); held != held_.end()) held->second.erase(obj->name);
  destroy(name, true);
  return true;
}

void Registry::drop_holder(Object& obj, std::uint64_t session) {
  auto& h = obj.holders;  // a handful of sessions: a scan is cheapest
  h.erase(std::remove(h.begin(), h.end(), session), h.end());
  if (h.empty()) destroy(std::string(obj.name), false);
}

void Registry::release(std::string_view name, std::uint64_t session) {
  Object* obj = find(name);
  if (obj == nullptr || !obj->temporary) return;
  if (auto held = held_.find(session); held != held_.end()) held->second.erase(obj->name);
  drop_holder(*obj, session);
}

void Registry::release_session(std::uint64_t session) {
  auto held = held_.find(session);
  if (held == held_.end()) return;
  std::unordered_set<std::string> names = std::move(held->second);
  held_.erase(held);
  for (const auto& name : names)
    if (Object* obj = find(name)) drop_holder(*obj, session);
}

void Registry::for_each(const std::function<void(const Object&)>& fn) const {
  for (const auto& [name, obj] : objects_)
    fn(*obj);
}

}  // namespace syncmgr::server
