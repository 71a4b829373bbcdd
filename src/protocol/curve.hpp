// The encrypted tcp transport: CurveZMQ keys derived from the shared key, and how frames are cut
// into ZeroMQ message parts on tcp (docs/PROTOCOL.md, "Transports").
//
// Every tcp connection runs ZeroMQ's CURVE mechanism. Both keypairs are derived from the shared
// key, so a user configures nothing beyond the key file, and a peer without the key can neither
// finish the ZeroMQ handshake (it cannot encrypt to a server key it cannot derive) nor pass the
// daemon's ZAP check of the client key. Such a peer never reaches the daemon's socket: it cannot
// claim a routing id, send a frame or make the daemon buffer more than one small handshake command.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace syncmgr::protocol {

/// CurveZMQ keys as Z85 text (40 characters each), the form ZeroMQ's socket options take.
struct CurveKeys {
  std::string server_public;
  std::string server_secret;
  std::string client_public;
  std::string client_secret;
};

/// Secret = HMAC-SHA256(authkey, label), public = X25519 base-point multiple of the secret, with
/// the labels "syncmgr curve server v1" and "syncmgr curve client v1".
CurveKeys derive_curve_keys(std::string_view authkey);

/// The 32 raw bytes of a Z85-encoded key (what a ZAP request carries).
std::string z85_decode_key(const std::string& z85);

/// tcp:// endpoints are encrypted; ipc:// ones are not (their peers are local and checked by uid).
inline bool is_tcp_endpoint(std::string_view endpoint) {
  return endpoint.rfind("tcp://", 0) == 0;
}

/// On tcp a frame travels as one ZeroMQ message of parts of at most this many bytes (the last may
/// be shorter), and the daemon's tcp listeners accept no larger part: a peer that has not finished
/// the handshake can make the daemon buffer at most this much.
constexpr std::size_t kWirePartSize = 32 * 1024;
/// What a CURVE MESSAGE command adds to a part (command name, flags, nonce, Poly1305 tag), and
/// room.
constexpr std::size_t kWirePartOverhead = 256;

}  // namespace syncmgr::protocol
