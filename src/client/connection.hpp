// One client connection to syncmgrd: a transport (transport.hpp: a ZeroMQ DEALER, or a unix://
// stream) driven by whichever thread needs it.
//
// The transport has one driver at a time (the "pump", `pumping_`): a thread waiting for its own
// reply drives it itself, so a synchronous call costs no client-side thread switch (the reply wakes
// the caller straight from its poll(2)). Threads that find the pump taken queue their request, wake
// the pump through an eventfd and sleep on their call's condition variable; the pump sends their
// requests coalesced into one frame and hands their replies over. When the pump's own call is done
// it hands the socket to a waiting thread. A background thread drives it only when nobody else
// does and there is work: the handshake, heartbeats (every third of the session timeout), frames
// to send, a rehandshake after the daemon forgot the session.
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
#include <vector>

#include <msgpack.hpp>
#include <zmq.hpp>

#include "client/id_map.hpp"
#include "client/reply_reader.hpp"
#include "client/transport.hpp"
#include "protocol/mac.hpp"
#include "protocol/spin.hpp"
#include "protocol/wire.hpp"
#include "syncmgr/future.hpp"

namespace syncmgr::detail {

using Clock = std::chrono::steady_clock;

class Connection;

/// One call in flight: shared by the connection (until answered) and the caller's Future.
struct PendingCall {
  std::uint64_t id = 0;
  std::string op, target;  // named in errors
  std::optional<Clock::time_point> deadline;
  bool cancellable = false;  // may be parked on the daemon: cancel it there past the deadline
  std::shared_ptr<Connection> conn;
  // Under the connection's mu_.
  std::condition_variable cv;
  bool done = false;
  bool waiting = false;  // a thread sleeps on cv
  ReplyRef reply;
  std::string error_kind;  // set when the call failed: locally (connection lost, ...) or
  std::string error_message;
  bool daemon_error = false;  // by the daemon's error reply
};

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  /// Connects and completes the handshake; throws AuthenticationError, ProtocolError or
  /// ConnectionError (no answer within connect_timeout). Use open() for a shared_ptr.
  Connection(std::string endpoint, std::string authkey, std::chrono::milliseconds connect_timeout,
             bool frame_macs);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  /// frame_macs false asks the daemon for frames without MACs (granted on ipc only).
  static std::shared_ptr<Connection> open(std::string endpoint, std::string authkey,
                                          std::chrono::milliseconds connect_timeout,
                                          bool frame_macs);

  std::uint64_t next_id() { return next_id_.fetch_add(1, std::memory_order_relaxed); }
  /// Sends `request` (kHeaderSize bytes of room, then the packed request array with this id, for
  /// `op` on `target`) and returns the call in flight. `deadline` (none: only the daemon's liveness
  /// bounds it) is when take() gives up; a `cancellable` call (one the daemon may park) is first
  /// cancelled there, so it cannot be served after its caller gave up (an item taken, a lock
  /// granted).
  std::shared_ptr<PendingCall> start(std::uint64_t id, std::string request,
                                     std::optional<Clock::time_point> deadline, std::string_view op,
                                     std::string_view target, bool cancellable, bool defer);
  /// Waits for the call's reply until `until` (none: until it arrives or the call fails).
  bool wait(PendingCall& call, std::optional<Clock::time_point> until);
  /// Waits up to the call's deadline and returns its reply; throws its error.
  ReplyRef take(PendingCall& call);
  /// Queues a request (with room, as for start) whose reply is ignored.
  void post(std::string request);

  const std::string& endpoint() const { return endpoint_; }
  /// How many established sessions of this connection have ended (expired or refused by the
  /// daemon, the link dropped, the daemon silent): counted before the calls sent on one are failed,
  /// so a lock grant received under an earlier count is known to be lost (issue 10 #1).
  std::uint64_t sessions_ended() const { return sessions_ended_.load(std::memory_order_acquire); }
  /// Ends the session now (server.bye) and closes the socket; calls in flight and later ones fail
  /// with ConnectionError. Idempotent; the destructor does it too.
  void close();

