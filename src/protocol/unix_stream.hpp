// The unix:// transport, as both sides see it: a Unix-domain stream socket carrying the same frames
// as ZeroMQ does, each preceded by its length (docs/PROTOCOL.md, "Transport").
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace syncmgr::protocol {

/// Every frame on a unix:// stream is preceded by its length: 4 bytes, big-endian.
constexpr std::size_t kLengthPrefix = 4;
/// Until its connection has completed a handshake, a peer's frames (hello, auth) are tiny; a
/// longer declared length ends the connection, so an unauthenticated peer can make the daemon
/// hold at most this much.
constexpr std::size_t kPreAuthFrameMax = 1024;

/// "unix:///run/x.sock" -> "/run/x.sock"; nullopt for other schemes.
inline std::optional<std::string> unix_path(std::string_view endpoint) {
  constexpr std::string_view scheme = "unix://";
  if (endpoint.rfind(scheme, 0) != 0) return std::nullopt;
  return std::string(endpoint.substr(scheme.size()));
}

inline void put_length(unsigned char* out, std::uint32_t n) {
  out[0] = static_cast<unsigned char>(n >> 24);
  out[1] = static_cast<unsigned char>(n >> 16);
  out[2] = static_cast<unsigned char>(n >> 8);
  out[3] = static_cast<unsigned char>(n);
}

inline std::uint32_t get_length(const unsigned char* in) {
  return (std::uint32_t{in[0]} << 24) | (std::uint32_t{in[1]} << 16) | (std::uint32_t{in[2]} << 8) |
         std::uint32_t{in[3]};
}

}  // namespace syncmgr::protocol
