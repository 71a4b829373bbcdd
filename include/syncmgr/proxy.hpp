// The machinery shared by every proxy: the client that forwards calls to the daemon, and the typed
// conversion of replies. Users need only Manager and the proxy classes; this header is their base.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <typeinfo>

#include <msgpack.hpp>

#include "syncmgr/errors.hpp"
#include "syncmgr/value.hpp"

namespace syncmgr {

/// How to reach and authenticate to a daemon.
struct Options {
  /// ZeroMQ endpoint of syncmgrd. Default: $SYNCMGR_ENDPOINT, else tcp://127.0.0.1:50000.
  std::string endpoint;
  /// File holding the shared key. Default: $SYNCMGR_AUTHKEY_FILE. Ignored when `authkey` is set.
  std::string authkey_file;
  /// The key itself, for programs that obtain it elsewhere (never pass it on a command line).
  std::string authkey;
  /// Deadline of each call: past it the call throws ConnectionError and its late reply is dropped.
  std::chrono::milliseconds timeout{30000};
  /// How long the constructor waits for the daemon to answer the handshake.
  std::chrono::milliseconds connect_timeout{5000};
};

/// A timeout as Python's `timeout=None`: none waits indefinitely. Any std::chrono duration
/// converts.
using Timeout = std::optional<std::chrono::duration<double>>;

namespace detail {

class Connection;

/// One connection (session) to a daemon, shared by a Manager and all proxies made from it.
/// Thread-safe. After fork() the child transparently gets a new connection on first use.
class Client {
 public:
  explicit Client(Options options);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  /// Sends [id, op, target, args] (args: an already packed msgpack array) and waits for the reply.
  /// Returns the reply array [id, 0, result]; throws the error class the daemon named.
  msgpack::object_handle call(std::string_view op, std::string_view target,
                              const msgpack::sbuffer& args);
  /// A call the daemon may park until `timeout` (none: until served). The caller waits that long
  /// plus a grace period; past it the parked call is cancelled on the daemon and ConnectionError
  /// is thrown. While it waits, heartbeats keep the session alive, and a daemon that stops
  /// answering fails the call with ConnectionError within the session timeout.
  msgpack::object_handle call_blocking(std::string_view op, std::string_view target,
                                       const msgpack::sbuffer& args,
                                       std::optional<std::chrono::duration<double>> timeout);
  /// Sends a request whose reply nobody waits for (used to release temporary objects).
  void post(std::string_view op, std::string_view target, const msgpack::sbuffer& args);

  const Options& options() const { return options_; }

 private:
  Connection& connection();
  msgpack::object_handle send(std::string_view op, std::string_view target,
                              const msgpack::sbuffer& args,
                              std::optional<std::chrono::steady_clock::time_point> deadline,
                              bool cancellable);

  Options options_;
  std::string authkey_;
  std::shared_ptr<Connection> conn_;
  unsigned fork_generation_;
};

/// The reply's result, converted to T. Throws TypeError naming the stored and the requested type.
template <class T>
T result_as(const msgpack::object_handle& reply, std::string_view op, std::string_view target);

[[noreturn]] void throw_conversion_error(const msgpack::object& o, const std::type_info& wanted,
                                         std::string_view op, std::string_view target);

template <class T>
T result_as(const msgpack::object_handle& reply, std::string_view op, std::string_view target) {
  const msgpack::object& result = reply.get().via.array.ptr[2];
  try {
    return result.as<T>();
  } catch (const msgpack::type_error&) {
    throw_conversion_error(result, typeid(T), op, target);
  }
}

/// A stable id for the calling thread: with the session it names a lock's owner, as Python's
/// RLock owner is a thread.
std::uint64_t thread_id();

template <class... A>
msgpack::sbuffer pack_args(const A&... args) {
  msgpack::sbuffer buf;
  msgpack::packer<msgpack::sbuffer> pk(buf);
  pk.pack_array(sizeof...(A));
  (pk.pack(args), ...);
  return buf;
}

/// An open object: its name, and for a temporary object, the hold this process has on it.
struct ObjectRef {
  std::shared_ptr<Client> client;
  std::string name;
  bool temporary = false;
  ~ObjectRef();
};

/// Base of the proxy classes: a cheap, copyable handle to one named object on the daemon.
class ProxyBase {
 public:
  /// The object's name on the daemon; hand it to other processes so they can open the same object.
  const std::string& name() const { return ref_->name; }

 protected:
  explicit ProxyBase(std::shared_ptr<ObjectRef> ref) : ref_(std::move(ref)) {}

  template <class R, class... A>
  R invoke(std::string_view op, const A&... args) const {
    auto reply = ref_->client->call(op, ref_->name, pack_args(args...));
    if constexpr (!std::is_void_v<R>) return result_as<R>(reply, op, ref_->name);
  }
  /// For blocking ops: appends the [block, timeout] arguments every blocking op ends with.
  template <class R, class... A>
  R invoke_blocking(std::string_view op, bool block, Timeout timeout, const A&... args) const {
    std::optional<double> secs;
    if (timeout) secs = timeout->count();
    auto reply = ref_->client->call_blocking(op, ref_->name, pack_args(args..., block, secs),
                                             block ? timeout : Timeout(std::chrono::seconds(0)));
    if constexpr (!std::is_void_v<R>) return result_as<R>(reply, op, ref_->name);
  }

 private:
  std::shared_ptr<ObjectRef> ref_;
};

}  // namespace detail
}  // namespace syncmgr
