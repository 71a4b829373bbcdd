// The machinery shared by every proxy: the client that forwards calls to the daemon, and the typed
// conversion of replies. Users need only Manager and the proxy classes; this header is their base.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <type_traits>
#include <typeinfo>
#include <unordered_map>
#include <vector>

#include <msgpack.hpp>

#include "syncmgr/errors.hpp"
#include "syncmgr/future.hpp"
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
  /// MAC every frame after the handshake too. Off by default: the session is bound to the
  /// connection whose far end proved the key, and that connection is either a local ipc socket or
  /// a tcp connection that CURVE already encrypts and authenticates message by message
  /// (docs/PROTOCOL.md, "Security"); the MACs cost ~0.5 ms per MiB each way.
  bool frame_macs = false;
  /// How long the constructor waits for the daemon to answer the handshake.
  std::chrono::milliseconds connect_timeout{5000};
};

/// A timeout as Python's `timeout=None`: none waits indefinitely. Any std::chrono duration
/// converts.
using Timeout = std::optional<std::chrono::duration<double>>;

/// A proxy as a value: the type and name of the object it opens. A proxy put into a dict, list,
/// queue or Namespace is stored as this (the msgpack map {"$proxy": [type, name]}, see
/// docs/PROTOCOL.md), and the process that reads it reopens the object with
/// Manager::open<P>(value), as Python's manager nests proxies.
struct ProxyRef {
  std::string type;
  std::string name;
  friend bool operator==(const ProxyRef&, const ProxyRef&) = default;
};

namespace detail {

class Connection;

/// Appends to a request being packed (a msgpack::packer stream).
struct RequestWriter {
  std::string& out;
  void write(const char* p, std::size_t n) { out.append(p, n); }
};

/// Starts a request [id, op, target, args] in a new string: room for the frame header, the array
/// header, the id as a fixed-width uint64 with its value left for Client to fill in once it
/// allocates the id, op and target; the caller appends the packed args array. Reserves room for
/// `args_hint` bytes of args and for what sending adds, so a small request is one allocation.
std::string begin_request(std::string_view op, std::string_view target, std::size_t args_hint);

/// A whole request with its args packed in place: one allocation, no copy of the args.
template <class... A>
std::string pack_request(std::string_view op, std::string_view target, const A&... args) {
  std::string buf = begin_request(op, target, 64);
  RequestWriter w{buf};
  msgpack::packer<RequestWriter> pk(w);
  pk.pack_array(sizeof...(A));
  (pk.pack(args), ...);
  return buf;
}

/// One connection (session) to a daemon, shared by a Manager and all proxies made from it.
/// Thread-safe. After fork() the child transparently gets a new connection on first use.
class Client {
 public:
  explicit Client(Options options);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  /// Sends [id, op, target, args] (args: an already packed msgpack array) and returns the call in
  /// flight; its reply is its result, or the error class the daemon named.
  /// `defer` (async calls): the request may wait up to a millisecond, or until the caller waits on
  /// any call, to share a frame with the requests issued after it.
  std::shared_ptr<PendingCall> start(std::string_view op, std::string_view target,
                                     const msgpack::sbuffer& args, bool defer = false);
  /// A call the daemon may park until `timeout` (none: until served). The caller waits that long
  /// plus a grace period; past it the parked call is cancelled on the daemon and ConnectionError
  /// is thrown. While it waits, heartbeats keep the session alive, and a daemon that stops
  /// answering fails the call with ConnectionError within the session timeout.
  std::shared_ptr<PendingCall> start_blocking(std::string_view op, std::string_view target,
                                              const msgpack::sbuffer& args,
                                              std::optional<std::chrono::duration<double>> timeout,
                                              bool defer = false);
  /// The same with the request already packed by pack_request (op and target as given to it).
  std::shared_ptr<PendingCall> start(std::string request, std::string_view op,
                                     std::string_view target, bool defer = false);
  std::shared_ptr<PendingCall> start_blocking(std::string request, std::string_view op,
                                              std::string_view target,
                                              std::optional<std::chrono::duration<double>> timeout,
                                              bool defer = false);
  /// start() and wait for the reply.
  ReplyRef call(std::string_view op, std::string_view target, const msgpack::sbuffer& args) {
    return take_reply(*start(op, target, args));
  }
  ReplyRef call(std::string request, std::string_view op, std::string_view target) {
    return take_reply(*start(std::move(request), op, target));
  }
  /// Sends a request whose reply nobody waits for (used to release temporary objects).
  void post(std::string_view op, std::string_view target, const msgpack::sbuffer& args);

