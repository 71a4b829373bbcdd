// The msgpack schema inside sealed frames (docs/PROTOCOL.md, "Requests and replies").
//
//   request: [id: uint, op: str, target: str | nil, args: array]
//   reply:   [id, 0, result]                  success
//            [id, 1, kind: str, message: str]  error (kind names an exception class)
// A frame's payload holds one or more of these back to back, so a client can coalesce requests and
// the daemon answers them in one frame.
#pragma once

#include <algorithm>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <msgpack.hpp>

#include "protocol/msgpack_read.hpp"

namespace syncmgr::protocol {

/// Error kinds as sent on the wire; each names a class in include/syncmgr/errors.hpp.
namespace err {
inline constexpr std::string_view key = "KeyError";
inline constexpr std::string_view index = "IndexError";
inline constexpr std::string_view type = "TypeError";
inline constexpr std::string_view value = "ValueError";
inline constexpr std::string_view name = "NameError";
inline constexpr std::string_view attribute = "AttributeError";
inline constexpr std::string_view auth = "AuthenticationError";
inline constexpr std::string_view protocol = "ProtocolError";
inline constexpr std::string_view internal = "InternalError";
inline constexpr std::string_view cancelled = "CancelledError";
inline constexpr std::string_view runtime = "RuntimeError";
inline constexpr std::string_view lock_lost = "LockLost";
inline constexpr std::string_view empty = "Empty";
inline constexpr std::string_view full = "Full";
inline constexpr std::string_view broken_barrier = "BrokenBarrierError";
inline constexpr std::string_view shut_down = "ShutDown";
/// In a `refused` frame: the session id is unknown or expired; the client should handshake again.
inline constexpr std::string_view session = "SessionError";
}  // namespace err

enum class ReplyStatus : std::uint8_t { ok = 0, error = 1 };

/// How deep values may nest (an array or map counts as a level; a scalar at top level is 0 deep).
inline constexpr std::size_t kMaxValueDepth = 64;

/// Limits for unpacking untrusted msgpack: nothing may claim more elements than it has bytes, and
/// nesting is bounded: a value of kMaxValueDepth levels inside a request [id, op, target, [args]]
/// or a reply [id, status, value] fits. Ext values are unpacked (and refused when converted, so
/// the request that carries one gets a TypeError of its own instead of spoiling its payload).
msgpack::unpack_limit unpack_limits(std::size_t payload_size);

/// Iterates over the msgpack objects packed back to back in a payload.
class PayloadReader {
 public:
  /// `reference`: str and bin objects point into `payload` instead of being copied into the
  /// zone; only for a reader whose objects are used while the payload lives (the daemon's
  /// dispatch, which copies what it keeps; the client for a large frame, whose zone owns it).
  explicit PayloadReader(std::string_view payload, bool reference = false)
      : data_(payload), reference_(reference) {}
  /// Next object, or nullopt at the end. Throws msgpack::unpack_error (or a subclass) if malformed.
  std::optional<msgpack::object_handle> next();
  /// Next object, allocated in `zone`: the objects of one frame share one zone, which saves an
  /// allocation (and, under load, heap growth and page faults) per object.
  std::optional<msgpack::object> next(msgpack::zone& zone);
  /// After next() threw: finds where the object that failed ends without building it (it may be
  /// nested too deep, or claim too much) and moves past it. `id` is the request id it starts
  /// with, when one was readable (0 if not); `skipped` is false when the payload is not msgpack
  /// at all from there (nothing after it can be read).
  struct Skipped {
    bool skipped = false;
    std::uint64_t id = 0;
  };
  Skipped skip_failed();
  /// How far into the payload the reader has got.
  std::size_t offset() const { return offset_; }

 private:
  std::string_view data_;
  std::size_t offset_ = 0;
  std::size_t last_start_ = 0;  // where the object next() last read (or failed to) starts
  bool reference_ = false;
};

/// A request [id, op, target, args] as read_request finds it; op and target point into the frame.
struct RequestView {
  std::uint64_t id = 0;
  std::string_view op;
  std::string_view target;  // empty for nil
};

/// Reads the next request straight from the payload, its arguments decoded into `args` (reused
/// from call to call). False for anything but a well-formed request (an id of 0 too), with the
/// cursor unmoved: that request then goes through PayloadReader, whose path words the error.
bool read_request(Cursor& c, RequestView& r, std::vector<Value>& args);

/// The chunk size for the zone a frame's payload is unpacked into: it grows with the payload, so
/// that the zone of a small frame fits glibc's per-thread cache (up to 1 KiB), where msgpack's
/// default 8 KiB chunk cost a slow-path malloc and free for every frame.
inline std::size_t zone_chunk_for(std::size_t payload_size) {
  return std::clamp<std::size_t>(payload_size * 8, 512, 8192);
}

/// A msgpack stream appending to a std::string, for packing where the bytes are kept.
struct StringWriter {
  std::string& out;
  void write(const char* data, std::size_t n) { out.append(data, n); }
};

/// Appends an error reply to `out`.
void pack_error_reply(msgpack::sbuffer& out, std::uint64_t id, std::string_view kind,
                      std::string_view message);

}  // namespace syncmgr::protocol
