// The client side of the handshake (docs/PROTOCOL.md, "Handshake"): hello, the daemon's proof
// checked before we prove anything ourselves, the session key, the welcome's parameters, and the
// refusals that end or restart a session. Runs on the pump, like the rest of the connection.
#include <atomic>
#include <cstring>
#include <map>

#include "client/connection.hpp"
#include "protocol/handshake.hpp"
#include "protocol/message.hpp"
#include "syncmgr/errors.hpp"
#include "syncmgr/value.hpp"

namespace syncmgr::detail {

namespace err = protocol::err;
using protocol::FrameType;
using protocol::Header;

namespace {

constexpr auto kHandshakeRetry = std::chrono::milliseconds(2000);
constexpr auto kConnectPoll = std::chrono::milliseconds(10);
constexpr std::size_t kRememberedHellos = 8;

std::string_view tag_view(const protocol::Tag& t) {
  return std::string_view(reinterpret_cast<const char*>(t.data()), t.size());
}

}  // namespace

void Connection::start_handshake() {
  session_mac_.reset();
  session_ = 0;
  awaiting_welcome_ = false;
  client_nonce_.assign(protocol::kNonceSize, '\0');
  protocol::random_bytes(client_nonce_.data(), client_nonce_.size());
  // Earlier hellos of this attempt may still be answered (the daemon stalled while we retried):
  // their challenges are checked against their own nonces.
  hello_nonces_.push_back(client_nonce_);
  if (hello_nonces_.size() > kRememberedHellos) hello_nonces_.pop_front();
  msgpack::sbuffer buf;
  msgpack::packer<msgpack::sbuffer> pk(buf);
  pk.pack_array(want_frame_macs_ ? 2 : 3);
  pk.pack(protocol::kProtocolVersion);
  pk.pack_bin(protocol::kNonceSize);
  pk.pack_bin_body(client_nonce_.data(), protocol::kNonceSize);
  if (!want_frame_macs_) {
    pk.pack_map(1);
    pk.pack("frame_macs");
    pk.pack(false);
  }
  Header h{protocol::kProtocolVersion, FrameType::hello, protocol::Direction::to_daemon, 0, 0};
  bool sent = send_raw(protocol::make_frame(h, std::string_view(buf.data(), buf.size())));
  // Not yet connected (the socket queues nothing then): try again soon rather than after the
  // full retry interval, so a client started together with the daemon connects at once.
  handshake_deadline_ = Clock::now() + (sent ? kHandshakeRetry : kConnectPoll);
}

void Connection::on_challenge(const Header& h, std::string_view frame) {
  if (session_mac_ || awaiting_welcome_) return;
  std::string server_nonce, proof;
  try {
    auto oh =
        msgpack::unpack(frame.data() + protocol::kHeaderSize, frame.size() - protocol::kHeaderSize);
    const auto& o = oh.get();
    if (o.type != msgpack::type::ARRAY || o.via.array.size != 2) return;
    server_nonce = o.via.array.ptr[0].as<syncmgr::Bytes>().data;
    proof = o.via.array.ptr[1].as<syncmgr::Bytes>().data;
  } catch (const std::exception&) {
    return;
  }
  if (server_nonce.size() != protocol::kNonceSize || proof.size() != protocol::kTagSize) return;
  // The challenge answers one of our recent hellos: the one whose nonce its proof covers.
  const std::string* nonce = nullptr;
  for (const auto& n : hello_nonces_) {
    protocol::Tag expected =
        protocol::server_proof(authkey_mac_, protocol::HandshakeInputs{n, server_nonce, h.session});
    if (protocol::tags_equal(reinterpret_cast<const unsigned char*>(proof.data()), expected)) {
      nonce = &n;
      break;
    }
  }
  if (nonce == nullptr) {
    // Never answer a peer that cannot prove it knows the key: it may be collecting proofs.
    fail_calls("AuthenticationError",
               "authentication failed: the daemon at " + endpoint_ +
                   " failed to prove it knows this client's key (the keys differ, or the peer is "
                   "not the daemon you meant)",
               !ever_established_, false);
    return;
  }
  client_nonce_ = *nonce;
  protocol::HandshakeInputs in{client_nonce_, server_nonce, h.session};
  session_ = h.session;
  server_nonce_ = server_nonce;
  session_mac_.emplace(protocol::session_key(authkey_mac_, in));
  awaiting_welcome_ = true;
  out_seq_ = 0;
  in_seq_ = 0;
  protocol::Tag mine = protocol::client_proof(authkey_mac_, in);
  msgpack::sbuffer buf;
  msgpack::packer<msgpack::sbuffer> pk(buf);
  pk.pack_array(1);
  pk.pack_bin(protocol::kTagSize);
  pk.pack_bin_body(tag_view(mine).data(), protocol::kTagSize);
  Header ah{protocol::kProtocolVersion, FrameType::auth, protocol::Direction::to_daemon, session_,
            0};
  send_raw(protocol::make_frame(ah, std::string_view(buf.data(), buf.size())));
  handshake_deadline_ = Clock::now() + kHandshakeRetry;
}

void Connection::on_welcome(const Header& h, std::string_view frame) {
  if (!awaiting_welcome_ || h.session != session_ || !protocol::verify_frame(*session_mac_, frame))
    return;
  in_seq_ = h.seq;
  std::size_t max_size = 64u << 20;
  bool macs = true;
  try {
    auto oh = msgpack::unpack(frame.data() + protocol::kHeaderSize,
                              frame.size() - protocol::kHeaderSize - protocol::kTagSize);
    auto params = oh.get().as<std::map<std::string, msgpack::object>>();
    if (auto it = params.find("session_timeout_ms"); it != params.end())
      session_timeout_ = std::chrono::milliseconds(it->second.as<std::uint64_t>());
    if (auto it = params.find("max_message_size"); it != params.end())
      max_size = it->second.as<std::size_t>();
    if (auto it = params.find("frame_macs"); it != params.end()) macs = it->second.as<bool>();
  } catch (const std::exception&) {
    return;
  }
  awaiting_welcome_ = false;
  ever_established_ = true;
  hello_nonces_.clear();
  frame_macs_ = macs || want_frame_macs_;  // never fewer MACs than we asked for
  last_sent_ = Clock::now();
  {
    std::lock_guard lock(mu_);
    max_message_size_ = max_size;
    state_ = State::established;
    state_cv_.notify_all();
  }
  flush_outbox();  // calls queued while the handshake ran
}

void Connection::on_refused(const Header& h, std::string_view frame) {
  std::string kind, message;
  try {
    auto oh =
        msgpack::unpack(frame.data() + protocol::kHeaderSize, frame.size() - protocol::kHeaderSize);
    auto pair = oh.get().as<std::pair<std::string, std::string>>();
    kind = pair.first;
    message = pair.second;
  } catch (const std::exception&) {
    return;
  }
  bool in_handshake = !session_mac_ || awaiting_welcome_;
  if (kind == err::session && in_handshake) {
    // Our auth answered a challenge the daemon no longer holds (a newer hello replaced it, or it
    // expired while the daemon stalled): start again; nothing has failed.
    if (awaiting_welcome_ && h.session == session_) start_handshake();
    return;
  }
  if (kind == err::session) {
    if (h.session == session_ && !in_handshake) {
      // The daemon restarted or expired us: what it held for this session (objects, parked calls)
      // is gone, so calls in flight fail rather than being resent into a different world. Calls
      // queued from now on go out on a new session.
      fail_calls("ConnectionError",
                 "syncmgrd at " + endpoint_ +
                     " lost this client's session (the daemon restarted, or the session expired); "
                     "the call may or may not have run",
                 false, true);
      start_handshake();
    }
    return;
  }
  if (in_handshake && (kind == err::auth || kind == err::protocol)) {
    // Wrong key, or a protocol version the daemon does not speak: on a first connection retrying
    // cannot help. A connection that worked before fails the calls waiting now but keeps trying
    // (the handshake timer): its daemon may be back with the right key later, and a refusal of a
    // stale handshake (one that expired during a stall) must not end a long-lived client.
    fail_calls(kind, message, !ever_established_, false);
  }
  // Other refusals concern a single frame (e.g. one corrupted in transit); its calls time out.
}

}  // namespace syncmgr::detail