  const Options& options() const { return options_; }
  const std::string& authkey() const { return authkey_; }
  /// See Manager::close.
  void close();
  /// Counts a proxy's reference to the temporary object `name` of `type`, and drops one (the last
  /// drop releases this session's hold on the daemon, which counts one hold per session). A
  /// fork()ed child takes its own holds on all of them when it first uses this client.
  void hold_temporary(const std::string& name, std::string_view type);
  void drop_temporary(const std::string& name);

  // Lock grants the calling thread holds, by lock name, with the session they were received in
  // (issue 10 #1): a grant whose session ended is lost, and the thread learns it from its next
  // acquire, release or owned() on that lock instead of releasing someone else's grant.
  /// Records a grant `token` of `name` just received by this thread (a re-entry counts a level).
  void note_grant(const std::string& name, std::uint64_t token);
  /// Before an acquire: throws LockLost if this thread's grant of `name` was lost and that was
  /// not reported yet; a grant already reported is forgotten (the thread starts afresh).
  void check_grant(const std::string& name);
  /// Releases one level of `name` with `op` (args: thread id, and the grant's token when
  /// `send_token` and this thread holds a recorded grant). Throws LockLost for a lost grant, and
  /// again for every release of this thread until it acquires the lock again: a tokenless release
  /// by a thread that thought it held the lock would free whoever holds it now.
  void release_lock(std::string_view op, const std::string& name, bool send_token);
  /// While one lives on a thread, release_lock leaves a lost grant to be reported by the thread's
  /// next acquire (Lockable::unlock, which must not throw, swallows the LockLost it gets).
  class QuietRelease {
   public:
    QuietRelease();
    ~QuietRelease();
    QuietRelease(const QuietRelease&) = delete;
    QuietRelease& operator=(const QuietRelease&) = delete;
    static bool active();

   private:
    bool previous_;
  };
  /// `op` (an owned query): false without asking when this thread's grant is known lost.
  bool lock_owned(std::string_view op, const std::string& name);
  /// A Condition's wait re-acquired the lock: the grant now belongs to the current session.
  void renew_grant(const std::string& name);

 private:
  Connection& connection();
  std::shared_ptr<PendingCall> send(std::string request, std::string_view op,
                                    std::string_view target,
                                    std::optional<std::chrono::steady_clock::time_point> deadline,
                                    bool cancellable, bool defer);

  Options options_;
  std::string authkey_;
  std::shared_ptr<Connection> conn_;
  unsigned fork_generation_;
  std::mutex temporaries_mu_;
  std::unordered_map<std::string, std::pair<std::string, std::size_t>> temporaries_;  // type, refs
  struct Grant {
    std::uint64_t token = 0;
    std::uint32_t depth = 0;          // levels held (an RLock re-entered)
    std::uint64_t session_epoch = 0;  // Connection::sessions_ended() when it was received
    unsigned fork_generation = 0;     // a fork()ed child holds none of its parent's grants
    bool reported = false;            // LockLost thrown for it once already
  };
  /// The grant of `key`, if recorded in this process; nullptr otherwise (grants_mu_ held).
  Grant* find_grant(const std::string& key);
  bool lost(const Grant& g);
  std::mutex grants_mu_;
  std::unordered_map<std::string, Grant> grants_;  // by grant_key(name)
};

[[noreturn]] void throw_conversion_error(const msgpack::object& o, const std::type_info& wanted,
                                         std::string_view op, std::string_view target);

template <class T>
T result_as(const ReplyRef& reply, std::string_view op, std::string_view target) {
  const msgpack::object& result = reply.result;
  try {
    return result.as<T>();
  } catch (const msgpack::type_error&) {
    throw_conversion_error(result, typeid(T), op, target);
  }
}

/// The range an atomic add's caller can read its result as, sent with the request (the
/// increment/add ops' last argument) so the daemon refuses a result that would not convert
/// instead of storing it and failing afterwards: [min, max] for an integer T, nil for any other.
template <class T>
Value result_limits() {
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>)
    return Value(List{Value(std::numeric_limits<T>::min()), Value(std::numeric_limits<T>::max())});
  else
    return Value();
}

