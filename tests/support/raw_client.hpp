// Test support: a client written against docs/PROTOCOL.md with nothing from the client library,
// for tests of the wire protocol itself (handshake, bad frames, request shapes).
#pragma once

#include <doctest/doctest.h>

#include <cstdio>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>
#include <zmq.hpp>

#include "protocol/curve.hpp"
#include "protocol/handshake.hpp"
#include "protocol/mac.hpp"
#include "protocol/message.hpp"
#include "protocol/wire.hpp"
#include "syncmgr/value.hpp"

namespace testsupport {

using namespace syncmgr::protocol;
using syncmgr::Value;

inline std::string read_file(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "rb");
  std::string out;
  char buf[256];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0)
    out.append(buf, n);
  std::fclose(f);
  if (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

inline std::string pack_request(
    std::uint64_t id, const std::string& op, const char* target,
    const std::function<void(msgpack::packer<msgpack::sbuffer>&)>& args) {
  msgpack::sbuffer buf;
  msgpack::packer<msgpack::sbuffer> pk(buf);
  pk.pack_array(4);
  pk.pack(id);
  pk.pack(op);
  if (target != nullptr) {
    pk.pack(std::string(target));
  } else {
    pk.pack_nil();
  }
  args(pk);
  return std::string(buf.data(), buf.size());
}

// A client written against docs/PROTOCOL.md with nothing from the client library.
class RawClient {
 public:
  /// Over tcp the socket runs CURVE with keys derived from `transport_key` (by default `key`),
  /// as docs/PROTOCOL.md says.
  RawClient(zmq::context_t& ctx, const std::string& endpoint, const std::string& key,
            std::optional<std::string> transport_key = std::nullopt)
      : sock_(ctx, zmq::socket_type::dealer), authkey_(key) {
    sock_.set(zmq::sockopt::linger, 0);
    sock_.set(zmq::sockopt::rcvtimeo, 5000);
    if (is_tcp_endpoint(endpoint)) {
      CurveKeys k = derive_curve_keys(transport_key.value_or(key));
      sock_.set(zmq::sockopt::curve_serverkey, k.server_public);
      sock_.set(zmq::sockopt::curve_publickey, k.client_public);
      sock_.set(zmq::sockopt::curve_secretkey, k.client_secret);
    }
    sock_.connect(endpoint);
  }
  zmq::socket_t& socket() { return sock_; }

  void send(const std::string& frame) { sock_.send(zmq::buffer(frame), zmq::send_flags::none); }
  std::optional<std::string> recv() {
    zmq::message_t m;
    if (!sock_.recv(m)) return std::nullopt;
    return m.to_string();
  }

  /// The unsealed refusal [kind, message] in `frame`, if it is one.
  static std::optional<std::pair<std::string, std::string>> refusal(const std::string& frame) {
    auto h = read_header(frame);
    if (!h || h->type != FrameType::refused) return std::nullopt;
    auto oh = msgpack::unpack(frame.data() + kHeaderSize, frame.size() - kHeaderSize);
    return oh.get().as<std::pair<std::string, std::string>>();
  }

  std::string hello_frame(std::uint8_t version = kProtocolVersion, bool frame_macs = true) {
    nonce_.assign(kNonceSize, 'n');
    random_bytes(nonce_.data(), nonce_.size());
    msgpack::sbuffer buf;
    msgpack::packer<msgpack::sbuffer> pk(buf);
    pk.pack_array(frame_macs ? 2 : 3);
    pk.pack(version);
    pk.pack_bin(kNonceSize);
    pk.pack_bin_body(nonce_.data(), kNonceSize);
    if (!frame_macs) {
      pk.pack_map(1);
      pk.pack("frame_macs");
      pk.pack(false);
    }
    Header h{version, FrameType::hello, Direction::to_daemon, 0, 0};
    return make_frame(h, std::string_view(buf.data(), buf.size()));
  }

  /// Runs the handshake; returns the welcome frame (or the refusal) received.
  /// `expect_proof` false: the peer holds a wrong key, so the daemon's proof will not verify.
  std::string handshake(bool corrupt_proof = false, bool frame_macs = true,
                        bool expect_proof = true) {
    send(hello_frame(kProtocolVersion, frame_macs));
    auto challenge = recv();
    REQUIRE(challenge);
    auto h = read_header(*challenge);
    REQUIRE(h);
    REQUIRE(h->type == FrameType::challenge);
    auto oh = msgpack::unpack(challenge->data() + kHeaderSize, challenge->size() - kHeaderSize);
    auto parts = oh.get().as<std::pair<syncmgr::Bytes, syncmgr::Bytes>>();
    session_ = h->session;
    HandshakeInputs in{nonce_, parts.first.data, session_};
    Tag expect = server_proof(authkey_, in);
    CHECK(tags_equal(reinterpret_cast<const unsigned char*>(parts.second.data.data()), expect) ==
          expect_proof);
    Tag proof = client_proof(authkey_, in);
    if (corrupt_proof) proof[0] ^= 1;
    msgpack::sbuffer buf;
    msgpack::packer<msgpack::sbuffer> pk(buf);
    pk.pack_array(1);
    pk.pack_bin(kTagSize);
    pk.pack_bin_body(reinterpret_cast<const char*>(proof.data()), kTagSize);
    last_auth_ =
        make_frame(Header{kProtocolVersion, FrameType::auth, Direction::to_daemon, session_, 0},
                   std::string_view(buf.data(), buf.size()));
    send(last_auth_);
    auto welcome = recv();
    REQUIRE(welcome);
    session_key_.emplace(session_key(authkey_, in));
    return *welcome;
  }

  /// The welcome's session parameters (frame_macs, session_timeout_ms, ...).
  static std::map<std::string, msgpack::object> params(const std::string& welcome,
                                                       msgpack::object_handle& keep) {
    keep = msgpack::unpack(welcome.data() + kHeaderSize, welcome.size() - kHeaderSize - kTagSize);
    return keep.get().as<std::map<std::string, msgpack::object>>();
  }
  std::uint64_t session() const { return session_; }

  std::string sealed(const std::string& payload, std::uint64_t seq) {
    Header h{kProtocolVersion, FrameType::request, Direction::to_daemon, session_, seq};
    return seal_frame(*session_key_, h, payload);
  }

  /// Sends a sealed request and returns the reply objects (or the refusal).
  std::vector<Value> call(const std::string& payload, std::uint64_t seq) {
    send(sealed(payload, seq));
    auto reply = recv();
    REQUIRE(reply);
    REQUIRE_FALSE(refusal(*reply));
    CHECK(verify_frame(*session_key_, *reply));
    std::vector<Value> out;
    PayloadReader reader(sealed_payload(*reply));
    while (auto oh = reader.next())
      out.push_back(oh->get().as<Value>());
    return out;
  }

  /// Receives one frame and returns its replies (empty on timeout or a refusal).
  std::vector<Value> replies() {
    std::vector<Value> out;
    auto reply = recv();
    if (!reply || refusal(*reply)) return out;
    PayloadReader reader(sealed_payload(*reply));
    while (auto oh = reader.next())
      out.push_back(oh->get().as<Value>());
    return out;
  }

  const std::string& last_auth() const { return last_auth_; }
  Hmac& key() { return *session_key_; }

 private:
  zmq::socket_t sock_;
  Hmac authkey_;
  std::optional<Hmac> session_key_;
  std::string nonce_;
  std::uint64_t session_ = 0;
  std::string last_auth_;
};

inline std::string ping(std::uint64_t id) {
  return pack_request(id, "server.ping", nullptr, [](auto& pk) { pk.pack_array(0); });
}

}  // namespace testsupport
