// Manager: proxy factories and the server-level calls.
#include "syncmgr/manager.hpp"

namespace syncmgr {

Manager::Manager(Options options) : client_(std::make_shared<detail::Client>(std::move(options))) {}
Manager::~Manager() = default;
Manager::Manager(Manager&&) noexcept = default;
Manager& Manager::operator=(Manager&&) noexcept = default;

std::shared_ptr<detail::ObjectRef> Manager::open(std::string_view type, std::string_view name,
                                                 const syncmgr::Value& params) {
  std::string n(name);
  return open(type, name.empty() ? nullptr : &n, params);
}

std::shared_ptr<detail::ObjectRef> Manager::open(std::string_view type, const std::string* name,
                                                 const syncmgr::Value& params) {
  auto reply = name != nullptr
                   ? client_->call("server.open", "", detail::pack_args(type, *name, params))
                   : client_->call("server.open", "",
                                   detail::pack_args(type, msgpack::type::nil_t(), params));
  auto [actual, created] =
      detail::result_as<std::pair<std::string, bool>>(reply, "server.open", "");
  auto ref = std::make_shared<detail::ObjectRef>();
  ref->client = client_;
  ref->name = std::move(actual);
  ref->type = type;
  ref->created = created;
  ref->temporary = name == nullptr || ref->name.rfind('~', 0) == 0;
  if (ref->temporary) client_->hold_temporary(ref->name, type);
  return ref;
}

NamespaceProxy Manager::Namespace(std::string_view name) {
  std::string n(name);
  return NamespaceProxy(open("namespace", &n));
}
NamespaceProxy Manager::Namespace() {
  return NamespaceProxy(open("namespace", nullptr));
}
DictProxy Manager::dict(std::string_view name) {
  std::string n(name);
  return DictProxy(open("dict", &n));
}
DictProxy Manager::dict() {
  return DictProxy(open("dict", nullptr));
}
ListProxy Manager::list(std::string_view name) {
  std::string n(name);
  return ListProxy(open("list", &n));
}
ListProxy Manager::list() {
  return ListProxy(open("list", nullptr));
}

LockProxy Manager::Lock(std::string_view name) {
  return LockProxy(open("lock", name, {}));
}
RLockProxy Manager::RLock(std::string_view name) {
  return RLockProxy(open("rlock", name, {}));
}
namespace {
syncmgr::Value semaphore_params(std::int64_t value, Permits permits) {
  Map params{{"value", value}};
  if (permits == Permits::owned) params.emplace_back("owned", true);
  return syncmgr::Value(std::move(params));
}
}  // namespace

SemaphoreProxy Manager::Semaphore(std::string_view name, std::int64_t value, Permits permits) {
  return SemaphoreProxy(open("semaphore", name, semaphore_params(value, permits)));
}
BoundedSemaphoreProxy Manager::BoundedSemaphore(std::string_view name, std::int64_t value,
                                                Permits permits) {
  return BoundedSemaphoreProxy(open("boundedsemaphore", name, semaphore_params(value, permits)));
}
ConditionProxy Manager::Condition(std::string_view name, std::string_view lock_name) {
  syncmgr::Value params;
  if (!lock_name.empty()) params = syncmgr::Value(Map{{"lock", std::string(lock_name)}});
  return ConditionProxy(open("condition", name, params));
}
EventProxy Manager::Event(std::string_view name) {
  return EventProxy(open("event", name, {}));
}
BarrierProxy Manager::Barrier(std::string_view name, std::size_t parties,
                              std::function<void()> action, Timeout timeout) {
  syncmgr::Value t = timeout ? syncmgr::Value(timeout->count()) : syncmgr::Value();
  syncmgr::Value params(Map{{"parties", static_cast<std::uint64_t>(parties)},
                            {"timeout", t},
                            {"action", static_cast<bool>(action)}});
  return BarrierProxy(open("barrier", name, params), std::move(action));
}
QueueProxy Manager::Queue(std::string_view name, std::size_t maxsize) {
  return QueueProxy(
      open("queue", name, syncmgr::Value(Map{{"maxsize", static_cast<std::uint64_t>(maxsize)}})));
}
JoinableQueueProxy Manager::JoinableQueue(std::string_view name, std::size_t maxsize,
                                          Undone undone) {
  Map params{{"maxsize", static_cast<std::uint64_t>(maxsize)}};
  // Sent only to opt out: the default needs no parameter, and older daemons know none.
  if (undone == Undone::forget) params.emplace_back("requeue_undone", false);
  return JoinableQueueProxy(open("joinablequeue", name, syncmgr::Value(std::move(params))));
}

void Manager::remove(std::string_view name) {
  call<syncmgr::Value>("server.remove", "", name);
}
std::vector<ObjectInfo> Manager::objects() {
  return call<std::vector<ObjectInfo>>("server.list", "");
}
void Manager::ping() {
  call<syncmgr::Value>("server.ping", "");
}
syncmgr::Value Manager::stats() {
  return call<syncmgr::Value>("server.stats", "");
}
void Manager::close() {
  client_->close();
}

}  // namespace syncmgr
