// The daemon's event loop: one thread owns every object and session and serves all clients from one
// ZeroMQ ROUTER socket bound to any number of endpoints. It never blocks on a client: sends never
// wait (ROUTER drops frames for peers that are gone or over their high-water mark), and a call that
// must wait is parked (blocking.hpp) rather than holding the loop.
#pragma once

#include <sys/epoll.h>
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include <msgpack.hpp>
#include <zmq.hpp>

#include "protocol/curve.hpp"
#include "protocol/msgpack_read.hpp"
#include "protocol/spin.hpp"
#include "protocol/wire.hpp"
#include "server/blocking.hpp"
#include "server/commands.hpp"
#include "server/gate.hpp"
#include "server/log.hpp"
#include "server/registry.hpp"
#include "server/sessions.hpp"
#include "server/unix_links.hpp"

namespace syncmgr::server {

struct ServerOptions {
  std::vector<std::string> binds;
  std::string authkey;
  std::size_t max_message_size = 64u << 20;
  std::chrono::milliseconds session_timeout{10000};
  /// Refuse ipc clients' requests to drop per-frame MACs (see docs/PROTOCOL.md, "Security").
  bool require_frame_macs = false;
  /// When not 0: shut down once this process is no longer our parent (it exited or was killed).
  pid_t owner_pid = 0;
  /// The mode of ipc:// and unix:// socket files.
  mode_t socket_mode = 0600;
};

struct ServerStats {
  std::size_t sessions;
  std::size_t objects;
  std::uint64_t ops_total;
  double ops_per_second;  // over the last full second
  double uptime_seconds;
  std::uint64_t auth_failures;
  std::uint64_t abandoned_handshakes;  // challenged, never answered (a wrong key, see sessions.hpp)
  std::uint64_t refused_connections;   // ZeroMQ handshakes the gate refused or that failed
  std::uint64_t rejected_frames;
  std::uint64_t request_frames;  // authenticated request frames (a frame may carry many requests)
  std::size_t parked_calls;
};

class Server : private BlockingHost, private UnixLinks::Sink {
 public:
  /// Binds every endpoint; throws std::runtime_error("cannot bind <endpoint>: <reason>").
  explicit Server(ServerOptions options);
  ~Server();

  /// The bound endpoints, with wildcard ports resolved (tcp://127.0.0.1:*).
  const std::vector<std::string>& endpoints() const { return endpoints_; }

  /// Serves until server.shutdown or until `stop_fd` (a signalfd, or -1) becomes readable.
  void run(int stop_fd);

  // Used by the server.* handlers.
  void request_shutdown() { shutdown_ = true; }
  void close_session_after_reply(std::uint64_t id) { closing_.push_back(id); }
  ServerStats stats() const;
  const CommandTable& commands() const { return commands_; }
  /// The live sessions (server.sessions, server.inspect).
  const SessionTable& sessions() const { return sessions_; }

  // Used by handlers of blocking types.
  /// A number that grows with every call: fencing tokens for lock grants.
  std::uint64_t next_fence() { return ++fence_; }
  /// The parked calls: handlers park through their Reply, signal other objects' keys and find
  /// waiters (a Condition's notify) here.
  Blocking& blocking() { return blocking_; }