 private:
  /// A packed server.* request the connection sends on its own (heartbeat, bye, cancel).
  std::string server_request(std::string_view op, std::optional<std::uint64_t> arg = {});
  void background();
  /// After server.bye: waits (briefly) until the daemon has it.
  void await_bye();
  /// Queues a frame's worth of work and makes sure a pump sends it: the caller becomes the pump
  /// for a moment if none is running, else the running pump is woken.
  /// `defer`: an async call or a post, which may wait briefly to share a frame.
  void submit(std::unique_lock<std::mutex>& lock, std::uint64_t id, std::string request,
              bool defer);
  /// Gives up the pump (mu_ held): hands it to a thread waiting for a reply, else to the
  /// background thread when the connection needs attention.
  void release_pump(std::unique_lock<std::mutex>& lock);
  void wake_pump();
  // Pump only (the thread that set pumping_):
  /// One round: send what is queued, poll up to `limit` (bounded by the timers), read every frame,
  /// heartbeat, check liveness, retry the handshake.
  /// `for_reply`: a caller waiting for its reply drives it (it may spin before sleeping).
  void pump_once(std::optional<Clock::time_point> limit, bool for_reply = false);
  bool linked() const { return session_mac_.has_value() && !awaiting_welcome_; }
  void start_handshake();
  void on_frame(InFrame& msg);
  void on_refused(const protocol::Header& h, std::string_view frame);
  void on_challenge(const protocol::Header& h, std::string_view frame);
  void on_welcome(const protocol::Header& h, std::string_view frame);
  void on_reply(const protocol::Header& h, std::string_view frame, InFrame& msg);
  void flush_outbox();
  /// Sends one frame through the transport.
  bool send_raw(std::string frame);
  /// Seals and sends `frame`: header room || payload (see flush_outbox). False if not sent.
  bool send_sealed(std::string frame);
  /// A session frame could not be sent (the connection is down): see the .cpp.
  void connection_lost();
  /// Fails waiting calls: every one (`sent_only` false; queued ones are dropped too), or only those
  /// already sent on the current session. `fatal` makes the connection unusable.
  void fail_calls(std::string_view kind, const std::string& message, bool fatal, bool sent_only);

  enum class State { connecting, established, failed };

  const std::string endpoint_;
  const std::string authkey_;
  std::atomic<std::uint64_t> next_id_{1};
  std::atomic<std::uint64_t> sessions_ended_{0};

  // Shared by every thread, under mu_.
  std::mutex mu_;
  std::condition_variable state_cv_;
  std::condition_variable background_cv_;
  State state_ = State::connecting;
  std::string fatal_kind_, fatal_message_;
  /// A request id the connection tracks: a call whose caller may want the reply, a request sent
  /// on this session and not answered yet (fail_calls' sent_only), or both.
  struct InFlight {
    // Weak: a call whose future was dropped is forgotten; its reply, if any, is discarded.
    std::weak_ptr<PendingCall> call;
    bool has_call = false;  // a caller (start) registered it and has not given up
    bool sent = false;      // sent on the current session, not answered
  };
  IdMap<InFlight> calls_;
  std::size_t callers_ = 0;  // entries with has_call
  /// Forgets the caller of `e` (id `id`); the entry goes once nothing else keeps it.
  void drop_caller(std::uint64_t id, InFlight& e);
  std::vector<std::pair<std::uint64_t, std::string>> outbox_;
  std::atomic<bool> queued_{false};  // outbox_ is not empty (read by the pump without mu_)
  bool pumping_ = false;
  std::size_t sleepers_ = 0;      // calls with waiting set
  bool needs_background_ = true;  // the handshake is not complete, or a frame waits to be sent
  Clock::time_point next_timer_;  // the pump's next heartbeat or handshake retry
  std::optional<Clock::time_point> flush_by_;  // when held-back requests must go out
  Clock::time_point background_wake_at_;       // when the background thread looks in next
  bool stop_ = false;
  std::size_t max_message_size_ = 64u << 20;

  int wake_fd_ = -1;

  // The pump's: touched only by the thread that holds pumping_ (mu_ orders the hand-overs).
  std::unique_ptr<Transport> transport_;
  protocol::SpinPolicy spin_;                                    // the pump's (whoever holds it)
  std::vector<std::pair<std::uint64_t, std::string>> flushing_;  // see flush_outbox
  std::vector<Reply> replies_;                                   // see on_reply
  protocol::Hmac authkey_mac_;
  std::optional<protocol::Hmac> session_mac_;
  std::uint64_t session_ = 0;
  std::uint64_t out_seq_ = 0;
  std::uint64_t in_seq_ = 0;
  std::string client_nonce_;
  std::deque<std::string> hello_nonces_;  // of the hellos sent since the last welcome
  std::string server_nonce_;
  bool awaiting_welcome_ = false;
  bool ever_established_ = false;  // a later handshake that fails is not the end of the connection
  const bool want_frame_macs_;
  bool frame_macs_ = true;  // as the welcome settled it
  Clock::time_point handshake_deadline_;
  std::chrono::milliseconds session_timeout_{10000};
  Clock::time_point last_sent_;
  Clock::time_point last_received_;
  std::thread background_;
};

}  // namespace syncmgr::detail
