// The ZeroMQ transport (transport.hpp): a DEALER socket for tcp:// (CURVE-encrypted, frames in
// parts) and ipc://, in the process's one ZeroMQ context.
#include <poll.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <mutex>

#include "client/transport.hpp"
#include "protocol/curve.hpp"
#include "protocol/unix_stream.hpp"
#include "protocol/zmq_frame.hpp"
#include "syncmgr/errors.hpp"

namespace syncmgr::detail {

namespace {

// libzmq fails a call with EINTR when a signal arrives while it runs its pending commands, even a
// non-blocking one, and before it has taken or given any message; cppzmq throws that. A program
// with a SIGALRM or SIGCHLD handler (or a profiler) gets such signals at any time, so every call on
// the socket is made again rather than letting the error escape the pump (which left the pump
// taken and every later call waiting, or aborted the background thread).
template <typename F>
auto retry_eintr(F&& f) {
  for (;;) {
    try {
      return f();
    } catch (const zmq::error_t& e) {
      if (e.num() != EINTR) throw;
    }
  }
}

// One ZeroMQ context per process, shared by its connections. A context is an I/O thread, a reaper
// thread and several descriptors: a process that opened dozens of Managers, each with a context of
// its own, ran out of files inside libzmq, which aborts there. A fork()ed child makes its own: the
// parent's threads do not exist in it, so the parent's context must never be used or destroyed
// there (the child's inherited connections keep it, leaked on purpose; see Client).
std::shared_ptr<zmq::context_t> process_context() {
  static std::mutex mu;
  static std::weak_ptr<zmq::context_t> shared;
  static pid_t owner = 0;
  std::lock_guard lock(mu);
  auto ctx = shared.lock();
  if (!ctx || owner != ::getpid()) {
    ctx = std::make_shared<zmq::context_t>(1);
    shared = ctx;
    owner = ::getpid();
  }
  return ctx;
}

/// Reads the socket's ZeroMQ events while a connection waits for its first handshake, so that a
/// failure says why: nothing listening, or a peer that refused the encrypted (CURVE) handshake
/// because its key differs, which on tcp happens before any frame of ours.
class HandshakeWatch {
 public:
  HandshakeWatch(zmq::context_t& ctx, zmq::socket_t& socket);
  /// Stops the watch. libzmq sends monitor events blocking, from its I/O thread: a monitor left
  /// running without a reader would stall the connection at its next event.
  ~HandshakeWatch();
  HandshakeWatch(const HandshakeWatch&) = delete;
  HandshakeWatch& operator=(const HandshakeWatch&) = delete;
  /// Takes the events that arrived (never blocks).
  void read();
  /// ZeroMQ handshakes failed twice: the daemon will not take this key.
  bool refused() const { return failed_ >= 2; }
  std::string explain(const std::string& endpoint, std::chrono::milliseconds waited) const;

