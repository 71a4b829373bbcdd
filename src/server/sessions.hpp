// Client sessions: the handshake that creates them, their sequence numbers and leases, and the
// per-peer limit on failed authentication.
//
// A session is created by a successful handshake and identified by a random 64-bit id carried in
// every frame header. It ends when the client says bye or when no frame arrives from it for the
// session timeout (clients send heartbeats every third of it). Ending a session releases what it
// holds.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "protocol/mac.hpp"
#include "protocol/wire.hpp"
#include "server/log.hpp"

namespace syncmgr::server {

using Clock = std::chrono::steady_clock;

struct Session {
  std::uint64_t id = 0;
  std::string routing_id;  // the ROUTER identity of its connection, to address replies
  std::string conn;        // the gate's id of that connection: the only one it speaks through
  protocol::Hmac key;      // the session key, keyed once
  std::uint64_t last_in_seq = 0;
  std::uint64_t out_seq = 0;
  Clock::time_point last_seen;
  std::string peer;        // peer address, for logs
  bool frame_macs = true;  // false: a session that agreed to frames without MACs
  /// Objects where this session holds something (a lock, permits): released when it ends.
  std::unordered_set<std::string> holdings;
};

/// Limits how often one connection may fail authentication, and how often failures are logged.
/// Counted per connection, not per address: a peer that fails cannot lock out the other clients
/// of its host (every connection passed the gate first, so guessing is not possible this way).
class AuthFailures {
 public:
  /// True while the connection `conn` is locked out after repeated failures.
  bool locked_out(std::string_view conn, Clock::time_point now);
  /// Records and (rate-limited) logs one failure of `conn` (from `peer`).
  void record(std::string_view conn, const std::string& peer, Clock::time_point now,
              const char* what);
  std::uint64_t total() const { return total_; }

 private:
  struct Entry {
    Clock::time_point window_start;
    int count = 0;
    int logged = 0;
    Clock::time_point locked_until;
  };
  std::unordered_map<std::string, Entry> peers_;
  std::uint64_t total_ = 0;
  LogLimiter log_{10};
};

/// A frame to send back to the peer a handshake frame came from.
struct HandshakeAnswer {
  std::string frame;
  Session* established = nullptr;  // set when an auth frame completed a handshake
};

class SessionTable {
 public:
  SessionTable(std::string authkey, std::chrono::milliseconds session_timeout,
               std::size_t max_message_size, bool allow_unsealed);

  /// A hello from connection `conn`. Each connection has at most one handshake in progress (a new
  /// hello replaces its earlier one), and when the table is full the oldest handshake gives way:
  /// one peer sending hellos fast cannot keep others from completing theirs.
  HandshakeAnswer on_hello(const protocol::Header& h, std::string_view frame,
                           std::string_view conn);
  /// An auth frame; it completes the handshake only on the connection that sent the hello.
  HandshakeAnswer on_auth(const protocol::Header& h, std::string_view frame,
                          const std::string& routing_id, std::string_view conn,
                          const std::string& peer);

  Session* find(std::uint64_t id);
  void close(std::uint64_t id);
  /// The connection `conn` is gone: drops its handshake in progress and returns the ids of its
  /// sessions (the caller ends them: bound to that connection, they can never speak again).
  std::vector<std::uint64_t> connection_closed(std::string_view conn);
  /// Ids of sessions idle past the timeout (the caller ends them); drops stale handshakes.
  std::vector<std::uint64_t> expire(Clock::time_point now);

  std::size_t size() const { return sessions_.size(); }
  std::chrono::milliseconds session_timeout() const { return timeout_; }
  AuthFailures& failures() { return failures_; }
  const AuthFailures& failures() const { return failures_; }

 private:
  struct Pending {
    std::string conn;
    std::string client_nonce;
    std::string server_nonce;
    Clock::time_point deadline;
    bool wants_unsealed = false;  // the hello asked for frames without MACs
  };
  std::string refuse(std::uint64_t session, std::string_view kind, std::string_view message);

  protocol::Hmac authkey_;
  std::chrono::milliseconds timeout_;
  std::size_t max_message_size_;
  bool allow_unsealed_;
  std::unordered_map<std::uint64_t, std::unique_ptr<Session>> sessions_;
  std::unordered_map<std::uint64_t, Pending> pending_;
  std::unordered_map<std::string, std::uint64_t> pending_of_conn_;
  std::deque<std::uint64_t> pending_order_;  // oldest first; ids no longer pending are skipped
  void drop_pending(std::uint64_t id);
  AuthFailures failures_;
};

/// An unsealed `refused` frame: [kind, message].
std::string refused_frame(std::uint64_t session, std::string_view kind, std::string_view message);

}  // namespace syncmgr::server