/// A stable id for the calling thread: with the session it names a lock's owner, as Python's
/// RLock owner is a thread.
std::uint64_t thread_id();

template <class... A>
msgpack::sbuffer pack_args(const A&... args) {
  // Small first: sbuffer's default 8 KiB is a slow-path malloc per call; a large value grows the
  // buffer to fit in one step.
  msgpack::sbuffer buf(256);
  msgpack::packer<msgpack::sbuffer> pk(buf);
  pk.pack_array(sizeof...(A));
  (pk.pack(args), ...);
  return buf;
}

/// An open object: its name, and for a temporary object, the hold this process has on it.
struct ObjectRef {
  std::shared_ptr<Client> client;
  std::string name;
  std::string type;      // as the daemon names it: "dict", "joinablequeue", ...
  bool created = false;  // whether opening it created it
  bool temporary = false;
  ~ObjectRef();
};

/// Base of the proxy classes: a cheap, copyable handle to one named object on the daemon.
class ProxyBase {
 public:
  /// The object's name on the daemon; hand it to other processes so they can open the same object.
  const std::string& name() const { return ref_->name; }
  /// The object's type as the daemon names it ("dict", "queue", "joinablequeue", "lock", ...).
  const std::string& type() const { return ref_->type; }
  /// Whether the factory call that made this proxy created the object. False means it already
  /// existed, and the creation arguments given (a Queue's maxsize, a Barrier's parties, a
  /// Semaphore's value) were ignored: the existing object's own apply.
  bool created() const { return ref_->created; }

  /// This proxy as a value (what putting the proxy itself into a container stores).
  ProxyRef ref() const { return {type(), name()}; }

  /// Prints `<dict 'results'>`: the type and the name, without a call to the daemon (print the
  /// contents with `proxy.copy()`, `snapshot()` and the like, which are Values or containers).
  friend std::ostream& operator<<(std::ostream& os, const ProxyBase& p) {
    return os << '<' << p.type() << " '" << p.name() << "'>";
  }

 protected:
  explicit ProxyBase(std::shared_ptr<ObjectRef> ref) : ref_(std::move(ref)) {}

  Client& client() const { return *ref_->client; }

  template <class R, class... A>
  Future<R> invoke_async(std::string_view op, const A&... args) const {
    return Future<R>(
        ref_->client->start(pack_request(op, ref_->name, args...), op, ref_->name, true));
  }
  template <class R, class... A>
  R invoke(std::string_view op, const A&... args) const {
    return Future<R>(ref_->client->start(pack_request(op, ref_->name, args...), op, ref_->name))
        .get();
  }
  /// For blocking ops: appends the [block, timeout] arguments every blocking op ends with.
  template <class R, class... A>
  Future<R> invoke_blocking_async(std::string_view op, bool block, Timeout timeout,
                                  const A&... args) const {
    return start_blocking<R>(true, op, block, timeout, args...);
  }
  template <class R, class... A>
  R invoke_blocking(std::string_view op, bool block, Timeout timeout, const A&... args) const {
    return start_blocking<R>(false, op, block, timeout, args...).get();
  }

 private:
  template <class R, class... A>
  Future<R> start_blocking(bool defer, std::string_view op, bool block, Timeout timeout,
                           const A&... args) const {
    std::optional<double> secs;
    if (timeout) secs = timeout->count();
    return Future<R>(ref_->client->start_blocking(
        pack_request(op, ref_->name, args..., block, secs), op, ref_->name,
        block ? timeout : Timeout(std::chrono::seconds(0)), defer));
  }
  std::shared_ptr<ObjectRef> ref_;
};

/// Iterates a snapshot: the contents fetched in one call when the loop begins (`begin()`), so a
/// loop sees one consistent state and changes made meanwhile by any process, this one included,
/// are not seen. Ends at std::default_sentinel (`end()`).
template <class E>
class SnapshotIterator {
 public:
  using value_type = E;
  using difference_type = std::ptrdiff_t;
  using reference = const E&;
  using pointer = const E*;
  using iterator_category = std::input_iterator_tag;

