// The unix:// transport on the daemon's side: Unix-domain stream sockets served by the daemon's own
// epoll loop, with no I/O thread between a client and the loop (ZeroMQ moves every message through
// an I/O thread on each side; on one host that costs more than the daemon's own work).
//
// Each frame on a stream is preceded by its 4-byte length (protocol/unix_stream.hpp); the frames,
// handshake and session rules are the same as over ZeroMQ. Who may connect: peers running as the
// daemon's user or root (SO_PEERCRED), and the group's members when the socket's mode lets the
// group in. The socket file is created with the mode given (0600 by default).
//
// Never blocking on a client: sockets are non-blocking; what a peer does not read is queued for it
// up to a limit, past which (or when the peer takes none of it for a session timeout) the
// connection is closed: its session ends, which is said, where a ZeroMQ peer's frames would be
// dropped silently. An unauthenticated connection may send
// frames of at most kPreAuthFrameMax bytes.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "server/log.hpp"

namespace syncmgr::server {

class UnixLinks {
 public:
  /// What the loop does with what arrives.
  class Sink {
   public:
    virtual ~Sink() = default;
    /// One whole frame from connection `conn` ("u<n>"); `peer` describes the peer for logs.
    virtual void on_unix_frame(std::string_view conn, const std::string& peer,
                               std::string_view frame) = 0;
    /// The connection is gone (closed by the peer, or by us): its sessions cannot speak again.
    virtual void on_unix_closed(std::string_view conn) = 0;
  };

  /// Registers sockets with `epoll_fd` under tokens from kFirstToken on.
  UnixLinks(int epoll_fd, Sink& sink, std::size_t max_frame, mode_t mode);
  ~UnixLinks();
  UnixLinks(const UnixLinks&) = delete;
  UnixLinks& operator=(const UnixLinks&) = delete;

  /// Listens on "unix:///path"; returns the endpoint. Throws std::runtime_error("cannot bind
  /// <endpoint>: <reason>"), also when another daemon listens there.
  std::string bind(const std::string& endpoint);

  /// Tokens below this are the loop's own (the ZeroMQ socket, the signal fd).
  static constexpr std::uint64_t kFirstToken = 16;
  /// As ZeroMQ's handshake interval on the daemon's other endpoints: idle or stalled connections
  /// that never authenticate do not pile up.
  static constexpr std::chrono::seconds kHandshakeLimit{5};
  /// Handles an epoll event for one of our tokens.
  void on_event(std::uint64_t token, std::uint32_t events);
  /// True for a connection id of this transport.
  static bool is_unix_conn(std::string_view conn) { return !conn.empty() && conn[0] == 'u'; }
  /// Sends one frame (its length is prepended). A connection that is gone loses it.
  void send(std::string_view conn, std::string_view frame);
  /// The connection completed a handshake: frames up to the full size are accepted from now on.
  void authenticated(std::string_view conn);
  std::size_t connections() const { return conns_.size(); }
  /// Closes connections with replies queued of which the peer has taken nothing for `limit`, and
  /// connections that have not completed a handshake within kHandshakeLimit.
  void check_stalled(std::chrono::steady_clock::time_point now, std::chrono::milliseconds limit);
  /// Closes the connections found dead or hopeless since the last call (the loop calls it after
  /// each pass: a send may doom a connection while another one's frame is handled).
  void reap();

 private:
  struct Listener {
    int fd = -1;
    std::string path;
    dev_t dev = 0;
    ino_t ino = 0;
  };
  struct Conn {
    int fd = -1;
    std::string id;  // "u<token>"
    std::string peer;
    bool authenticated = false;
    bool closing = false;
    std::chrono::steady_clock::time_point accepted;  // closed if not authenticated soon after
    // Reading: the length prefix, then the body.
    unsigned char prefix[4] = {};
    std::size_t prefix_got = 0;
    std::string body;
    std::size_t body_got = 0;
    // Writing: what the socket did not take yet.
    std::string out;
    std::size_t out_off = 0;
    bool want_out = false;
    std::chrono::steady_clock::time_point last_progress;  // the socket last took queued bytes
  };

  void accept_all(Listener& l);
  bool admit(int fd, std::string& peer);
  void on_readable(std::uint64_t token);
  /// Feeds bytes read into the frame parser; false once the connection must close.
  bool consume(std::uint64_t token, const char* data, std::size_t len);
  /// Hands the frame read into `c.body` to the sink and makes ready for the next length prefix.
  void deliver_body(Conn& c);
  void flush(std::uint64_t token, Conn& c);
  /// Marks a connection to be closed by reap(); its frames are no longer handled or sent.
  void doom(std::uint64_t token);
  void watch_out(Conn& c, bool on, std::uint64_t token);
  void close_conn(std::uint64_t token);
  Conn* find(std::string_view conn, std::uint64_t* token = nullptr);

  int epoll_fd_;
  Sink& sink_;
  std::size_t max_frame_;
  std::size_t max_queued_;
  mode_t mode_;
  int reserve_fd_ = -1;  // given up to accept and drop a peer when out of descriptors
  std::uint64_t next_token_ = kFirstToken;
  std::unordered_map<std::uint64_t, Listener> listeners_;
  std::unordered_map<std::uint64_t, Conn> conns_;
  std::vector<std::uint64_t> doomed_;
  std::vector<char> scratch_;
  LogLimiter refused_log_, full_log_;
};

}  // namespace syncmgr::server
