// Fuzz target: the handshake frames as the daemon's SessionTable answers them (src/server/
// sessions.cpp: on_hello, on_auth, expire).
//
// The input is a script of steps against one fresh SessionTable: raw frames from a peer (routed
// as on_message routes them: header, version and direction first), well-formed hellos with the
// input's nonce and options, auths for a challenge the table issued carrying either the right
// proof (computed here with the key) or the input's bytes, and lease expiry. Properties checked:
//  - every answer is a well-formed daemon-to-client frame; a challenge's server proof verifies
//    under the key for the nonce the hello carried;
//  - a session is established only by the right proof, and the right proof for a live challenge
//    always establishes one, whose welcome verifies under the derived session key;
//  - a session goes without frame MACs only if it asked, the table allows it and the peer is a
//    local (ipc) one: a tcp peer always gets MACs;
//  - a challenge allows one attempt: a second auth for it is refused.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "protocol/handshake.hpp"
#include "protocol/message.hpp"
#include "protocol/wire.hpp"
#include "server/log.hpp"
#include "server/sessions.hpp"

namespace {

using namespace syncmgr::protocol;
using syncmgr::server::HandshakeAnswer;
using syncmgr::server::SessionTable;

const std::string kKey(32, 'K');

void check(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "fuzz_handshake: property violated: %s\n", what);
  std::abort();
}

struct Challenge {
  std::uint64_t session = 0;
  std::string client_nonce;
  std::string server_nonce;
  bool wants_unsealed = false;
  bool used = false;   // answered once: a second auth is refused
  bool stale = false;  // may have expired or been replaced: the right proof may be refused
  std::string conn;    // the connection that sent the hello: the only one that may answer
};

// The answer's header; every answer is one daemon-to-client frame of a handshake type.
Header answer_header(const HandshakeAnswer& ans) {
  auto h = read_header(ans.frame);
  check(h.has_value(), "an answer has a header");
  check(h->version == kProtocolVersion, "an answer speaks version 1");
  check(h->direction == Direction::to_client, "an answer goes to the client");
  check(h->type == FrameType::challenge || h->type == FrameType::welcome ||
            h->type == FrameType::refused,
        "an answer is a challenge, a welcome or a refusal");
  check((h->type == FrameType::welcome) == (ans.established != nullptr),
        "a welcome comes with an established session, and only then");
  return *h;
}

std::string pack_hello(const std::string& nonce, int options, FuzzedDataProvider& in) {
  msgpack::sbuffer buf;
  msgpack::packer<msgpack::sbuffer> pk(buf);
  pk.pack_array(options == 0 ? 2 : 3);
  pk.pack(kProtocolVersion);
  pk.pack_bin(static_cast<std::uint32_t>(nonce.size()));
  pk.pack_bin_body(nonce.data(), static_cast<std::uint32_t>(nonce.size()));
  if (options == 1) {
    pk.pack_map(1);
    pk.pack("frame_macs");
    pk.pack(in.ConsumeBool());
  } else if (options == 2) {
    std::string raw = in.ConsumeRandomLengthString(64);  // options as the input spells them
    buf.write(raw.data(), raw.size());
  }
  Header h{kProtocolVersion, FrameType::hello, Direction::to_daemon, in.ConsumeIntegral<uint64_t>(),
           in.ConsumeIntegral<uint64_t>()};
  return make_frame(h, std::string_view(buf.data(), buf.size()));
}

std::string pack_auth(std::uint64_t session, std::string_view proof) {
  msgpack::sbuffer buf;
  msgpack::packer<msgpack::sbuffer> pk(buf);
  pk.pack_array(1);
  pk.pack_bin(static_cast<std::uint32_t>(proof.size()));
  pk.pack_bin_body(proof.data(), static_cast<std::uint32_t>(proof.size()));
  Header h{kProtocolVersion, FrameType::auth, Direction::to_daemon, session, 0};
  return make_frame(h, std::string_view(buf.data(), buf.size()));
}

class Harness {
 public:
  explicit Harness(bool allow_unsealed)
      : table_(kKey, std::chrono::milliseconds(10000), 1 << 20, allow_unsealed),
        allow_unsealed_(allow_unsealed) {}

  // A frame from `peer`, routed as Server::on_message routes it. Each peer is one connection (the
  // gate's connection id is the peer string here).
  HandshakeAnswer deliver(const std::string& frame, const std::string& peer) {
    auto h = read_header(frame);
    if (!h || h->version != kProtocolVersion || h->direction != Direction::to_daemon) return {};
    if (h->type == FrameType::hello) {
      // A hello replaces the connection's handshake in progress, if any.
      for (auto& c : challenges_)
        if (c.conn == peer) c.stale = true;
      return table_.on_hello(*h, frame, peer);
    }
    if (h->type == FrameType::auth) return table_.on_auth(*h, frame, "routing", peer, peer);
    return {};
  }

  void hello(const std::string& frame, const std::string& nonce, bool wants_unsealed,
             const std::string& peer) {
    auto ans = deliver(frame, peer);
    Header h = answer_header(ans);
    if (h.type != FrameType::challenge) return;  // locked out, or the options were malformed
    check(h.session != 0, "a challenge assigns a nonzero session id");
    auto oh = msgpack::unpack(ans.frame.data() + kHeaderSize, ans.frame.size() - kHeaderSize);
    const auto& o = oh.get();
    check(o.type == msgpack::type::ARRAY && o.via.array.size == 2, "challenge is [sn, proof]");
    const auto& sn = o.via.array.ptr[0];
    const auto& proof = o.via.array.ptr[1];
    check(sn.type == msgpack::type::BIN && sn.via.bin.size == kNonceSize, "sn is bin 32");
    check(proof.type == msgpack::type::BIN && proof.via.bin.size == kTagSize, "proof is bin 32");
    Challenge c{
        h.session, nonce, std::string(sn.via.bin.ptr, sn.via.bin.size), wants_unsealed, false,
        false,     peer};
    Tag expected = server_proof(authkey_, {c.client_nonce, c.server_nonce, c.session});
    check(tags_equal(reinterpret_cast<const unsigned char*>(proof.via.bin.ptr), expected),
          "the server proof verifies for the hello's nonce");
    challenges_.push_back(std::move(c));
  }

