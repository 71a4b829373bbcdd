// QueueProxy and JoinableQueueProxy: Python's queue.Queue and JoinableQueue across processes.
// Items are any msgpack-able type; get<T>() reads them as T. An item that does not convert is not
// lost: the ConversionError thrown (a TypeError) carries it, see errors.hpp.
#pragma once

#include <cstddef>
#include <vector>

#include "syncmgr/proxy.hpp"

namespace syncmgr {

/// What a JoinableQueue does with the items a process got and never task_done'd when that
/// process's session ends (it exited, crashed, or was cut off past the session timeout).
enum class Undone {
  /// Put back at the head of the queue for another worker (at-least-once work queues: join()
  /// never hangs on a dead worker, and an item may be processed twice).
  requeue,
  /// Left as they are, as in Python: join() waits until someone calls task_done for them.
  forget,
};

namespace detail {

template <const char* Type>
class BasicQueue : public ProxyBase {
 public:
  explicit BasicQueue(std::shared_ptr<ObjectRef> ref) : ProxyBase(std::move(ref)) {}

  /// put(item, block=True, timeout=None). Throws Full when it would block or the timeout passed,
  /// ShutDown after shutdown().
  /// Blocked putters are served in arrival order.
  template <class T>
  void put(const T& item, bool block = true, Timeout timeout = {}) {
    invoke_blocking<void>(op(".put"), block, timeout, item);
  }
  template <class T>
  Future<void> async_put(const T& item, bool block = true, Timeout timeout = {}) {
    return invoke_blocking_async<void>(op(".put"), block, timeout, item);
  }
  template <class T>
  void put_nowait(const T& item) {
    put(item, false);
  }
  /// get(block=True, timeout=None). Throws Empty when it would block or the timeout passed,
  /// ShutDown once the queue is shut down and empty, ConversionError (holding the item taken) when
  /// the item does not convert to T. Blocked getters are served in arrival order.
  template <class T = Value>
  T get(bool block = true, Timeout timeout = {}) {
    return invoke_blocking<T>(op(".get"), block, timeout);
  }
  template <class T = Value>
  Future<T> async_get(bool block = true, Timeout timeout = {}) {
    return invoke_blocking_async<T>(op(".get"), block, timeout);
  }
  template <class T = Value>
  T get_nowait() {
    return get<T>(false);
  }
  /// Puts every item of a container at once (one round trip), waiting for room for all of them.
  template <class C>
  void put_many(const C& items, bool block = true, Timeout timeout = {}) {
    invoke_blocking<void>(op(".put_many"), block, timeout, items);
  }
  template <class C>
  Future<void> async_put_many(const C& items, bool block = true, Timeout timeout = {}) {
    return invoke_blocking_async<void>(op(".put_many"), block, timeout, items);
  }
  /// Takes between 1 and n items (as many as are there), waiting for at least one. When one does
  /// not convert to T, ConversionError holds them all (an array).
  template <class T = Value>
  std::vector<T> get_many(std::size_t n, bool block = true, Timeout timeout = {}) {
    return invoke_blocking<std::vector<T>>(op(".get_many"), block, timeout, n);
  }
  template <class T = Value>
  Future<std::vector<T>> async_get_many(std::size_t n, bool block = true, Timeout timeout = {}) {
    return invoke_blocking_async<std::vector<T>>(op(".get_many"), block, timeout, n);
  }
  /// Python 3.13's shutdown(immediate=False): from now on put throws ShutDown, and get throws it
  /// once the queue is empty; blocked putters and getters are woken with ShutDown. `immediate`
  /// also discards the items left, each counting as done (a JoinableQueue's join() may return).
  void shutdown(bool immediate = false) { invoke<void>(op(".shutdown"), immediate); }
  Future<void> async_shutdown(bool immediate = false) {
    return invoke_async<void>(op(".shutdown"), immediate);
  }
  /// Whether shutdown() was called (Python's is_shutdown attribute).
  bool is_shutdown() const { return invoke<bool>(op(".is_shutdown")); }
  Future<bool> async_is_shutdown() const { return invoke_async<bool>(op(".is_shutdown")); }
  std::size_t qsize() const { return invoke<std::size_t>(op(".qsize")); }
  Future<std::size_t> async_qsize() const { return invoke_async<std::size_t>(op(".qsize")); }
  bool empty() const { return invoke<bool>(op(".empty")); }
  Future<bool> async_empty() const { return invoke_async<bool>(op(".empty")); }
  bool full() const { return invoke<bool>(op(".full")); }
  Future<bool> async_full() const { return invoke_async<bool>(op(".full")); }
  std::size_t maxsize() const { return invoke<std::size_t>(op(".maxsize")); }
  Future<std::size_t> async_maxsize() const { return invoke_async<std::size_t>(op(".maxsize")); }

 protected:
  static std::string op(const char* method) { return std::string(Type) + method; }
};

inline constexpr char kQueue[] = "queue";
inline constexpr char kJoinableQueue[] = "joinablequeue";

}  // namespace detail

using QueueProxy = detail::BasicQueue<detail::kQueue>;

class JoinableQueueProxy : public detail::BasicQueue<detail::kJoinableQueue> {
 public:
  using BasicQueue::BasicQueue;
  /// Marks one item taken with get() as processed. ValueError if called more times than items put.
  void task_done() { invoke<void>("joinablequeue.task_done"); }
  Future<void> async_task_done() { return invoke_async<void>("joinablequeue.task_done"); }
  /// Waits until every item put has been marked done; false if the timeout passed first.
  bool join(Timeout timeout = {}) {
    return invoke_blocking<bool>("joinablequeue.join", true, timeout);
  }
  Future<bool> async_join(Timeout timeout = {}) {
    return invoke_blocking_async<bool>("joinablequeue.join", true, timeout);
  }
};

}  // namespace syncmgr
