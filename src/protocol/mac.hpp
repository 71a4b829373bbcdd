// HMAC-SHA256 with a pre-keyed, reusable OpenSSL context.
//
// OpenSSL 3's one-shot HMAC() fetches the algorithm and expands the key on every call
// (microseconds); a keyed EVP_MAC_CTX re-initialised with a null key reuses the expanded key (a
// fraction of that).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

struct evp_mac_ctx_st;

namespace syncmgr::protocol {

constexpr std::size_t kTagSize = 32;
using Tag = std::array<unsigned char, kTagSize>;

class Hmac {
 public:
  /// Throws std::runtime_error if OpenSSL cannot provide HMAC-SHA256.
  explicit Hmac(std::string_view key);
  ~Hmac();
  Hmac(Hmac&& other) noexcept : ctx_(other.ctx_) { other.ctx_ = nullptr; }
  Hmac& operator=(Hmac&& other) noexcept;
  Hmac(const Hmac&) = delete;
  Hmac& operator=(const Hmac&) = delete;

  void begin();
  void update(const void* data, std::size_t len);
  void update(std::string_view s) { update(s.data(), s.size()); }
  Tag finish();

  /// MAC of the concatenation of `parts`.
  Tag mac(std::initializer_list<std::string_view> parts);

 private:
  evp_mac_ctx_st* ctx_;
};

/// Constant-time comparison of a received tag against an expected one.
bool tags_equal(const unsigned char* received, const Tag& expected) noexcept;

/// Cryptographically secure random bytes (OpenSSL RAND_bytes); throws on failure.
void random_bytes(void* out, std::size_t len);

}  // namespace syncmgr::protocol
