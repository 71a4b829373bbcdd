// Frame layout shared by the daemon and the client (docs/PROTOCOL.md, "Frames").
//
// Every ZeroMQ message between a client's DEALER and the daemon's ROUTER is one frame:
//   header (20 bytes) || payload (msgpack) || tag (32 bytes, sealed frames only)
// The tag is HMAC-SHA256 under the session key over header || payload. The header carries the
// session id, the direction and a per-direction sequence number, so a frame verified here cannot be
// replayed, reordered, reflected back or moved to another session.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <msgpack.hpp>

#include "protocol/mac.hpp"

namespace syncmgr::protocol {

constexpr std::uint8_t kProtocolVersion = 1;
constexpr std::size_t kHeaderSize = 20;
constexpr std::size_t kNonceSize = 32;
constexpr std::size_t kMinKeySize = 32;

enum class FrameType : std::uint8_t {
  hello = 1,      // client -> daemon, unsealed: [version, client_nonce]
  challenge = 2,  // daemon -> client, unsealed: [server_nonce, server_proof]
  auth = 3,       // client -> daemon, unsealed: [client_proof]
  welcome = 4,    // daemon -> client, sealed: {session parameters}
  refused = 5,    // daemon -> client, unsealed: [error kind, message]
  request = 16,   // client -> daemon, sealed: one or more request arrays
  reply = 17,     // daemon -> client, sealed: one or more reply arrays
};

enum class Direction : std::uint8_t { to_daemon = 0, to_client = 1 };

/// Bit 0 of the header's flags byte, on request frames only: the 8 bytes after the header are
/// `ack`, the highest seq of a reply frame the client has received in this session (PROTOCOL.md,
/// "Delivery acknowledgement"). Other bits are reserved.
constexpr std::uint8_t kFlagAck = 0x01;
constexpr std::size_t kAckSize = 8;

struct Header {
  std::uint8_t version = kProtocolVersion;
  FrameType type{};
  Direction direction{};
  std::uint64_t session = 0;
  std::uint64_t seq = 0;
  std::uint8_t flags = 0;
  std::uint64_t ack = 0;  // with kFlagAck: written and read right after the 20 bytes
};

/// Where the payload starts: after the header, and after `ack` when the frame carries one.
inline std::size_t header_size(const Header& h) {
  return kHeaderSize + ((h.flags & kFlagAck) != 0 ? kAckSize : 0);
}

/// Appends the 20-byte big-endian header (and `ack` when flagged) to `out`.
void write_header(std::string& out, const Header& h);
/// Parses the header (and `ack`); nullopt if the frame is shorter than them, or its flags byte has
/// a reserved bit, or ACK on a frame that is not a request.
std::optional<Header> read_header(std::string_view frame);

/// header || payload, unsealed (handshake frames).
std::string make_frame(const Header& h, std::string_view payload);
/// header || payload || HMAC(key, header || payload).
std::string seal_frame(Hmac& key, const Header& h, std::string_view payload);
/// True when the frame is long enough and its tag is the MAC of the rest (constant time).
bool verify_frame(Hmac& key, std::string_view frame);
/// The payload of a sealed frame (call after verify_frame).
inline std::string_view sealed_payload(std::string_view frame) {
  return frame.substr(kHeaderSize, frame.size() - kHeaderSize - kTagSize);
}
inline std::string_view unsealed_payload(std::string_view frame) {
  return frame.substr(kHeaderSize);
}
/// The payload of a request or reply frame of a session: sealed, or header || payload for a
/// session that agreed to go without frame MACs (an ipc session; docs/PROTOCOL.md, "Security").
/// `header`: header_size() of the frame (a request with ACK has 8 bytes more).
inline std::string_view session_payload(std::string_view frame, bool macs,
                                        std::size_t header = kHeaderSize) {
  return frame.substr(header, frame.size() - header - (macs ? kTagSize : 0));
}

/// A session frame whose payload was packed after header_size(h) bytes of room (the client packs
/// each request after kHeaderSize bytes, and makes room for `ack`): writes the header into the
/// room and appends the tag when `macs`. A lone request thus becomes its frame without a copy.
void seal_in_place(std::string& frame, Hmac& key, bool macs, const Header& h);

/// A session frame built in place: the payload is packed into buffer() after room left for the
/// header, then seal() writes the header and appends the tag (when `macs`), so the payload is never
/// copied into a frame (the daemon's replies; a 1 MiB value is copied once less). The room is
/// kHeaderSize: for frames without ACK only (replies never carry one).
class FrameBuilder {
 public:
  FrameBuilder();
  /// Pack the payload here (after the header's room).
  msgpack::sbuffer& buffer() { return buf_; }
  bool empty() const { return buf_.size() == kHeaderSize; }
  /// Empties it for the next frame, keeping its memory unless the frame was moved away or large.
  void reset();
  /// Completes the frame; buffer() then holds header || payload [|| tag].
  void seal(Hmac& key, bool macs, const Header& h);

 private:
  msgpack::sbuffer buf_;
};

}  // namespace syncmgr::protocol