  void auth(Challenge& c, bool right_proof, const std::string& wrong, const std::string& peer) {
    std::string frame;
    Tag proof = client_proof(authkey_, {c.client_nonce, c.server_nonce, c.session});
    std::string_view right(reinterpret_cast<const char*>(proof.data()), proof.size());
    if (right_proof) {
      frame = pack_auth(c.session, right);
    } else {
      frame = make_frame(
          Header{kProtocolVersion, FrameType::auth, Direction::to_daemon, c.session, 0}, wrong);
    }
    auto ans = deliver(frame, peer);
    Header h = answer_header(ans);
    if (peer != c.conn) {
      // Another connection's answer neither completes nor spends the handshake.
      check(ans.established == nullptr, "only the connection that sent the hello completes it");
      return;
    }
    bool first = !c.used;
    c.used = true;
    bool correct = right_proof || frame == pack_auth(c.session, right);
    if (!first || !correct) {
      check(ans.established == nullptr, "only the right proof, once, establishes a session");
      return;
    }
    if (ans.established == nullptr) {
      check(c.stale, "the right proof for a live challenge establishes it");
      return;
    }
    check(h.session == c.session && h.seq == 1, "the welcome is seq 1 of the session");
    Hmac key(session_key(authkey_, {c.client_nonce, c.server_nonce, c.session}));
    check(verify_frame(key, ans.frame), "the welcome verifies under the session key");
    auto oh =
        msgpack::unpack(ans.frame.data() + kHeaderSize, ans.frame.size() - kHeaderSize - kTagSize);
    auto welcome = oh.get().as<std::map<std::string, msgpack::object>>();
    bool macs = welcome.at("frame_macs").as<bool>();
    check(macs == ans.established->frame_macs, "the welcome tells the session's MAC decision");
    // Every connection passed the gate (ipc of the daemon's user, or CURVE on tcp): granted
    // whenever asked and allowed.
    bool may_drop = c.wants_unsealed && allow_unsealed_;
    check(macs == !may_drop, "frames go without MACs only when asked and allowed");
    check(table_.find(c.session) == ans.established, "the session is in the table");
  }

  SessionTable& table() { return table_; }
  std::vector<Challenge>& challenges() { return challenges_; }

 private:
  SessionTable table_;
  bool allow_unsealed_;
  Hmac authkey_{kKey};
  std::vector<Challenge> challenges_;
};

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  syncmgr::server::set_log_level(syncmgr::server::LogLevel::error);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider in(data, size);
  Harness harness(in.ConsumeBool());
  const std::string peers[] = {"127.0.0.1", "localhost:1000:1000:4242", "::1", "local"};
  for (int steps = 0; steps < 64 && in.remaining_bytes() > 0; ++steps) {
    std::string peer = in.PickValueInArray(peers);
    int step = in.ConsumeIntegralInRange<int>(0, 4);
    switch (step) {
      case 0: {  // raw bytes from the peer
        std::string frame = in.ConsumeRandomLengthString(512);
        (void)harness.deliver(frame, peer);
        break;
      }
      case 1: {  // a well-formed hello
        std::string nonce = in.ConsumeBytesAsString(kNonceSize);
        if (in.ConsumeBool()) nonce.resize(kNonceSize, '\0');
        int options = in.ConsumeIntegralInRange<int>(0, 2);
        bool asks = false;
        std::string frame = pack_hello(nonce, options, in);
        // What the hello asked, as the daemon reads it: only a well-formed {"frame_macs": false}.
        if (options == 1) {
          auto oh = msgpack::unpack(frame.data() + kHeaderSize, frame.size() - kHeaderSize);
          asks = !oh.get().via.array.ptr[2].via.map.ptr[0].val.via.boolean;
        }
        if (options == 2 || nonce.size() != kNonceSize) {
          (void)harness.deliver(frame, peer);  // outcome depends on the raw options
        } else {
          harness.hello(frame, nonce, asks, peer);
        }
        break;
      }
      case 2:    // the right proof for a challenge
      case 3: {  // the input's bytes as the auth payload for a challenge
        auto& cs = harness.challenges();
        if (cs.empty()) break;
        Challenge& c = cs[in.ConsumeIntegralInRange<std::size_t>(0, cs.size() - 1)];
        bool right = step == 2;
        std::string wrong = right ? std::string() : in.ConsumeRandomLengthString(96);
        harness.auth(c, right, wrong, peer);
        break;
      }
      case 4: {  // leases: expire at a time the input picks
        int ms = in.ConsumeIntegralInRange<int>(0, 20000);
        for (auto id :
             harness.table().expire(syncmgr::server::Clock::now() + std::chrono::milliseconds(ms)))
          harness.table().close(id);
        // Challenges live 5 s: past 4 s (an input runs for far less than a second), they may be
        // gone, so the right proof need not establish a session any more.
        if (ms > 4000)
          for (auto& c : harness.challenges())
            c.stale = true;
        break;
      }
    }
  }
  return 0;
}
