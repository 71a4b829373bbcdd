// Queue and JoinableQueue: a FIFO of Values with an optional bound, as Python's queue.Queue and
// JoinableQueue but shared across processes.
//
// queue_ops holds the pure operations over QueueState; queue.cpp's handlers only read arguments,
// call them, and park the call when an op reports Full or Empty and the caller may wait.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <vector>

#include "server/object.hpp"
#include "syncmgr/value.hpp"

namespace syncmgr::server {

/// The state of one queue: its items, bound and count of unfinished tasks.
struct QueueState {
  std::deque<Value> items;
  std::size_t maxsize = 0;  // 0: unbounded
  /// Items put and not yet marked done by task_done (used by joinablequeue only).
  std::uint64_t unfinished = 0;
  /// After shutdown: puts fail, and gets fail once the queue is empty (ShutDown).
  bool is_shutdown = false;
};

class QueueObject : public Object {
 public:
  explicit QueueObject(bool joinable) : Object(joinable ? "joinablequeue" : "queue") {}
  std::size_t size() const override { return state.items.size(); }
  void describe(Map& out, const Inspector& in) const override;

  QueueState state;
  /// A JoinableQueue's items got and never task_done'd by a session that ends are put back (the
  /// default: at-least-once work queues); false ("requeue_undone": false) leaves them done-less,
  /// as Python does.
  bool requeue_undone = false;
};

/// Makes a queue from its creation parameters: nil, or a map with an optional "maxsize" int >= 0
/// and, for a joinablequeue, an optional "requeue_undone" bool (default true).
OpResult<std::unique_ptr<Object>> make_queue(const Value& params, bool joinable);

struct Session;
class Registry;
/// A session ends: the items it was handed and never acknowledged, and the JoinableQueue items it
/// got and never marked done (where the queue requeues them), go back to the head of their
/// queues in the order they were handed out. Returns the queues that got items back (to signal);
/// items of queues that no longer exist are dropped.
std::vector<Object*> return_deliveries(Registry& registry, Session& session);

namespace queue_ops {

/// Reads the creation parameters (see make_queue): the bound, 0 for none. TypeError for anything
/// but nil or a map of {"maxsize": int}; ValueError for a negative maxsize.
OpResult<std::size_t> maxsize_param(const Value& params);

/// Whether `n` more items fit.
bool has_room(const QueueState& q, std::size_t n);
/// Appends `item` (moved from only on success). ShutDown after shutdown; Full when there is no
/// room.
OpResult<Unit> put(QueueState& q, Value& item);
/// Appends every item of `items` (an array; moved from only on success), or none: TypeError when
/// `items` is not an array, ShutDown after shutdown, ValueError when they can never fit (more than
/// a nonzero maxsize), Full when they do not all fit now.
OpResult<Unit> put_many(QueueState& q, Value& items);
/// Removes and returns the oldest item. When there is none: ShutDown after shutdown, else Empty.
OpResult<Value> get(QueueState& q);
/// Removes and returns the oldest min(n, qsize) items as an array, at least one. ValueError when
/// n < 1 (checked first); when there is no item, ShutDown after shutdown, else Empty.
OpResult<Value> get_many(QueueState& q, std::int64_t n);
/// Python 3.13's Queue.shutdown: from now on puts fail and gets fail once the queue is empty.
/// `immediate` also discards the items, each counting as done (so join() may return).
OpResult<Unit> shutdown(QueueState& q, bool immediate);

OpResult<Value> qsize(const QueueState& q);
OpResult<Value> empty(const QueueState& q);
/// As Python's: true when bounded and at its bound.
OpResult<Value> full(const QueueState& q);
OpResult<Value> maxsize(const QueueState& q);

/// Marks one item done. ValueError when more task_done calls than items put.
OpResult<Unit> task_done(QueueState& q);
/// Whether every item put has been marked done (what join waits for).
OpResult<Value> joined(const QueueState& q);

}  // namespace queue_ops
}  // namespace syncmgr::server
