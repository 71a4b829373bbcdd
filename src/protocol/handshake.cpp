// Proofs and session-key derivation for the handshake.
#include "protocol/handshake.hpp"

namespace syncmgr::protocol {
namespace {

Tag labelled(Hmac& authkey, std::string_view label, const HandshakeInputs& in) {
  char sid[8];
  for (int i = 0; i < 8; ++i)
    sid[i] = static_cast<char>((in.session >> (56 - 8 * i)) & 0xff);
  return authkey.mac({label, in.client_nonce, in.server_nonce, std::string_view(sid, 8)});
}

}  // namespace

Tag server_proof(Hmac& authkey, const HandshakeInputs& in) {
  return labelled(authkey, "syncmgr/1 server proof", in);
}

Tag client_proof(Hmac& authkey, const HandshakeInputs& in) {
  return labelled(authkey, "syncmgr/1 client proof", in);
}

std::string session_key(Hmac& authkey, const HandshakeInputs& in) {
  Tag t = labelled(authkey, "syncmgr/1 session key", in);
  return std::string(reinterpret_cast<const char*>(t.data()), t.size());
}

}  // namespace syncmgr::protocol