 private:
  /// Where a frame came from, for logs: the ZeroMQ message (its peer address is read only when
  /// needed) or a unix:// connection's description.
  struct Origin {
    zmq::message_t* meta = nullptr;
    const std::string* peer = nullptr;
  };
  /// The largest frame accepted: the largest message plus header, ack and tag.
  std::size_t frame_limit() const {
    return options_.max_message_size + protocol::kHeaderSize + protocol::kAckSize +
           protocol::kTagSize;
  }
  /// Takes what the ROUTER has queued, a bounded batch (loop.cpp); true if it took everything.
  bool drain_router();
  /// Receives the rest of a message whose first part is `first` and handles it. On tcp a frame
  /// comes in parts (protocol/curve.hpp): they are joined here.
  void on_parts(zmq::message_t& routing, zmq::message_t& first);
  // UnixLinks::Sink
  void on_unix_frame(std::string_view conn, const std::string& peer,
                     std::string_view frame) override;
  void on_unix_closed(std::string_view conn) override;
  /// One frame from the connection `conn` (the gate's id for it, see gate.hpp, or a unix://
  /// connection's; replies to ZeroMQ peers are addressed by `routing_id`).
  void on_message(const std::string& routing_id, std::string_view conn, const Origin& from,
                  std::string_view frame);
  /// Sends an unsealed refusal, unless this connection has had too many already (a peer that
  /// sends garbage and never reads must not make the daemon queue answers without end).
  void refuse(const std::string& routing_id, std::string_view conn, std::uint64_t session,
              std::string_view kind, std::string_view message);
  void on_request(Session& session, std::string_view payload);
  /// A request that read_request did not take: read by msgpack-c, which words what is wrong with
  /// it; false when nothing after it can be read.
  bool dispatch_general(Session& session, protocol::Cursor& cursor, msgpack::sbuffer& out);
  /// Runs one request whose arguments are in args_, or still packed in `raw_args`.
  void execute(Session& session, std::uint64_t id, std::string_view op, std::string_view target,
               const msgpack::object* raw_args, msgpack::sbuffer& out);
  /// Sends a frame to connection `conn` (a ZeroMQ one by its routing id). Never waits: a peer that
  /// is gone or not reading loses it (ZeroMQ), or is disconnected past a limit (unix_links.hpp).
  void send_frame(const std::string& routing_id, std::string_view conn, std::string frame);
  /// epoll_wait, after a short adaptive spin when it would sleep.
  int wait_events(epoll_event* events, int max, int timeout_ms);
  void send_frame(const std::string& routing_id, std::string_view conn, msgpack::sbuffer&& frame);
  void send_message(const std::string& routing_id, zmq::message_t body);
  void end_session(std::uint64_t id, const char* why);
  /// Ends the sessions of connections that closed (the gate's notices, taken before the frames
  /// read since: what a connection sent before it closed is served first).
  void end_closed(const std::vector<Gate::Closed>& closed);
  void tick(Clock::time_point now);

  /// Packs the reply to one request (value or error, with the op and object named in errors).
  void pack_reply(msgpack::sbuffer& out, std::uint64_t id, Reply& r, const Command& cmd,
                  std::string_view target);
  /// Seals a frame of replies with the session's next sequence number and sends it.
  void send_reply_frame(Session& session, protocol::FrameBuilder& frame);
  Reply run_handler(const Command& cmd, Ctx& ctx);
  // BlockingHost: how the blocking module retries and answers parked calls.
  Reply retry(Waiter& w, bool timed_out) override;
  void answer(const Waiter& w, Reply& r) override;
  void unserved(const Waiter& w, Outcome how) override;

  ServerOptions options_;
  CommandTable commands_;
  Registry registry_;
  SessionTable sessions_;
  protocol::CurveKeys curve_;
  zmq::context_t context_;
  zmq::socket_t router_;
  std::unique_ptr<Gate> gate_;  // declared after the socket it watches: stopped before it closes
  int epoll_fd_;                // the loop waits here: the ROUTER's fd, unix:// sockets, signals
  std::unique_ptr<UnixLinks> unix_;  // when a unix:// endpoint is bound
  bool router_touched_ = true;       // the ROUTER was used since its events were last checked
  LogLimiter mac_log_, replay_log_, stall_log_;
  std::unordered_map<std::string, std::uint32_t> refusals_;  // per connection, cleared each minute
  Clock::time_point refusals_window_ = Clock::now();
  std::vector<std::string> endpoints_;
  bool shutdown_ = false;
  std::vector<std::uint64_t> closing_;
  protocol::FrameBuilder reply_frame_;  // on_request's
  protocol::SpinPolicy spin_;           // wait_events'

  std::vector<Value> args_;           // dispatch's argument list, kept for its capacity
  msgpack::zone request_zone_{8192};  // dispatch_general's, emptied after each request
  std::vector<Gate::Closed> closed_;  // notices of closed connections not acted on yet
  Blocking blocking_{*this};
  std::uint64_t fence_ = 0;
  /// After the loop itself stalled: sessions are not expired before this (see run()).
  Clock::time_point expire_not_before_{};
  static constexpr std::chrono::milliseconds kStallThreshold{500};

  Clock::time_point started_ = Clock::now();
  Clock::time_point rate_window_start_ = started_;
  std::uint64_t ops_total_ = 0;
  std::uint64_t ops_at_window_start_ = 0;
  double ops_per_second_ = 0;
  std::uint64_t rejected_frames_ = 0;
  std::uint64_t request_frames_ = 0;
};

}  // namespace syncmgr::server
