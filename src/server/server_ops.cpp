// The server.* operations: opening and removing objects, sessions, introspection and shutdown.
#include <algorithm>
#include <cstdio>

#include "protocol/message.hpp"
#include "server/commands.hpp"
#include "server/registry.hpp"
#include "server/server.hpp"
#include "server/sessions.hpp"

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
  return Value(List{Value(r.value().name), Value(r.value().created)});
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

Map base_fields(const Object& o) {
  return Map{{"name", o.name},
             {"type", std::string(o.type())},
             {"size", static_cast<std::uint64_t>(o.size())},
             {"temporary", o.temporary}};
}

Value describe_object(const Object& o) {
  return Value(base_fields(o));
}

double seconds(Clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

// Session ids as the daemon's log prints them: 16 hex digits (a JSON number would lose digits).
std::string hex_id(std::uint64_t id) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(id));
  return buf;
}

Map session_ref(const Session* s, std::uint64_t id) {
  Map m{{"id", hex_id(id)}};
  if (s == nullptr) {
    m.emplace_back("ended", true);
    return m;
  }
  m.emplace_back("peer", s->peer);
  if (std::int64_t pid = pid_of_peer(s->peer); pid > 0) m.emplace_back("pid", pid);
  return m;
}

// What an object's describe() reads of the sessions and parked calls.
class DaemonInspector : public Inspector {
 public:
  DaemonInspector(Server& server, std::size_t limit) : server_(server), limit_(limit) {}
  std::size_t limit() const override { return limit_; }
  std::size_t parked(const Object& obj, Awaited what) const override {
    return server_.blocking().count_on(WaitKey{&obj, what});
  }
  Value session(std::uint64_t id) const override {
    return Value(session_ref(server_.sessions().find(id), id));
  }
  // A scan of every session's deliveries: inspect is rare, and sessions and items out are few.
  Value deliveries(const std::string& queue) const override {
    std::vector<std::pair<std::uint64_t, Map>> rows;
    server_.sessions().for_each([&](const Session& s) {
      std::uint64_t unacked = 0, undone = 0;
      for (const auto& d : s.unacked)
        unacked += d.queue == queue;
      if (auto it = s.undone.find(queue); it != s.undone.end()) undone = it->second.size();
      if (unacked == 0 && undone == 0) return;
      Map m = session_ref(&s, s.id);
      m.emplace_back("unacknowledged", unacked);
      m.emplace_back("undone", undone);
      rows.emplace_back(s.opened.time_since_epoch().count(), std::move(m));
    });
    std::sort(rows.begin(), rows.end(), [](auto& a, auto& b) { return a.first < b.first; });
    List out;
    for (auto& r : rows)
      out.emplace_back(std::move(r.second));
    return Value(std::move(out));
  }

 private:
  Server& server_;
  std::size_t limit_;
};

constexpr std::int64_t kMaxInspectLimit = 1000;

// server.describe name -> {name, type, size, temporary} | NameError
Reply describe(Ctx& c) {
  if (c.args[0].kind() != Value::Kind::string) return arg_type_error("name", c.args[0], "a str");
  Object* o = c.registry.find(c.args[0].as_string());
  if (o == nullptr) return Err{err::name, "no object named '" + c.args[0].as_string() + "'"};
  return describe_object(*o);
}

// server.list -> [{name, type, size, temporary, ops, parked_calls}...] sorted by name
Reply list(Ctx& c) {
  std::vector<const Object*> objs;
  c.registry.for_each([&](const Object& o) { objs.push_back(&o); });
  std::sort(objs.begin(), objs.end(), [](auto* a, auto* b) { return a->name < b->name; });
  List out;
  out.reserve(objs.size());
  for (auto* o : objs) {
    Map m = base_fields(*o);
    m.emplace_back("ops", o->ops);
    m.emplace_back("parked_calls", static_cast<std::uint64_t>(c.server.blocking().count_at(*o)));
    out.emplace_back(std::move(m));
  }
  return Value(std::move(out));
}

// server.inspect name [limit] -> {name, type, size, temporary, ops, parked_calls, <type's own>}
// | NameError. Read-only: queues are peeked, nothing is taken or changed. `limit` (default 10, at
// most 1000) caps the items or entries listed, and so does their size (kInspectMaxBytes, see Peek).
Reply inspect(Ctx& c) {
  if (c.args[0].kind() != Value::Kind::string) return arg_type_error("name", c.args[0], "a str");
  std::int64_t limit = 10;
  if (c.args.size() > 1 && !c.args[1].is_nil()) {
    auto n = int_arg(c.args[1], "limit");
    if (!n.ok()) return n.error();
    if (n.value() < 0 || n.value() > kMaxInspectLimit)
      return Err{err::value, "limit must be between 0 and " + std::to_string(kMaxInspectLimit)};
    limit = n.value();
  }
  Object* o = c.registry.find(c.args[0].as_string());
  if (o == nullptr) return Err{err::name, "no object named '" + c.args[0].as_string() + "'"};
  Map out = base_fields(*o);
  if (o->temporary) out.emplace_back("holders", static_cast<std::uint64_t>(o->holders.size()));
  out.emplace_back("ops", o->ops);
  out.emplace_back("parked_calls", static_cast<std::uint64_t>(c.server.blocking().count_at(*o)));
  o->describe(out, DaemonInspector(c.server, static_cast<std::size_t>(limit)));
  return Value(std::move(out));
}

// server.sessions -> [{id, peer, pid?, self, age_seconds, idle_seconds, holdings, parked_calls,
// unacknowledged, undone}...], oldest first. `holdings` lists what each holds now (locks,
// permits, a barrier action).
Reply sessions(Ctx& c) {
  auto now = Clock::now();
  std::vector<const Session*> all;
  c.server.sessions().for_each([&](const Session& s) { all.push_back(&s); });
  std::sort(all.begin(), all.end(), [](auto* a, auto* b) {
    return a->opened != b->opened ? a->opened < b->opened : a->id < b->id;
  });
  List out;
  for (const Session* s : all) {
    Map m = session_ref(s, s->id);
    m.emplace_back("self", s->id == c.session.id);
    m.emplace_back("age_seconds", seconds(now - s->opened));
    m.emplace_back("idle_seconds", seconds(now - s->last_seen));
    std::vector<std::string> names(s->holdings.begin(), s->holdings.end());
    std::sort(names.begin(), names.end());
    List holdings;
    for (const auto& name : names) {
      Object* o = c.registry.find(name);
      if (o == nullptr) continue;
      Value what = o->holding(s->id);
      if (what.is_nil()) continue;
      Map h{{"name", name}, {"type", std::string(o->type())}};
      for (const auto& kv : what.as_map())
        h.push_back(kv);
      holdings.emplace_back(std::move(h));
    }
    m.emplace_back("holdings", std::move(holdings));
    m.emplace_back("parked_calls", static_cast<std::uint64_t>(c.server.blocking().count_of(s->id)));
    std::uint64_t undone = 0;
    for (const auto& [queue, items] : s->undone)
      undone += items.size();
    m.emplace_back("unacknowledged", static_cast<std::uint64_t>(s->unacked.size()));
    m.emplace_back("undone", undone);
    out.emplace_back(std::move(m));
  }
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
  t.add("server.inspect", 1, 2, F::none, inspect);
  t.add("server.sessions", 0, 0, F::none, sessions);
  t.add("server.stats", 0, 0, F::none, stats);
  t.add("server.cancel", 1, 1, F::none, cancel);
  t.add("server.shutdown", 0, 0, F::none, shutdown);
}

}  // namespace syncmgr::server