 private:
  zmq::socket_t& socket_;
  std::optional<zmq::socket_t> monitor_;
  bool watching_ = false;
  int connected_ = 0;
  int failed_ = 0;
  bool in_handshake_ = false;
};

HandshakeWatch::HandshakeWatch(zmq::context_t& ctx, zmq::socket_t& socket) : socket_(socket) {
  // Connections share the process's context: each watch needs an endpoint of its own.
  static std::atomic<std::uint64_t> next{0};
  std::string endpoint = "inproc://syncmgr.connection.monitor." + std::to_string(++next);
  int events = ZMQ_EVENT_CONNECTED | ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_HANDSHAKE_SUCCEEDED |
               ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
               ZMQ_EVENT_HANDSHAKE_FAILED_AUTH;
  try {
    monitor_.emplace(ctx, zmq::socket_type::pair);
    if (zmq_socket_monitor(socket.handle(), endpoint.c_str(), events) != 0) {
      monitor_.reset();
      return;  // without a watch, a failure is explained less precisely
    }
    watching_ = true;
    monitor_->set(zmq::sockopt::linger, 0);
    monitor_->connect(endpoint);
  } catch (const zmq::error_t&) {
    // Out of descriptors, say: the connection itself reports what fails next.
  }
}

HandshakeWatch::~HandshakeWatch() {
  // libzmq guards a socket's monitor with a mutex of its own, so this may run while another thread
  // drives the socket.
  if (watching_) zmq_socket_monitor(socket_.handle(), nullptr, 0);
}

void HandshakeWatch::read() {
  for (;;) {
    zmq::message_t ev, addr;
    try {
      if (!monitor_ || !monitor_->recv(ev, zmq::recv_flags::dontwait)) return;
      if (ev.more()) (void)monitor_->recv(addr, zmq::recv_flags::dontwait);
    } catch (const zmq::error_t&) {
      return;
    }
    if (ev.size() < 2) continue;
    std::uint16_t event;
    std::memcpy(&event, ev.data(), 2);
    if (event == ZMQ_EVENT_CONNECTED) {
      ++connected_;
      in_handshake_ = true;
    } else if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
      in_handshake_ = false;
    } else if (in_handshake_) {
      // Closed, or failed, before ZeroMQ's handshake completed.
      ++failed_;
      in_handshake_ = false;
    }
  }
}

std::string HandshakeWatch::explain(const std::string& endpoint,
                                    std::chrono::milliseconds waited) const {
  if (refused())
    return "syncmgrd at " + endpoint +
           " refused the encrypted handshake: its key is not this client's key (or the peer is "
           "not a syncmgrd of this version)";
  std::string within = " within " + std::to_string(waited.count()) + " ms";
  if (connected_ == 0)
    return "could not connect to syncmgrd at " + endpoint + within +
           " (is the daemon running, and is this its endpoint?)";
  return "no answer from syncmgrd at " + endpoint + within;
}

class ZmqTransport final : public Transport {
 public:
  ZmqTransport(const std::string& endpoint, const std::string& authkey);
  ~ZmqTransport() override { close(); }
  bool send(std::string frame) override;
  std::optional<InFrame> receive() override;
  bool ready() override {
    return (retry_eintr([&] { return dealer_.get(zmq::sockopt::events); }) & ZMQ_POLLIN) != 0;
  }
  int fd() override { return dealer_.get(zmq::sockopt::fd); }
  // ZeroMQ reconnects on its own; a send while disconnected fails (`immediate`), which tells.
  bool take_dropped() override { return false; }
  void close() override {
    watch_.reset();
    if (dealer_) dealer_.close();
  }
  void watch() override {
    if (watch_) watch_->read();
  }
  bool refused() const override { return watch_ && watch_->refused(); }
  std::string explain(std::chrono::milliseconds waited) const override {
    return watch_ ? watch_->explain(endpoint_, waited) : "no answer from syncmgrd at " + endpoint_;
  }
  void watch_done() override { watch_.reset(); }

