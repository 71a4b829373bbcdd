// Future<T>: the outcome of an asynchronous proxy call (e.g. d.async_get<int>(k)).
//
// Many calls may be in flight on one connection; requests issued together travel in one frame.
// Waiting on a future drives the connection from the waiting thread itself, so a thread that
// issues calls and waits on them costs no thread switch on the client side.
#pragma once

#include <chrono>
#include <future>
#include <memory>
#include <optional>
#include <string_view>

#include <msgpack.hpp>

namespace syncmgr {
namespace detail {

struct PendingCall;

/// A call's result and the memory it refers to: none for a scalar, else the zone of its frame's
/// replies (shared by them).
struct ReplyRef {
  msgpack::object result;
  std::shared_ptr<msgpack::zone> zone;
};

/// Waits for the call's reply until `until` (none: until its own deadline); whether it arrived.
bool wait_call(PendingCall& call, std::optional<std::chrono::steady_clock::time_point> until);
/// Waits for the reply (cancelling a parked call on the daemon once its deadline passed) and
/// returns its result; throws the error the daemon or the connection named.
ReplyRef take_reply(PendingCall& call);
std::string_view call_op(const PendingCall& call);
std::string_view call_target(const PendingCall& call);

template <class T>
T result_as(const ReplyRef& reply, std::string_view op, std::string_view target);

}  // namespace detail

template <class T>
class Future {
 public:
  Future() = default;
  explicit Future(std::shared_ptr<detail::PendingCall> call) : call_(std::move(call)) {}

  /// Whether this future refers to a call whose result has not been taken yet.
  bool valid() const { return call_ != nullptr; }
  /// Waits for the result and returns it (once: the future is invalid afterwards). Throws what
  /// the synchronous form would throw: the daemon's error, TypeError on conversion, or
  /// ConnectionError when no reply came before the call's deadline.
  T get() {
    auto call = std::move(call_);
    auto reply = detail::take_reply(*call);
    if constexpr (!std::is_void_v<T>)
      return detail::result_as<T>(reply, detail::call_op(*call), detail::call_target(*call));
  }
  /// Waits until the reply arrived (or the call failed).
  void wait() const { detail::wait_call(*call_, std::nullopt); }
  template <class Rep, class Period>
  std::future_status wait_for(const std::chrono::duration<Rep, Period>& d) const {
    return wait_until(std::chrono::steady_clock::now() +
                      std::chrono::duration_cast<std::chrono::steady_clock::duration>(d));
  }
  std::future_status wait_until(std::chrono::steady_clock::time_point t) const {
    return detail::wait_call(*call_, t) ? std::future_status::ready : std::future_status::timeout;
  }
  /// Whether get() would return without waiting.
  bool ready() const {
    return wait_until(std::chrono::steady_clock::now()) == std::future_status::ready;
  }

 private:
  std::shared_ptr<detail::PendingCall> call_;
};

}  // namespace syncmgr
