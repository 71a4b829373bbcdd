// ReplyReader: the replies of one reply frame's payload, in turn.
//
// A reply is [id, 0, result] or [id, 1, kind, message] (docs/PROTOCOL.md). msgpack-c's general
// parser cost ~900 instructions for a reply as small as [id, 0, nil], more than the rest of the
// client's work on it. So the common replies are read by hand with protocol::Cursor: a scalar
// result (nil, bool, int, float) becomes a msgpack::object with no memory behind it, a str or bin
// result points into the payload when the zone owns it (a large frame) or is copied into the
// zone, and an error's kind and message are views of the payload. Anything else (an array or map
// result, an ext, a reply of another shape, or bytes the Cursor does not accept) is handed to
// msgpack-c for that one reply: it builds the result in the zone, or throws for malformed input.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include <msgpack.hpp>

namespace syncmgr::detail {

struct Reply {
  std::uint64_t id = 0;
  bool ok = false;
  msgpack::object result;          // ok: lives as long as the reader's zone
  std::string_view kind, message;  // !ok: valid until the payload or the zone goes
};

class ReplyReader {
 public:
  /// `zone`: null, or (with `reference`) a zone that owns the payload's memory, so that results
  /// may point into it. Without one, a zone is made when a reply first needs it (see zone()).
  ReplyReader(std::string_view payload, std::shared_ptr<msgpack::zone> zone, bool reference);

  /// Reads the next reply; false at the end of the payload. Elements that are not replies (not an
  /// array of at least 3 whose first item is an unsigned int) are skipped. Throws
  /// msgpack::unpack_error (or a subclass) when the payload is not valid msgpack from there.
  bool next(Reply& out);

  /// Where the results read so far live (null if none needed memory); hold it with each result.
  const std::shared_ptr<msgpack::zone>& zone() const { return zone_; }
  /// How many replies msgpack-c read so far (the rest were read by hand).
  std::size_t fallbacks() const { return fallbacks_; }

 private:
  /// The reply at offset_ by hand; false (nothing consumed) when it is not one of the common ones.
  bool read_common(Reply& out);
  /// The reply at offset_ through msgpack-c; false if it is no reply (skipped).
  bool read_general(Reply& out);
  msgpack::zone& need_zone();

  std::string_view payload_;
  std::size_t offset_ = 0;
  std::shared_ptr<msgpack::zone> zone_;
  bool reference_;
  std::size_t fallbacks_ = 0;
};

}  // namespace syncmgr::detail
