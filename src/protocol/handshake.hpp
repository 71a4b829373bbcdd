// The mutual challenge-response handshake (docs/PROTOCOL.md, "Handshake").
//
// Both sides contribute a fresh 32-byte nonce. The daemon proves first, so a client never computes
// a proof for a peer that has not shown it knows the key. Each proof and the session key are
// HMAC-SHA256 under the shared key with a distinct label, so no value can be replayed as another.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "protocol/mac.hpp"

namespace syncmgr::protocol {

struct HandshakeInputs {
  std::string_view client_nonce;
  std::string_view server_nonce;
  std::uint64_t session = 0;
};

Tag server_proof(Hmac& authkey, const HandshakeInputs& in);
Tag client_proof(Hmac& authkey, const HandshakeInputs& in);
/// The per-session key that seals every later frame in both directions.
std::string session_key(Hmac& authkey, const HandshakeInputs& in);

}  // namespace syncmgr::protocol
