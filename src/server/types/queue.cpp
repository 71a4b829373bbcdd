// queue and joinablequeue: put/get (single or batched, blocking with timeout), qsize, empty, full,
// maxsize, shutdown, is_shutdown; joinablequeue adds task_done and join. Blocked getters and
// putters are served in arrival order: every put or get signals the queue's keys (items, room,
// done) before the next request is read, so a handler only has to try its op and park on Full or
// Empty. shutdown is a mutating op too, so the parked calls it signals are answered ShutDown (and
// joins true).
#include "server/types/queue.hpp"

#include <algorithm>
#include <string>
#include <utility>

#include "protocol/message.hpp"
#include "server/blocking.hpp"
#include "server/commands.hpp"
#include "server/log.hpp"
#include "server/registry.hpp"
#include "server/sessions.hpp"

namespace syncmgr::server {

namespace err = protocol::err;

namespace queue_ops {

namespace {
// Reads "maxsize" (and lets "requeue_undone" through when `joinable`).
OpResult<std::size_t> read_params(const Value& params, bool joinable) {
  if (params.is_nil()) return std::size_t{0};
  if (params.kind() != Value::Kind::map) return arg_type_error("queue parameters", params, "a map");
  std::size_t bound = 0;
  for (const auto& [key, value] : params.as_map()) {
    if (joinable && key == Value("requeue_undone")) {
      if (value.kind() != Value::Kind::boolean)
        return arg_type_error("requeue_undone", value, "a bool");
      continue;
    }
    if (key.kind() != Value::Kind::string || key.as_string() != "maxsize")
      return Err{err::type, "queue got an unexpected parameter " + key.repr(Value::kShortRepr)};
    auto m = int_arg(value, "maxsize");
    if (!m.ok()) return m.error();
    if (m.value() < 0)
      return Err{err::value, "maxsize must be >= 0, not " + std::to_string(m.value())};
    bound = static_cast<std::size_t>(m.value());
  }
  return bound;
}
}  // namespace

OpResult<std::size_t> maxsize_param(const Value& params) {
  return read_params(params, false);
}

bool has_room(const QueueState& q, std::size_t n) {
  return q.maxsize == 0 || (q.items.size() <= q.maxsize && n <= q.maxsize - q.items.size());
}

namespace {
Err shut_down_error() {
  return Err{err::shut_down, "queue is shut down"};
}
}  // namespace

OpResult<Unit> put(QueueState& q, Value& item) {
  if (q.is_shutdown) return shut_down_error();
  if (!has_room(q, 1)) return Err{err::full, "queue is full"};
  q.items.push_back(std::move(item));
  ++q.unfinished;
  return Unit{};
}

OpResult<Unit> put_many(QueueState& q, Value& items) {
  if (items.kind() != Value::Kind::array)
    return arg_type_error("put_many items", items, "an array");
  if (q.is_shutdown) return shut_down_error();
  List& a = items.as_list();
  if (q.maxsize != 0 && a.size() > q.maxsize)
    return Err{err::value, "put_many of " + std::to_string(a.size()) +
                               " items can never fit a queue of maxsize " +
                               std::to_string(q.maxsize)};
  if (!has_room(q, a.size())) {
    if (q.items.size() >= q.maxsize) return Err{err::full, "queue is full"};
    return Err{err::full, "queue has room for " + std::to_string(q.maxsize - q.items.size()) +
                              " of " + std::to_string(a.size()) + " items"};
  }
  for (auto& v : a)
    q.items.push_back(std::move(v));
  q.unfinished += a.size();
  return Unit{};
}

OpResult<Value> get(QueueState& q) {
  if (q.items.empty()) return q.is_shutdown ? shut_down_error() : Err{err::empty, "queue is empty"};
  Value v = std::move(q.items.front());
  q.items.pop_front();
  return v;
}

OpResult<Value> get_many(QueueState& q, std::int64_t n) {
  if (n < 1) return Err{err::value, "get_many n must be >= 1, not " + std::to_string(n)};
  if (q.items.empty()) return q.is_shutdown ? shut_down_error() : Err{err::empty, "queue is empty"};
  auto k = std::min(static_cast<std::size_t>(n), q.items.size());
  List out;
  out.reserve(k);
  for (std::size_t i = 0; i < k; ++i) {
    out.push_back(std::move(q.items.front()));
    q.items.pop_front();
  }
  return Value(std::move(out));
}

OpResult<Unit> shutdown(QueueState& q, bool immediate) {
  q.is_shutdown = true;
  if (immediate) {
    // As Python: each discarded item counts as done, so join() returns once the items taken
    // before are done too.
    q.unfinished -= std::min<std::uint64_t>(q.unfinished, q.items.size());
    q.items.clear();
  }
  return Unit{};
}

OpResult<Value> qsize(const QueueState& q) {
  return Value(q.items.size());
}
OpResult<Value> empty(const QueueState& q) {
  return Value(q.items.empty());
}
OpResult<Value> full(const QueueState& q) {
  return Value(q.maxsize != 0 && q.items.size() >= q.maxsize);
}
OpResult<Value> maxsize(const QueueState& q) {
  return Value(q.maxsize);
}

OpResult<Unit> task_done(QueueState& q) {
  if (q.unfinished == 0) return Err{err::value, "task_done() called too many times"};
  --q.unfinished;
  return Unit{};
}

OpResult<Value> joined(const QueueState& q) {
  return Value(q.unfinished == 0);
}

}  // namespace queue_ops

// The first items (peeked, not taken), what waits on it, and, since a session's unacknowledged and
// undone items go back to the head, who has items out: what a hung get() or join() waits for.
void QueueObject::describe(Map& out, const Inspector& in) const {
  Peek peek(in);
  out.emplace_back("maxsize", static_cast<std::uint64_t>(state.maxsize));
  out.emplace_back("items", peek.items(state.items));
  out.emplace_back("omitted", peek.omitted(state.items.size()));
  out.emplace_back("shutdown", state.is_shutdown);
  out.emplace_back("getters", static_cast<std::uint64_t>(in.parked(*this, Awaited::items)));
  out.emplace_back("putters", static_cast<std::uint64_t>(in.parked(*this, Awaited::room)));
  if (type() == "joinablequeue") {
    out.emplace_back("unfinished", state.unfinished);
    out.emplace_back("joiners", static_cast<std::uint64_t>(in.parked(*this, Awaited::done)));
    out.emplace_back("requeue_undone", requeue_undone);
  }
  out.emplace_back("handed_out", in.deliveries(name));
}

OpResult<std::unique_ptr<Object>> make_queue(const Value& params, bool joinable) {
  auto bound = queue_ops::read_params(params, joinable);
  if (!bound.ok()) return bound.error();
  auto q = std::make_unique<QueueObject>(joinable);
  q->state.maxsize = bound.value();
  q->requeue_undone = joinable;
  if (joinable && params.kind() == Value::Kind::map)
    for (const auto& [key, value] : params.as_map())
      if (key == Value("requeue_undone")) q->requeue_undone = value.as_bool();
  return std::unique_ptr<Object>(std::move(q));
}

std::vector<Object*> return_deliveries(Registry& registry, Session& session) {
  std::vector<Object*> changed;
  std::size_t returned = 0;
  auto put_back = [&](const std::string& name, Value& item) {
    Object* obj = registry.find(name);
    if (obj == nullptr || (obj->type() != "queue" && obj->type() != "joinablequeue")) return;
    QueueState& q = static_cast<QueueObject&>(*obj).state;
    q.items.push_front(std::move(item));
    // Still unfinished for join(): it was counted when it was put, and is not done. Unless
    // another session's task_done counted it done already (task_done names no item): then it
    // counts again, so that the task_done of whoever redoes it is not one too many.
    if (q.unfinished < q.items.size()) q.unfinished = q.items.size();
    ++returned;
    if (std::find(changed.begin(), changed.end(), obj) == changed.end()) changed.push_back(obj);
  };
  // Latest first, each to the head: the head then holds them in the order they were handed out.
  for (auto it = session.unacked.rbegin(); it != session.unacked.rend(); ++it)
    put_back(it->queue, it->item);
  for (auto& [name, items] : session.undone)
    for (auto it = items.rbegin(); it != items.rend(); ++it)
      put_back(name, *it);
  session.unacked.clear();
  session.undone.clear();
  if (returned > 0)
    SYNCMGR_LOG(info,
                "session %016llx: %zu item(s) it had not acknowledged or marked done put back",
                static_cast<unsigned long long>(session.id), returned);
  return changed;
}

namespace {

QueueState& queue(Ctx& c) {
  return static_cast<QueueObject&>(*c.object).state;
}

// An item this call hands to its session: kept until the client acknowledges it, or until the
// session marks it done where the JoinableQueue requeues undone items (PROTOCOL.md, "Delivery
// acknowledgement").
void handed_out(Ctx& c, const Value& item) {
  auto& q = static_cast<QueueObject&>(*c.object);
  if (q.requeue_undone) {
    c.session.undone[q.name].push_back(item);
  } else {
    c.session.delivered(q.name, item);
  }
}

OpResult<std::unique_ptr<Object>> make_plain(const Value& p) {
  return make_queue(p, false);
}
OpResult<std::unique_ptr<Object>> make_joinable(const Value& p) {
  return make_queue(p, true);
}

/// An op's answer, except that its "would block" error (`blocked_kind`) parks the call when the
/// caller may wait. On a timed-out re-run may_wait is false, so that error becomes the answer.
template <class T>
Reply park_or_answer(Ctx& c, OpResult<T> r, std::string_view blocked_kind,
                     bool blocks_same_op = true) {
  if (!r.ok() && r.error().kind == blocked_kind && c.may_wait) {
    Awaited what = blocked_kind == err::full ? Awaited::room : Awaited::items;
    return Reply::park({{c.object, what}}, blocks_same_op);
  }
  return r;
}

// queue.put item block timeout -> nil | Full
// joinablequeue.put item block timeout -> nil | Full
Reply put(Ctx& c) {
  return park_or_answer(c, queue_ops::put(queue(c), c.args[0]), err::full);
}

// queue.put_many items block timeout -> nil | Full | ValueError (more items than maxsize)
// joinablequeue.put_many items block timeout -> nil | Full | ValueError
Reply put_many(Ctx& c) {
  // Strict arrival order on the room key: a parked put_many holds back the later puts and
  // put_manys, even smaller ones. So a large batch is never starved by small ones, and a change
  // tries one waiter that cannot proceed, not every parked batch (issue 10 #9).
  return park_or_answer(c, queue_ops::put_many(queue(c), c.args[0]), err::full);
}

// queue.get block timeout -> item | Empty
// joinablequeue.get block timeout -> item | Empty
Reply get(Ctx& c) {
  auto r = queue_ops::get(queue(c));
  if (r.ok()) handed_out(c, r.value());
  return park_or_answer(c, std::move(r), err::empty);
}

// queue.get_many n block timeout -> [item, ...] (1..n items) | Empty | ValueError (n < 1)
// joinablequeue.get_many n block timeout -> [item, ...] | Empty | ValueError
Reply get_many(Ctx& c) {
  auto n = int_arg(c.args[0], "get_many n");
  if (!n.ok()) return n.error();
  // Every get_many waits for the same thing (one item), whatever its n.
  auto r = queue_ops::get_many(queue(c), n.value());
  if (r.ok())
    for (const auto& item : r.value().as_list())
      handed_out(c, item);
  return park_or_answer(c, std::move(r), err::empty);
}

// queue.shutdown [immediate = false] -> nil
// joinablequeue.shutdown [immediate = false] -> nil
Reply shutdown(Ctx& c) {
  bool immediate = false;
  if (!c.args.empty()) {
    if (c.args[0].kind() != Value::Kind::boolean)
      return arg_type_error("shutdown immediate", c.args[0], "a bool");
    immediate = c.args[0].as_bool();
  }
  // Mutating: the parked getters, putters and joins re-run now and get ShutDown (or true).
  return queue_ops::shutdown(queue(c), immediate);
}

// queue.is_shutdown -> bool
Reply is_shutdown(Ctx& c) {
  return Value(queue(c).is_shutdown);
}

// queue.qsize -> int
Reply qsize(Ctx& c) {
  return queue_ops::qsize(queue(c));
}
// queue.empty -> bool
Reply empty(Ctx& c) {
  return queue_ops::empty(queue(c));
}
// queue.full -> bool
Reply full(Ctx& c) {
  return queue_ops::full(queue(c));
}
// queue.maxsize -> int (0: unbounded)
Reply maxsize(Ctx& c) {
  return queue_ops::maxsize(queue(c));
}

// joinablequeue.task_done -> nil | ValueError (called more times than items were put)
Reply task_done(Ctx& c) {
  auto r = queue_ops::task_done(queue(c));
  if (!r.ok()) return r;
  // This session's oldest undone item is done (task_done names no item; as in Python, it counts).
  auto it = c.session.undone.find(c.object->name);
  if (it != c.session.undone.end()) {
    it->second.pop_front();
    if (it->second.empty()) c.session.undone.erase(it);
  }
  return r;
}

// joinablequeue.join block timeout -> true (all items done) | false (timed out, or would block)
Reply join(Ctx& c) {
  auto r = queue_ops::joined(queue(c));
  if (r.value().as_bool() || !c.may_wait) return r;
  // task_done is mutating, so it signals the parked joins when the count may have reached 0.
  return Reply::park({{c.object, Awaited::done}});
}

}  // namespace

void register_queue_commands(CommandTable& t) {
  using F = CommandFlags;
  const F blocking_mutating = F::blocking | F::mutating;
  t.add_type("queue", make_plain);
  t.add_type("joinablequeue", make_joinable);
  t.add("queue.put", 3, 3, blocking_mutating, put);
  t.add("queue.put_many", 3, 3, blocking_mutating, put_many);
  t.add("queue.get", 2, 2, blocking_mutating, get);
  t.add("queue.get_many", 3, 3, blocking_mutating, get_many);
  t.add("queue.qsize", 0, 0, F::none, qsize);
  t.add("queue.empty", 0, 0, F::none, empty);
  t.add("queue.full", 0, 0, F::none, full);
  t.add("queue.maxsize", 0, 0, F::none, maxsize);
  t.add("joinablequeue.put", 3, 3, blocking_mutating, put);
  t.add("joinablequeue.put_many", 3, 3, blocking_mutating, put_many);
  t.add("joinablequeue.get", 2, 2, blocking_mutating, get);
  t.add("joinablequeue.get_many", 3, 3, blocking_mutating, get_many);
  t.add("joinablequeue.qsize", 0, 0, F::none, qsize);
  t.add("joinablequeue.empty", 0, 0, F::none, empty);
  t.add("joinablequeue.full", 0, 0, F::none, full);
  t.add("joinablequeue.maxsize", 0, 0, F::none, maxsize);
  t.add("queue.shutdown", 0, 1, F::mutating, shutdown);
  t.add("joinablequeue.shutdown", 0, 1, F::mutating, shutdown);
  t.add("queue.is_shutdown", 0, 0, F::none, is_shutdown);
  t.add("joinablequeue.is_shutdown", 0, 0, F::none, is_shutdown);
  t.add("joinablequeue.task_done", 0, 0, F::mutating, task_done);
  t.add("joinablequeue.join", 2, 2, F::blocking, join);
}

}  // namespace syncmgr::server
