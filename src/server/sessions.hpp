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
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "protocol/mac.hpp"
#include "protocol/wire.hpp"

namespace syncmgr::server {

using Clock = std::chrono::steady_clock;

struct Session {
  std::uint64_t id = 0;
  std::string routing_id;  // the ROUTER identity of the client's current connection
  protocol::Hmac key;      // the session key, keyed once
  std::uint64_t last_in_seq = 0;
  std::uint64_t out_seq = 0;
  Clock::time_point last_seen;
  std::string peer;        // peer address, for logs
  bool frame_macs = true;  // false: an ipc session that agreed to frames without MACs
  /// Objects where this session holds something (a lock, permits): released when it ends.
  std::unordered_set<std::string> holdings;
};

/// Limits how often one peer address may fail authentication, and how often failures are logged.
class AuthFailures {
 public:
  /// True while `peer` is locked out after repeated failures.
  bool locked_out(const std::string& peer, Clock::time_point now);
  /// Records and (rate-limited) logs one failure.
  void record(const std::string& peer, Clock::time_point now, const char* what);
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
};

/// A frame to send back to the peer a handshake frame came from.
struct HandshakeAnswer {
  std::string frame;
  Session* established = nullptr;  // set when an auth frame completed a handshake
};

class SessionTable {
 public:
  SessionTable(std::string authkey, std::chrono::milliseconds session_timeout,
               std::size_t max_message_size, bool allow_unsealed_ipc);

  HandshakeAnswer on_hello(const protocol::Header& h, std::string_view frame,
                           const std::string& routing_id, const std::string& peer);
  HandshakeAnswer on_auth(const protocol::Header& h, std::string_view frame,
                          const std::string& routing_id, const std::string& peer);

  Session* find(std::uint64_t id);
  void close(std::uint64_t id);
  /// Ids of sessions idle past the timeout (the caller ends them); drops stale handshakes.
  std::vector<std::uint64_t> expire(Clock::time_point now);

  std::size_t size() const { return sessions_.size(); }
  std::chrono::milliseconds session_timeout() const { return timeout_; }
  AuthFailures& failures() { return failures_; }
  const AuthFailures& failures() const { return failures_; }

 private:
  struct Pending {
    std::string client_nonce;
    std::string server_nonce;
    Clock::time_point deadline;
    bool wants_unsealed = false;  // the hello asked for frames without MACs
  };
  std::string refuse(std::uint64_t session, std::string_view kind, std::string_view message);

  protocol::Hmac authkey_;
  std::chrono::milliseconds timeout_;
  std::size_t max_message_size_;
  bool allow_unsealed_ipc_;
  std::unordered_map<std::uint64_t, std::unique_ptr<Session>> sessions_;
  std::unordered_map<std::uint64_t, Pending> pending_;
  AuthFailures failures_;
};

/// An unsealed `refused` frame: [kind, message].
std::string refused_frame(std::uint64_t session, std::string_view kind, std::string_view message);

}  // namespace syncmgr::server
