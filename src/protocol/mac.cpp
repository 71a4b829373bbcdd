// HMAC-SHA256 over OpenSSL 3's EVP_MAC API, keyed once per context.
#include "protocol/mac.hpp"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include <stdexcept>

namespace syncmgr::protocol {
namespace {

EVP_MAC* hmac_algorithm() {
  // Fetched once per process: fetching is the expensive part of OpenSSL 3's one-shot API.
  static EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  if (mac == nullptr) throw std::runtime_error("OpenSSL provides no HMAC implementation");
  return mac;
}

}  // namespace

Hmac::Hmac(std::string_view key) : ctx_(EVP_MAC_CTX_new(hmac_algorithm())) {
  if (ctx_ == nullptr) throw std::runtime_error("EVP_MAC_CTX_new failed");
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                         OSSL_PARAM_construct_end()};
  if (EVP_MAC_init(ctx_, reinterpret_cast<const unsigned char*>(key.data()), key.size(), params) !=
      1) {
    EVP_MAC_CTX_free(ctx_);
    throw std::runtime_error("EVP_MAC_init failed");
  }
}

Hmac::~Hmac() {
  EVP_MAC_CTX_free(ctx_);
}

Hmac& Hmac::operator=(Hmac&& other) noexcept {
  if (this != &other) {
    EVP_MAC_CTX_free(ctx_);
    ctx_ = other.ctx_;
    other.ctx_ = nullptr;
  }
  return *this;
}

void Hmac::begin() {
  // A null key restarts the MAC with the key given at construction.
  if (EVP_MAC_init(ctx_, nullptr, 0, nullptr) != 1) throw std::runtime_error("EVP_MAC_init failed");
}

void Hmac::update(const void* data, std::size_t len) {
  if (EVP_MAC_update(ctx_, static_cast<const unsigned char*>(data), len) != 1)
    throw std::runtime_error("EVP_MAC_update failed");
}

Tag Hmac::finish() {
  Tag tag;
  std::size_t len = 0;
  if (EVP_MAC_final(ctx_, tag.data(), &len, tag.size()) != 1 || len != tag.size())
    throw std::runtime_error("EVP_MAC_final failed");
  return tag;
}

Tag Hmac::mac(std::initializer_list<std::string_view> parts) {
  begin();
  for (auto p : parts)
    update(p);
  return finish();
}

bool tags_equal(const unsigned char* received, const Tag& expected) noexcept {
  return CRYPTO_memcmp(received, expected.data(), expected.size()) == 0;
}

void random_bytes(void* out, std::size_t len) {
  if (RAND_bytes(static_cast<unsigned char*>(out), static_cast<int>(len)) != 1)
    throw std::runtime_error("RAND_bytes failed");
}

}  // namespace syncmgr::protocol
