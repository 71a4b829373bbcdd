// MACs (RFC 4231 vectors), the handshake's proofs and keys, and frame sealing.
#include <doctest/doctest.h>

#include <string>

#include "protocol/handshake.hpp"
#include "protocol/mac.hpp"
#include "protocol/wire.hpp"

using namespace syncmgr::protocol;

namespace {
std::string hex(const Tag& t) {
  static const char* d = "0123456789abcdef";
  std::string out;
  for (unsigned char c : t) {
    out += d[c >> 4];
    out += d[c & 15];
  }
  return out;
}
}  // namespace

TEST_CASE("HMAC-SHA256 matches RFC 4231 test cases 1 and 2, and reuse gives the same tag") {
  Hmac k1(std::string(20, '\x0b'));
  CHECK(hex(k1.mac({"Hi There"})) ==
        "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  Hmac k2("Jefe");
  CHECK(hex(k2.mac({"what do ya want ", "for nothing?"})) ==
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  // The context is re-initialised with the same key for every MAC.
  CHECK(hex(k2.mac({"what do ya want for nothing?"})) ==
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  CHECK(hex(k1.mac({"Hi There"})) ==
        "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
}

TEST_CASE("handshake: both sides derive one session key; proofs are direction-specific") {
  std::string key(32, 'k');
  Hmac daemon(key), client(key), other(std::string(32, 'x'));
  std::string cn(kNonceSize, 'c'), sn(kNonceSize, 's');
  HandshakeInputs in{cn, sn, 0x1122334455667788ULL};
  CHECK(server_proof(daemon, in) == server_proof(client, in));
  CHECK(client_proof(daemon, in) == client_proof(client, in));
  CHECK(server_proof(daemon, in) != client_proof(daemon, in));  // no reflection
  CHECK(session_key(daemon, in) == session_key(client, in));
  CHECK(server_proof(other, in) != server_proof(daemon, in));  // wrong key fails
  std::string sn2(kNonceSize, 't');
  HandshakeInputs in2{cn, sn2, in.session};
  CHECK(session_key(daemon, in2) != session_key(daemon, in));  // fresh nonce, fresh key
  HandshakeInputs in3{cn, sn, in.session + 1};
  CHECK(client_proof(daemon, in3) != client_proof(daemon, in));
}

TEST_CASE("sealed frames: any flipped byte fails verification") {
  Hmac key(std::string(32, 'q'));
  Header h{kProtocolVersion, FrameType::request, Direction::to_daemon, 42, 7};
  std::string frame = seal_frame(key, h, "payload bytes");
  CHECK(verify_frame(key, frame));
  CHECK(sealed_payload(frame) == "payload bytes");
  auto parsed = read_header(frame);
  REQUIRE(parsed);
  CHECK(parsed->session == 42);
  CHECK(parsed->seq == 7);
  CHECK(parsed->type == FrameType::request);
  for (std::size_t i = 0; i < frame.size(); ++i) {
    std::string bad = frame;
    bad[i] = static_cast<char>(bad[i] ^ 0x01);
    CHECK_FALSE(verify_frame(key, bad));
  }
  CHECK_FALSE(verify_frame(key, frame.substr(0, frame.size() - 1)));
  Hmac wrong(std::string(32, 'r'));
  CHECK_FALSE(verify_frame(wrong, frame));
}

TEST_CASE("headers: short frames and nonzero flags are rejected") {
  CHECK_FALSE(read_header(std::string(kHeaderSize - 1, '\0')));
  std::string f = make_frame(Header{}, "");
  CHECK(read_header(f));
  f[3] = 1;
  CHECK_FALSE(read_header(f));
}

TEST_CASE("headers: a request's ACK flag carries 8 bytes of ack; other bits and frames refuse it") {
  Header h{kProtocolVersion, FrameType::request, Direction::to_daemon, 7, 9};
  h.flags = kFlagAck;
  h.ack = 0x0102030405060708ull;
  std::string f = make_frame(h, "payload");
  REQUIRE(f.size() == kHeaderSize + kAckSize + 7);
  CHECK(f[3] == 1);
  CHECK(f.substr(kHeaderSize, kAckSize) == std::string("\x01\x02\x03\x04\x05\x06\x07\x08"));
  auto parsed = read_header(f);
  REQUIRE(parsed);
  CHECK(parsed->ack == h.ack);
  CHECK(header_size(*parsed) == kHeaderSize + kAckSize);
  CHECK(session_payload(f, false, header_size(*parsed)) == "payload");
  CHECK_FALSE(read_header(f.substr(0, kHeaderSize + kAckSize - 1)));  // ack cut short
  f[3] = 3;                                                           // a reserved bit as well
  CHECK_FALSE(read_header(f));
  f[3] = 1;
  f[1] = static_cast<char>(FrameType::reply);  // only requests carry an ack
  CHECK_FALSE(read_header(f));
}

TEST_CASE("frames built in place equal frames built by copying, with and without MACs") {
  Hmac key(std::string(32, 'k'));
  Header h{kProtocolVersion, FrameType::reply, Direction::to_client, 0x0102030405060708ull, 99};
  // [1, 0, nil] and then bytes enough to pass the zero-copy size.
  std::string payload = std::string("\x93\x01\x00\xc0", 4) + std::string(70000, 'p');
  for (bool macs : {true, false}) {
    CAPTURE(macs);
    std::string expected = macs ? seal_frame(key, h, payload) : make_frame(h, payload);

    FrameBuilder builder;
    CHECK(builder.empty());
    builder.buffer().write(payload.data(), payload.size());
    CHECK_FALSE(builder.empty());
    builder.seal(key, macs, h);
    CHECK(std::string(builder.buffer().data(), builder.buffer().size()) == expected);

    std::string in_place(kHeaderSize, '\0');
    in_place += payload;
    seal_in_place(in_place, key, macs, h);
    CHECK(in_place == expected);
    if (macs) {
      CHECK(verify_frame(key, in_place));
      CHECK(sealed_payload(in_place) == payload);
    } else {
      CHECK(unsealed_payload(in_place) == payload);
    }
    auto parsed = read_header(in_place);
    REQUIRE(parsed);
    CHECK(parsed->session == h.session);
    CHECK(parsed->seq == h.seq);
  }
}
