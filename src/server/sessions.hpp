// Client sessions: the handshake that creates them, their sequence numbers and leases, and the
// per-peer limit on failed authentication.
//
// A session is created by a successful handshake and identified by a random 64-bit id carried in
// every frame header. It ends when the client says bye, when its connection closes (the process
// died, the link dropped: see Gate::take_closed), or when no frame arrives from it for the session
// timeout (clients send heartbeats every third of it). Ending a session releases what it holds.
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
#include "syncmgr/value.hpp"

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
  std::string peer;        // peer address, for logs and server.sessions
  bool frame_macs = true;  // false: a session that agreed to frames without MACs
  /// Objects where this session holds something (a lock, permits): released when it ends.
  std::unordered_set<std::string> holdings;
  int fd = -1;  // the socket descriptor of its connection, to learn when it closes (gate.hpp)
  Clock::time_point opened{};  // when its handshake completed (server.sessions shows its age)

  // Items handed out (PROTOCOL.md, "Delivery acknowledgement"): until the client acknowledges the
  // reply frame that carried them, or, for a JoinableQueue that asks for it, until task_done,
  // they are the session's; when it ends they go back to the head of their queue.
  struct Delivery {
    std::string queue;
    Value item;
    std::uint64_t seq = 0;  // of the reply frame that carried it; 0: not sent yet
  };
  /// Whether the client acknowledges replies (its request frames set ACK); if not, each reply
  /// counts as acknowledged when it is sent, as older clients expect.
  bool acks = false;
  std::deque<Delivery> unacked{};  // in delivery order
  /// JoinableQueue items got and not yet task_done'd by this session, by queue, oldest first.
  std::unordered_map<std::string, std::deque<Value>> undone{};

  /// Records an item handed out by a reply of this session (the reply is sent next).
  void delivered(const std::string& queue, const Value& item) {
    if (acks) unacked.push_back(Delivery{queue, item, 0});
  }
  /// The reply frame `seq` carries the items delivered since the last one.
  void sent(std::uint64_t seq) {
    for (auto it = unacked.rbegin(); it != unacked.rend() && it->seq == 0; ++it)
      it->seq = seq;
  }
  /// The client has received every reply frame up to `ack`.
  void acknowledged(std::uint64_t ack) {
    acks = true;
    while (!unacked.empty() && unacked.front().seq != 0 && unacked.front().seq <= ack)
      unacked.pop_front();
  }
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
  const Session* find(std::uint64_t id) const {
    auto it = sessions_.find(id);
    return it == sessions_.end() ? nullptr : it->second.get();
  }
  void close(std::uint64_t id);
  /// The connection `conn` is gone: drops its handshake in progress and returns the ids of its
  /// sessions (the caller ends them: bound to that connection, they can never speak again).
  std::vector<std::uint64_t> connection_closed(std::string_view conn);
  /// Records that `session` speaks through the socket descriptor `fd`.
  void set_descriptor(Session& session, int fd);
  /// The sessions of the closed connection on descriptor `fd` whose gate id number is at most
  /// `last` (a later connection may have that descriptor already: gate.hpp). They can never speak
  /// again (a session is bound to its connection), so the caller ends them.
  std::vector<std::uint64_t> of_closed(int fd, std::uint64_t last) const;
  /// Ids of sessions idle past the timeout (the caller ends them); drops stale handshakes.
  std::vector<std::uint64_t> expire(Clock::time_point now);

  std::size_t size() const { return sessions_.size(); }
  /// Calls fn(const Session&) for each live session, in no particular order.
  template <class F>
  void for_each(F&& fn) const {
    for (const auto& [id, s] : sessions_)
      fn(static_cast<const Session&>(*s));
  }
  std::chrono::milliseconds session_timeout() const { return timeout_; }
  /// Handshakes that got a challenge but no auth: expired, or their connection closed first. A
  /// client whose key differs stops there (it never proves anything to a daemon that could not
  /// prove itself), so this is where a wrong key shows on the daemon's side.
  std::uint64_t abandoned_handshakes() const { return abandoned_; }
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
  std::unordered_multimap<int, std::uint64_t> by_fd_;  // live sessions with a known descriptor
  std::unordered_map<std::uint64_t, Pending> pending_;
  std::unordered_map<std::string, std::uint64_t> pending_of_conn_;
  std::deque<std::uint64_t> pending_order_;  // oldest first; ids no longer pending are skipped
  void drop_pending(std::uint64_t id);
  AuthFailures failures_;
  std::uint64_t abandoned_ = 0;
  LogLimiter abandoned_log_{10};
  /// Drops a handshake that got no auth, counting and (rate-limited) logging it.
  void abandon(std::uint64_t id, const char* why);
};

/// The process id in a peer string, where the transport learned it: a unix:// peer is
/// "unix pid P uid U" (SO_PEERCRED), an ipc:// peer's ZeroMQ Peer-Address is
/// "localhost:uid:gid:pid".
/// 0 when unknown (tcp peers).
std::int64_t pid_of_peer(std::string_view peer);

/// An unsealed `refused` frame: [kind, message].
std::string refused_frame(std::uint64_t session, std::string_view kind, std::string_view message);

}  // namespace syncmgr::server
