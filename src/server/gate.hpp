// The gate: who may hold a ZeroMQ connection to the daemon at all, before any frame of ours.
//
// A ZAP handler (ZeroMQ's authentication hook, RFC 27) runs on its own thread and decides every
// connection's ZeroMQ handshake:
//   - tcp (CURVE): admitted only if the client's long-term key is the one derived from the shared
//     key; a peer without the key fails earlier still, since it cannot encrypt to the server key.
//   - ipc (NULL): admitted only if the peer process runs as the daemon's user or root (its
//     SO_PEERCRED uid, which libzmq puts in the peer address); the socket file is 0600 besides.
// Each admitted connection gets a fresh id ("c<n>") that libzmq attaches to every message from it
// as its "User-Id" property. Peers cannot choose or forge it, unlike a ROUTER routing id, so
// sessions are bound to it (a session speaks only through the connection that authenticated it).
//
// The same thread reads the ROUTER's monitor events, to log (rate-limited) refused handshakes and
// failed accepts (the open-file limit reached), and counts them for server.stats; and to learn of
// closed connections (ZMQ_EVENT_DISCONNECTED; libzmq 4.3's ROUTER_NOTIFY is a draft option that
// the distributions' builds leave out), which the loop takes with take_closed() to end their
// sessions at once.
//
// A closed connection is named by its socket descriptor, which the kernel may give to the next
// connection. libzmq reports the close before it releases the descriptor, and the gate reads every
// pending event before it answers a ZAP request, so a connection that reuses the descriptor gets a
// higher id than any the notice applies to: a notice carries the highest id issued so far.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <zmq.hpp>

#include "server/log.hpp"

namespace syncmgr::server {

class Gate {
 public:
  /// Starts the ZAP handler in `ctx` (before any endpoint is bound) and watches `router`'s events.
  /// `client_key`: the 32 raw bytes of the client public key tcp peers must present.
  Gate(zmq::context_t& ctx, zmq::socket_t& router, std::string client_key);
  ~Gate();
  Gate(const Gate&) = delete;
  Gate& operator=(const Gate&) = delete;

  /// ZeroMQ handshakes refused or failed (wrong or no key, wrong uid, a malformed handshake).
  std::uint64_t refused() const { return refused_.load(std::memory_order_relaxed); }
  /// Connections that could not be accepted (e.g. the open-file limit reached).
  std::uint64_t accept_failures() const { return accept_failures_.load(std::memory_order_relaxed); }

  /// The id the gate gave the connection a message came from ("" if none: not through the gate).
  static std::string_view connection_of(zmq::message_t& msg);
  /// The socket descriptor of the connection a message came from (-1 if unknown).
  static int descriptor_of(zmq::message_t& msg);
  /// The number in a connection id ("c12" -> 12; 0 if none).
  static std::uint64_t number_of(std::string_view conn);

  /// A connection that closed: the one on descriptor `fd` whose id's number is at most `last`.
  struct Closed {
    int fd;
    std::uint64_t last;
  };
  /// The connections closed since the last call (called by the loop's thread).
  std::vector<Closed> take_closed();

 private:
  void serve(zmq::socket_t zap, zmq::socket_t monitor);
  void on_zap_request(zmq::socket_t& zap);
  /// Handles one pending event; false if there was none.
  bool on_monitor_event(zmq::socket_t& monitor);

  zmq::socket_t& router_;
  std::string client_key_;
  std::uint64_t next_connection_ = 0;
  std::mutex closed_mu_;
  std::vector<Closed> closed_;
  std::atomic<bool> any_closed_{false};
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> refused_{0};
  std::atomic<std::uint64_t> accept_failures_{0};
  LogLimiter refused_log_, accept_log_;  // used by the gate's thread only
  std::thread thread_;
};

}  // namespace syncmgr::server