 private:
  std::string endpoint_;
  std::shared_ptr<zmq::context_t> context_;  // the process's (process_context above)
  zmq::socket_t dealer_;
  bool tcp_;  // CURVE-encrypted, frames sent in parts
  std::optional<HandshakeWatch> watch_;
};

ZmqTransport::ZmqTransport(const std::string& endpoint, const std::string& authkey)
    : endpoint_(endpoint),
      context_(process_context()),
      dealer_(*context_, zmq::socket_type::dealer),
      tcp_(protocol::is_tcp_endpoint(endpoint)) {
  if (tcp_) {
    // tcp is encrypted with CURVE, both keypairs derived from the shared key (protocol/curve.hpp).
    auto keys = protocol::derive_curve_keys(authkey);
    dealer_.set(zmq::sockopt::curve_serverkey, keys.server_public);
    dealer_.set(zmq::sockopt::curve_publickey, keys.client_public);
    dealer_.set(zmq::sockopt::curve_secretkey, keys.client_secret);
  }
  // Watched until the handshake settles, so that a failure says why (see HandshakeWatch).
  watch_.emplace(*context_, dealer_);
  // immediate: queue nothing for a peer that is not connected, so no stale handshake frame is
  // delivered to a daemon that comes up later.
  dealer_.set(zmq::sockopt::immediate, 1);
  dealer_.set(zmq::sockopt::linger, 200);
  dealer_.set(zmq::sockopt::reconnect_ivl, 100);
  dealer_.set(zmq::sockopt::reconnect_ivl_max, 2000);
  // Unbounded on our side: replies to async calls nobody waits for yet pile up here rather than
  // at the daemon, whose ROUTER would drop them once our pipe is full.
  dealer_.set(zmq::sockopt::rcvhwm, 0);
  try {
    dealer_.connect(endpoint_);
  } catch (const zmq::error_t& e) {
    throw ConnectionError("cannot connect to " + endpoint_ + ": " + e.what());
  }
}

bool ZmqTransport::send(std::string frame) {
  // dontwait: with `immediate`, a send while disconnected fails instead of queueing.
  if (!tcp_ || frame.size() <= protocol::kWirePartSize) {
    zmq::message_t msg = protocol::frame_message(std::move(frame));
    return retry_eintr([&] { return dealer_.send(msg, zmq::send_flags::dontwait); }).has_value();
  }
  // In parts, which share the frame rather than copy it: ZeroMQ frees it with the last part.
  auto shared = std::make_shared<std::string>(std::move(frame));
  for (std::size_t off = 0; off < shared->size(); off += protocol::kWirePartSize) {
    std::size_t len = std::min(protocol::kWirePartSize, shared->size() - off);
    auto hold = std::make_unique<std::shared_ptr<std::string>>(shared);
    zmq::message_t part(
        shared->data() + off, len,
        [](void*, void* h) { delete static_cast<std::shared_ptr<std::string>*>(h); }, hold.get());
    (void)hold.release();
    bool last = off + len == shared->size();
    auto flags =
        last ? zmq::send_flags::dontwait : zmq::send_flags::dontwait | zmq::send_flags::sndmore;
    // ZeroMQ takes a message's parts all or none: only the first can fail (not connected).
    if (!retry_eintr([&] { return dealer_.send(part, flags); })) return false;
  }
  return true;
}

std::optional<InFrame> ZmqTransport::receive() {
  for (;;) {
    zmq::message_t msg;
    if (!retry_eintr([&] { return dealer_.recv(msg, zmq::recv_flags::dontwait); }))
      return std::nullopt;
    if (msg.more()) continue;  // frames from the daemon are single-part: skip anything else
    return InFrame(std::move(msg));
  }
}

}  // namespace

std::string_view InFrame::bytes() const {
  switch (kind_) {
    case Kind::message:
      return std::string_view(msg_.data<char>(), msg_.size());
    case Kind::owned:
      return owned_;
    default:
      return view_;
  }
}

void InFrame::give_to(msgpack::zone& zone) {
  if (kind_ == Kind::message) {
    // Moved to the heap, where the zone frees it. A message this large keeps its data in a block
    // of its own (only messages of up to 33 bytes live inside the message object), so the bytes
    // stay where they are.
    auto owned = std::make_unique<zmq::message_t>(std::move(msg_));
    zone.push_finalizer([](void* m) { delete static_cast<zmq::message_t*>(m); }, owned.get());
    view_ = std::string_view(owned->data<char>(), owned->size());
    (void)owned.release();
  } else {
    // A heap string's buffer does not move with the string (only short ones live inside it).
    auto owned = std::make_unique<std::string>(kind_ == Kind::owned ? std::move(owned_)
                                                                    : std::string(view_));
    zone.push_finalizer([](void* s) { delete static_cast<std::string*>(s); }, owned.get());
    view_ = *owned;
    (void)owned.release();
  }
  kind_ = Kind::view;
}

std::unique_ptr<Transport> make_unix_transport(const std::string& endpoint);

std::unique_ptr<Transport> open_transport(const std::string& endpoint, const std::string& authkey) {
  if (protocol::unix_path(endpoint)) return make_unix_transport(endpoint);
  return std::make_unique<ZmqTransport>(endpoint, authkey);
}

}  // namespace syncmgr::detail
