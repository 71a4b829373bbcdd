// Deriving the CurveZMQ keypairs from the shared key.
#include "protocol/curve.hpp"

#include <zmq.h>
#include <stdexcept>

#include "protocol/mac.hpp"

namespace syncmgr::protocol {

namespace {

std::string z85(const unsigned char* key32) {
  char text[41];
  if (zmq_z85_encode(text, key32, 32) == nullptr) throw std::runtime_error("z85 encoding failed");
  return std::string(text, 40);
}

// One keypair from its label: the secret is a MAC of the label under the shared key, so it is
// unknown to anyone without the key and never travels.
void derive(std::string_view authkey, std::string_view label, std::string& pub, std::string& sec) {
  Hmac h(authkey);
  Tag secret = h.mac({label});
  sec = z85(secret.data());
  char public_text[41];
  if (zmq_curve_public(public_text, sec.c_str()) != 0)
    throw std::runtime_error("this libzmq has no CURVE support (zmq_has(\"curve\") is 0)");
  pub.assign(public_text, 40);
}

}  // namespace

CurveKeys derive_curve_keys(std::string_view authkey) {
  CurveKeys k;
  derive(authkey, "syncmgr curve server v1", k.server_public, k.server_secret);
  derive(authkey, "syncmgr curve client v1", k.client_public, k.client_secret);
  return k;
}

std::string z85_decode_key(const std::string& z85_text) {
  unsigned char raw[32];
  if (z85_text.size() != 40 || zmq_z85_decode(raw, z85_text.c_str()) == nullptr)
    throw std::runtime_error("invalid Z85 key");
  return std::string(reinterpret_cast<const char*>(raw), 32);
}

}  // namespace syncmgr::protocol
