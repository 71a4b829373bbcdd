// How a client connection moves frames: one small interface, two transports. The connection's
// logic (handshake, pump, calls, heartbeats) is written once above it (connection.hpp).
//   - ZeroMQ DEALER, for tcp:// (other hosts; CURVE-encrypted, frames in parts) and ipc://;
//   - a Unix-domain stream, for unix://: no I/O thread, so a call is one write(2) and its reply
//     wakes the waiting caller directly (ZeroMQ passes each message through its I/O thread).
// A transport is driven by one thread at a time (the connection's pump) and never blocks long:
// send() may wait for socket buffer room, receive() never waits.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <msgpack.hpp>
#include <zmq.hpp>

namespace syncmgr::detail {

/// A frame received. Small frames may be a view into the transport's buffer, valid until the next
/// receive(); a large one owns its memory, which give_to() hands to the zone its replies live in.
class InFrame {
 public:
  explicit InFrame(zmq::message_t msg) : msg_(std::move(msg)), kind_(Kind::message) {}
  explicit InFrame(std::string owned) : owned_(std::move(owned)), kind_(Kind::owned) {}
  static InFrame view(std::string_view bytes) {
    InFrame f;
    f.view_ = bytes;
    return f;
  }
  std::string_view bytes() const;
  /// Makes `zone` own the frame's memory (copied first if it is only a view): bytes() stays valid
  /// for as long as the zone lives.
  void give_to(msgpack::zone& zone);

 private:
  InFrame() = default;
  enum class Kind { view, message, owned };
  zmq::message_t msg_;
  std::string owned_;
  std::string_view view_;
  Kind kind_ = Kind::view;
};

class Transport {
 public:
  virtual ~Transport() = default;
  /// Sends one whole frame or nothing. False when not connected or the connection broke; a
  /// transport reconnects on its own or on the next send.
  virtual bool send(std::string frame) = 0;
  /// A frame that has arrived, if any. Never blocks.
  virtual std::optional<InFrame> receive() = 0;
  /// True if receive() has a frame for us without waiting. Checked right before waiting on fd().
  virtual bool ready() = 0;
  /// The descriptor that becomes readable when frames may arrive (-1 while disconnected).
  virtual int fd() = 0;
  /// A unix:// stream: the peer is on this host and answers from its own loop, so a caller may
  /// spin for its reply (no I/O thread in between to wake).
  virtual bool local() const { return false; }
  /// True once after the connection was found broken (the peer closed it): what was sent on it
  /// will not be answered.
  virtual bool take_dropped() = 0;
  virtual void close() = 0;

  // While the first handshake runs: why it does not complete, when it does not.
  /// Takes what the transport has learned meanwhile (never blocks).
  virtual void watch() {}
  /// The daemon will not take this key (decided below the protocol: CURVE).
  virtual bool refused() const { return false; }
  /// Why no handshake completed within `waited`.
  virtual std::string explain(std::chrono::milliseconds waited) const = 0;
  /// The first handshake settled; stop watching.
  virtual void watch_done() {}
};

/// A transport for `endpoint` (unix://, ipc:// or tcp://), connecting in the background or on the
/// first send. Throws ConnectionError for an endpoint it cannot use.
std::unique_ptr<Transport> open_transport(const std::string& endpoint, const std::string& authkey);

}  // namespace syncmgr::detail
