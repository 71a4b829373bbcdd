// Fuzz target: a frame as the daemon first sees it (src/protocol/wire.*, mac.*).
//
// The input is one ZeroMQ message from a peer. It goes through what the daemon does before it
// looks at a payload: read_header, verify_frame under a session key, session_payload. Besides "no
// crash", it checks the properties the daemon relies on: a parsed header writes back to the same
// 20 bytes, a frame sealed here verifies and gives its payload back, any change to a sealed frame
// (one bit, a byte more or less) fails verification, and the three ways of building a frame
// (seal_frame, seal_in_place, FrameBuilder) agree byte for byte.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "protocol/mac.hpp"
#include "protocol/wire.hpp"

namespace {

using namespace syncmgr::protocol;

void check(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "fuzz_frame: property violated: %s\n", what);
  std::abort();
}

Hmac& session_key() {
  static Hmac key(std::string(32, 'k'));
  return key;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view frame(reinterpret_cast<const char*>(data), size);
  Hmac& key = session_key();

  // What the daemon reads from any peer, with or without the key.
  auto h = read_header(frame);
  // Flags: 0, or ACK on a request with its 8 bytes of ack (docs/PROTOCOL.md, "Frames").
  bool sane = size >= kHeaderSize &&
              (data[3] == 0 ||
               (data[3] == kFlagAck && data[1] == static_cast<std::uint8_t>(FrameType::request) &&
                size >= kHeaderSize + kAckSize));
  check(h.has_value() == sane, "read_header accepts iff sane");
  bool verified = verify_frame(key, frame);
  if (verified) {
    // Only a frame sealed under this key verifies; a random one does so with probability 2^-256.
    check(size >= kHeaderSize + kTagSize, "a verified frame holds a header and a tag");
    (void)session_payload(frame, true);
  }
  if (!h) return 0;
  (void)session_payload(frame, false, header_size(*h));

  // The header writes back to the same bytes.
  std::string again;
  write_header(again, *h);
  check(again == frame.substr(0, header_size(*h)), "write_header(read_header(x)) == x");

  // Sealing the frame's payload under its header: verifies, and gives the payload back.
  std::string_view payload = session_payload(frame, false, header_size(*h));
  std::string sealed = seal_frame(key, *h, payload);
  check(verify_frame(key, sealed), "a sealed frame verifies");
  check(session_payload(sealed, true, header_size(*h)) == payload,
        "session_payload(sealed) returns the payload");
  check(make_frame(*h, payload) == frame, "make_frame(read_header(x), payload) == x");

  // Built in place, with and without MACs, the frame is the same.
  std::string in_place(header_size(*h), '\0');
  in_place.append(payload);
  seal_in_place(in_place, key, true, *h);
  check(in_place == sealed, "seal_in_place == seal_frame");
  if ((h->flags & kFlagAck) == 0) {  // FrameBuilder builds replies, which carry no ack
    FrameBuilder builder;
    builder.buffer().write(payload.data(), payload.size());
    builder.seal(key, false, *h);
    check(std::string_view(builder.buffer().data(), builder.buffer().size()) == frame,
          "FrameBuilder without MACs == header || payload");
  }

  // Any change to a sealed frame fails verification: a flipped bit (where the input says), a
  // missing last byte, an extra byte.
  std::size_t bit = size > 0 ? (data[size - 1] * 131u + size) % (sealed.size() * 8) : 0;
  std::string flipped = sealed;
  flipped[bit / 8] = static_cast<char>(flipped[bit / 8] ^ (1 << (bit % 8)));
  check(!verify_frame(key, flipped), "a flipped bit fails verification");
  check(!verify_frame(key, std::string_view(sealed).substr(0, sealed.size() - 1)),
        "a truncated frame fails verification");
  check(!verify_frame(key, sealed + '\0'), "an extended frame fails verification");
  return 0;
}