  SnapshotIterator() = default;
  explicit SnapshotIterator(std::vector<E> items)
      : items_(std::make_shared<const std::vector<E>>(std::move(items))) {}
  const E& operator*() const { return (*items_)[i_]; }
  const E* operator->() const { return &(*items_)[i_]; }
  SnapshotIterator& operator++() {
    ++i_;
    return *this;
  }
  SnapshotIterator operator++(int) {
    auto old = *this;
    ++i_;
    return old;
  }
  friend bool operator==(const SnapshotIterator& it, std::default_sentinel_t) {
    return !it.items_ || it.i_ >= it.items_->size();
  }
  friend bool operator==(const SnapshotIterator& a, const SnapshotIterator& b) {
    return a.items_ == b.items_ && a.i_ == b.i_;
  }

 private:
  std::shared_ptr<const std::vector<E>> items_;  // shared: iterators are copied
  std::size_t i_ = 0;
};

/// `d[key]` and `l[index]`: a reference to one element on the daemon, not a copy. Each read
/// fetches the element (`get<T>()`, or converting to Value), each assignment stores it, at once;
/// nothing is cached, so `d["a"] = d["b"]` is a get then a set, two calls, not atomic (use the
/// proxy's increment or compare_and_set for that).
template <class Proxy, class Key>
class ElementRef {
 public:
  ElementRef(Proxy proxy, Key key) : proxy_(std::move(proxy)), key_(std::move(key)) {}
  ElementRef(const ElementRef&) = default;  // another reference to the same element
  template <class T>
  ElementRef& operator=(const T& value) {
    proxy_.set(key_, value);
    return *this;
  }
  ElementRef& operator=(const ElementRef& other) { return *this = other.get(); }
  /// The element now, as T. Throws KeyError/IndexError if absent, TypeError if not a T.
  template <class T = Value>
  T get() const {
    return proxy_.template get<T>(key_);
  }
  operator Value() const { return get(); }
  friend std::ostream& operator<<(std::ostream& os, const ElementRef& e) { return os << e.get(); }

 private:
  Proxy proxy_;
  Key key_;
};

}  // namespace detail
}  // namespace syncmgr

// msgpack adaptors: a ProxyRef is the map {"$proxy": [type, name]}, and every proxy packs as its
// ProxyRef, so `q.put(d)` or `ns.set("results", d)` stores a reference to d's object.
namespace msgpack {
MSGPACK_API_VERSION_NAMESPACE(MSGPACK_DEFAULT_API_NS) {
  namespace adaptor {
  template <>
  struct pack<syncmgr::ProxyRef> {
    template <typename Stream>
    msgpack::packer<Stream>& operator()(msgpack::packer<Stream>& p,
                                        const syncmgr::ProxyRef& r) const {
      p.pack_map(1);
      p.pack(std::string_view("$proxy"));
      p.pack_array(2);
      p.pack(r.type);
      p.pack(r.name);
      return p;
    }
  };
  template <>
  struct convert<syncmgr::ProxyRef> {
    const msgpack::object& operator()(const msgpack::object& o, syncmgr::ProxyRef& r) const {
      if (o.type != msgpack::type::MAP || o.via.map.size != 1) throw msgpack::type_error();
      const auto& kv = o.via.map.ptr[0];
      if (kv.key.type != msgpack::type::STR || kv.key.as<std::string_view>() != "$proxy" ||
          kv.val.type != msgpack::type::ARRAY || kv.val.via.array.size != 2)
        throw msgpack::type_error();
      r.type = kv.val.via.array.ptr[0].as<std::string>();
      r.name = kv.val.via.array.ptr[1].as<std::string>();
      return o;
    }
  };
  template <class P>
  struct pack<P, std::enable_if_t<std::is_base_of_v<syncmgr::detail::ProxyBase, P>>> {
    template <typename Stream>
    msgpack::packer<Stream>& operator()(msgpack::packer<Stream>& p, const P& proxy) const {
      return p.pack(proxy.ref());
    }
  };
  }  // namespace adaptor
}
}  // namespace msgpack
