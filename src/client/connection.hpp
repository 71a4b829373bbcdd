// One client connection to syncmgrd: a DEALER socket owned by a private I/O thread.
//
// Caller threads never touch the socket: they queue a packed request, wake the I/O thread through
// an eventfd and wait on their own condition variable, so many calls from many threads are in
// flight at once and a slow call never stalls another. The I/O thread coalesces queued requests
// into frames, seals them, sends heartbeats while the connection is idle or a call is waiting,
// handshakes again (and resends unanswered calls) when the daemon has forgotten the session, e.g.
// after a restart.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>

#include <msgpack.hpp>
#include <zmq.hpp>

#include "protocol/mac.hpp"
#include "protocol/wire.hpp"

namespace syncmgr::detail {

using Clock = std::chrono::steady_clock;

class Connection {
 public:
  /// Connects and completes the handshake; throws AuthenticationError, ProtocolError or
  /// ConnectionError (no answer within connect_timeout).
  Connection(std::string endpoint, std::string authkey, std::chrono::milliseconds connect_timeout);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  std::uint64_t next_id() { return next_id_.fetch_add(1, std::memory_order_relaxed); }
  /// Queues `request` (a packed request array with this id, for `op` on `target`, named in errors)
  /// and waits for its reply array, until `deadline` (none: until the reply, or until the daemon
  /// stops answering). Throws ConnectionError then. A call that may be parked on the daemon
  /// (`cancellable`) is cancelled there first, so it cannot be served after its caller gave up (an
  /// item taken, a lock granted).
  msgpack::object_handle call(std::uint64_t id, std::string request,
                              std::optional<Clock::time_point> deadline, std::string_view op,
                              std::string_view target, bool cancellable);
  /// Queues a request whose reply is ignored.
  void post(std::string request);

  const std::string& endpoint() const { return endpoint_; }

 private:
  struct Call {
    std::condition_variable cv;
    bool done = false;
    msgpack::object_handle reply;
    std::string error_kind;  // set when the call failed locally (connection lost, ...)
    std::string error_message;
  };
  enum class State { connecting, established, failed };

  /// A packed server.* request the connection sends on its own (heartbeat, bye, cancel).
  std::string server_request(std::string_view op, std::optional<std::uint64_t> arg = {});
  void run();
  void start_handshake();
  void on_frame(std::string_view frame);
  void on_refused(const protocol::Header& h, std::string_view frame);
  void on_challenge(const protocol::Header& h, std::string_view frame);
  void on_welcome(const protocol::Header& h, std::string_view frame);
  void on_reply(std::string_view frame);
  void flush_outbox();
  bool send_raw(const std::string& frame);
  void send_sealed(std::string_view payload);
  /// Fails waiting calls: every one (`sent_only` false; queued ones are dropped too), or only those
  /// already sent on the current session. `fatal` makes the connection unusable.
  void fail_calls(std::string_view kind, const std::string& message, bool fatal, bool sent_only);

  const std::string endpoint_;
  const std::string authkey_;
  std::atomic<std::uint64_t> next_id_{1};

  // Shared between caller threads and the I/O thread, under mu_.
  std::mutex mu_;
  std::condition_variable state_cv_;
  State state_ = State::connecting;
  std::string fatal_kind_, fatal_message_;
  std::unordered_map<std::uint64_t, Call*> calls_;
  std::deque<std::pair<std::uint64_t, std::string>> outbox_;
  bool stop_ = false;
  std::size_t max_message_size_ = 64u << 20;

  int wake_fd_ = -1;

  // I/O thread only.
  zmq::context_t context_;
  zmq::socket_t dealer_;
  protocol::Hmac authkey_mac_;
  std::optional<protocol::Hmac> session_mac_;
  std::uint64_t session_ = 0;
  std::uint64_t out_seq_ = 0;
  std::uint64_t in_seq_ = 0;
  std::string client_nonce_;
  std::string server_nonce_;
  bool awaiting_welcome_ = false;
  Clock::time_point handshake_deadline_;
  std::chrono::milliseconds session_timeout_{10000};
  Clock::time_point last_sent_;
  Clock::time_point last_received_;
  std::unordered_map<std::uint64_t, bool>
      unanswered_;  // ids sent on this session, not yet answered
  std::thread io_;
};

}  // namespace syncmgr::detail
