// Manager: proxy factories and the server-level calls.
#include "syncmgr/manager.hpp"

namespace syncmgr {

Manager::Manager(Options options) : client_(std::make_shared<detail::Client>(std::move(options))) {}
Manager::~Manager() = default;
Manager::Manager(Manager&&) noexcept = default;
Manager& Manager::operator=(Manager&&) noexcept = default;

std::shared_ptr<detail::ObjectRef> Manager::open(std::string_view type, const std::string* name) {
  auto reply = name != nullptr ? client_->call("server.open", "", detail::pack_args(type, *name))
                               : client_->call("server.open", "", detail::pack_args(type, msgpack::type::nil_t()));
  auto [actual, created] = detail::result_as<std::pair<std::string, bool>>(reply, "server.open", "");
  (void)created;
  auto ref = std::make_shared<detail::ObjectRef>();
  ref->client = client_;
  ref->name = std::move(actual);
  ref->temporary = name == nullptr || ref->name.rfind('~', 0) == 0;
  return ref;
}

NamespaceProxy Manager::Namespace(std::string_view name) {
  std::string n(name);
  return NamespaceProxy(open("namespace", &n));
}
NamespaceProxy Manager::Namespace() { return NamespaceProxy(open("namespace", nullptr)); }
DictProxy Manager::dict(std::string_view name) {
  std::string n(name);
  return DictProxy(open("dict", &n));
}
DictProxy Manager::dict() { return DictProxy(open("dict", nullptr)); }
ListProxy Manager::list(std::string_view name) {
  std::string n(name);
  return ListProxy(open("list", &n));
}
ListProxy Manager::list() { return ListProxy(open("list", nullptr)); }

void Manager::remove(std::string_view name) { call<Value>("server.remove", "", name); }
std::vector<ObjectInfo> Manager::objects() { return call<std::vector<ObjectInfo>>("server.list", ""); }
void Manager::ping() { call<Value>("server.ping", ""); }
Value Manager::stats() { return call<Value>("server.stats", ""); }
void Manager::shutdown() { call<Value>("server.shutdown", ""); }

}  // namespace syncmgr
