// The server.* operations: opening and removing objects, sessions, introspection and shutdown.
#include <algorithm>

#include "protocol/message.hpp"
#include "server/commands.hpp"
#include "server/registry.hpp"
#include "server/server.hpp"

namespace syncmgr::server {
namespace {

namespace err = protocol::err;
using F = CommandFlags;

// server.ping -> "pong"
Reply ping(Ctx&) {
  return Value("pong");
}

// server.heartbeat -> nil. Any frame renews the session's lease; this one exists for idle clients.
Reply heartbeat(Ctx&) {
  return Value();
}

// server.bye -> nil, then the session ends and its temporary objects are released.
Reply bye(Ctx& c) {
  c.server.close_session_after_reply(c.session.id);
  return Value();
}

// server.open type name|nil [params] -> [name, created]
Reply open(Ctx& c) {
  if (c.args[0].kind() != Value::Kind::string) return arg_type_error("type", c.args[0], "a str");
  Value params = c.args.size() > 2 ? c.args[2] : Value();
  auto r = c.registry.open(c.args[0].as_string(), c.args[1], params, c.session.id);
  if (!r.ok()) return r.error();
  return Value(Array{Value(r.value().name), Value(r.value().created)});
}

// server.remove name -> nil | NameError
Reply remove(Ctx& c) {
  if (c.args[0].kind() != Value::Kind::string) return arg_type_error("name", c.args[0], "a str");
  Object* obj = c.registry.find(c.args[0].as_string());
  if (obj == nullptr) return Err{err::name, "no object named '" + c.args[0].as_string() + "'"};
  c.registry.remove(obj->name);  // its parked calls end with NameError (blocking.hpp)
  return Value();
}

// server.release name -> nil. Drops this session's hold on a temporary object.
Reply release(Ctx& c) {
  if (c.args[0].kind() != Value::Kind::string) return arg_type_error("name", c.args[0], "a str");
  c.registry.release(c.args[0].as_string(), c.session.id);
  return Value();
}

Value describe_object(const Object& o) {
  return Value(Map{{"name", o.name},
                   {"type", std::string(o.type())},
                   {"size", static_cast<std::uint64_t>(o.size())},
                   {"temporary", o.temporary}});
}

// server.describe name -> {name, type, size, temporary} | NameError
Reply describe(Ctx& c) {
  if (c.args[0].kind() != Value::Kind::string) return arg_type_error("name", c.args[0], "a str");
  Object* o = c.registry.find(c.args[0].as_string());
  if (o == nullptr) return Err{err::name, "no object named '" + c.args[0].as_string() + "'"};
  return describe_object(*o);
}

// server.list -> [{name, type, size, temporary}...] sorted by name
Reply list(Ctx& c) {
  std::vector<const Object*> objs;
  c.registry.for_each([&](const Object& o) { objs.push_back(&o); });
  std::sort(objs.begin(), objs.end(), [](auto* a, auto* b) { return a->name < b->name; });
  Array out;
  out.reserve(objs.size());
  for (auto* o : objs)
    out.push_back(describe_object(*o));
  return Value(std::move(out));
}

// server.stats -> {sessions, objects, ops_total, ops_per_second, uptime_seconds, ...}
Reply stats(Ctx& c) {
  ServerStats s = c.server.stats();
  return Value(Map{{"sessions", static_cast<std::uint64_t>(s.sessions)},
                   {"objects", static_cast<std::uint64_t>(s.objects)},
                   {"ops_total", s.ops_total},
                   {"ops_per_second", s.ops_per_second},
                   {"uptime_seconds", s.uptime_seconds},
                   {"auth_failures", s.auth_failures},
                   {"abandoned_handshakes", s.abandoned_handshakes},
                   {"refused_connections", s.refused_connections},
                   {"rejected_frames", s.rejected_frames},
                   {"request_frames", s.request_frames},
                   {"parked_calls", static_cast<std::uint64_t>(s.parked_calls)},
                   {"version", SYNCMGR_VERSION}});
}

// server.cancel request_id -> bool. Ends this session's parked calls under `request_id` (a client
// may have reused the id: each is ended), each then answered with CancelledError; false if none was
// parked (already answered, or never parked).
Reply cancel(Ctx& c) {
  auto id = int_arg(c.args[0], "request id");
  if (!id.ok()) return id.error();
  return Value(c.server.blocking().cancel(c.session.id, static_cast<std::uint64_t>(id.value())) >
               0);
}

// server.shutdown -> nil; the daemon exits after sending this reply.
Reply shutdown(Ctx& c) {
  c.server.request_shutdown();
  return Value();
}

}  // namespace

void register_server_commands(CommandTable& t) {
  t.add("server.ping", 0, 0, F::none, ping);
  t.add("server.heartbeat", 0, 0, F::none, heartbeat);
  t.add("server.bye", 0, 0, F::none, bye);
  t.add("server.open", 2, 3, F::mutating, open);
  t.add("server.remove", 1, 1, F::mutating, remove);
  t.add("server.release", 1, 1, F::mutating, release);
  t.add("server.describe", 1, 1, F::none, describe);
  t.add("server.list", 0, 0, F::none, list);
  t.add("server.stats", 0, 0, F::none, stats);
  t.add("server.cancel", 1, 1, F::none, cancel);
  t.add("server.shutdown", 0, 0, F::none, shutdown);
}

}  // namespace syncmgr::server
