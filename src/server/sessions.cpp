// The daemon's side of the handshake, session leases and authentication-failure limiting.
#include "server/sessions.hpp"

#include <optional>
#include <string_view>

#include <msgpack.hpp>

#include "protocol/handshake.hpp"
#include "protocol/message.hpp"
#include "server/gate.hpp"
#include "server/log.hpp"

namespace syncmgr::server {

namespace err = protocol::err;
using protocol::FrameType;
using protocol::Header;

namespace {

constexpr auto kHandshakeDeadline = std::chrono::seconds(5);
constexpr std::size_t kMaxPendingHandshakes = 10000;
constexpr auto kFailureWindow = std::chrono::seconds(60);
constexpr int kFailuresBeforeLockout = 5;
constexpr auto kLockout = std::chrono::seconds(30);
constexpr int kLoggedFailuresPerWindow = 3;

// Reads a bin (or str) field of exactly `size` bytes.
bool read_fixed_bin(const msgpack::object& o, std::size_t size, std::string& out) {
  if (o.type != msgpack::type::BIN || o.via.bin.size != size) return false;
  out.assign(o.via.bin.ptr, o.via.bin.size);
  return true;
}

}  // namespace

namespace {
// A run of decimal digits as a number; nullopt when empty, not all digits or too long.
std::optional<std::int64_t> digits(std::string_view s) {
  if (s.empty() || s.size() > 18) return std::nullopt;
  std::int64_t n = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + (c - '0');
  }
  return n;
}
}  // namespace

std::int64_t pid_of_peer(std::string_view peer) {
  constexpr std::string_view kUnix = "unix pid ";
  if (peer.substr(0, kUnix.size()) == kUnix) {
    peer.remove_prefix(kUnix.size());
    return digits(peer.substr(0, peer.find(' '))).value_or(0);
  }
  // libzmq 4.3 gives an ipc peer's address as "localhost:uid:gid:pid" (SO_PEERCRED; older ones
  // leave out "localhost"). A tcp peer's is a bare IPv4 or IPv6 address, never "localhost": an
  // IPv6 one may end in three decimal groups, so the prefix is what tells them apart.
  constexpr std::string_view kLocal = "localhost";
  if (peer.substr(0, kLocal.size()) == kLocal) peer.remove_prefix(kLocal.size());
  if (peer.size() < 6 || peer[0] != ':') return 0;
  std::string_view rest = peer.substr(1);
  auto a = rest.find(':');
  if (a == std::string_view::npos) return 0;
  auto b = rest.find(':', a + 1);
  if (b == std::string_view::npos) return 0;
  if (!digits(rest.substr(0, a)) || !digits(rest.substr(a + 1, b - a - 1))) return 0;
  return digits(rest.substr(b + 1)).value_or(0);
}

std::string refused_frame(std::uint64_t session, std::string_view kind, std::string_view message) {
  msgpack::sbuffer buf;
  msgpack::packer<msgpack::sbuffer> pk(buf);
  pk.pack_array(2);
  pk.pack(kind);
  pk.pack(message);
  Header h{protocol::kProtocolVersion, FrameType::refused, protocol::Direction::to_client, session,
           0};
  return protocol::make_frame(h, std::string_view(buf.data(), buf.size()));
}

bool AuthFailures::locked_out(std::string_view conn, Clock::time_point now) {
  auto it = peers_.find(std::string(conn));
  return it != peers_.end() && now < it->second.locked_until;
}

void AuthFailures::record(std::string_view conn, const std::string& peer, Clock::time_point now,
                          const char* what) {
  ++total_;
  if (peers_.size() > 100000) peers_.clear();  // bound memory: connections come and go
  Entry& e = peers_[std::string(conn)];
  if (now - e.window_start > kFailureWindow) e = Entry{now, 0, 0, e.locked_until};
  ++e.count;
  if (e.logged < kLoggedFailuresPerWindow && log_.allow()) {
    ++e.logged;
    SYNCMGR_LOG(warn, "authentication failure from %s (connection %.*s): %s", peer.c_str(),
                static_cast<int>(conn.size()), conn.data(), what);
  }
  if (e.count >= kFailuresBeforeLockout && now >= e.locked_until) {
    e.locked_until = now + kLockout;
    if (log_.allow())
      SYNCMGR_LOG(warn,
                  "connection %.*s from %s refused for %lld s after %d authentication failures",
                  static_cast<int>(conn.size()), conn.data(), peer.c_str(),
                  static_cast<long long>(kLockout.count()), e.count);
  }
}

SessionTable::SessionTable(std::string authkey, std::chrono::milliseconds session_timeout,
                           std::size_t max_message_size, bool allow_unsealed)
    : authkey_(authkey),
      timeout_(session_timeout),
      max_message_size_(max_message_size),
      allow_unsealed_(allow_unsealed) {}

void SessionTable::drop_pending(std::uint64_t id) {
  auto it = pending_.find(id);
  if (it == pending_.end()) return;
  auto c = pending_of_conn_.find(it->second.conn);
  if (c != pending_of_conn_.end() && c->second == id) pending_of_conn_.erase(c);
  pending_.erase(it);
}

std::string SessionTable::refuse(std::uint64_t session, std::string_view kind,
                                 std::string_view message) {
  return refused_frame(session, kind, message);
}

HandshakeAnswer SessionTable::on_hello(const Header&, std::string_view frame,
                                       std::string_view conn) {
  auto now = Clock::now();
  if (failures_.locked_out(conn, now))
    return {refuse(0, err::auth,
                   "too many authentication failures on this connection; the key is wrong")};
  std::string client_nonce;
  bool wants_unsealed = false;
  try {
    auto oh =
        msgpack::unpack(frame.data() + protocol::kHeaderSize, frame.size() - protocol::kHeaderSize,
                        nullptr, nullptr, protocol::unpack_limits(frame.size()));
    const auto& o = oh.get();
    if (o.type != msgpack::type::ARRAY || o.via.array.size < 2 || o.via.array.size > 3 ||
        !read_fixed_bin(o.via.array.ptr[1], protocol::kNonceSize, client_nonce))
      throw msgpack::type_error();
    if (o.via.array.size == 3) {
      // Options: {"frame_macs": false} asks for frames without MACs (granted on ipc only).
      for (const auto& [k, v] : o.via.array.ptr[2].as<std::map<std::string, msgpack::object>>())
        if (k == "frame_macs") wants_unsealed = !v.as<bool>();
    }
  } catch (const std::exception&) {
    return {
        refuse(0, err::protocol, "malformed hello: expected [version, nonce(bin 32), {options}?]")};
  }
  std::uint64_t id = 0;
  while (id == 0 || sessions_.count(id) != 0 || pending_.count(id) != 0)
    protocol::random_bytes(&id, sizeof id);
  // One handshake per connection; the oldest gives way when the table is full.
  if (auto c = pending_of_conn_.find(std::string(conn)); c != pending_of_conn_.end())
    drop_pending(c->second);
  while (pending_.size() >= kMaxPendingHandshakes && !pending_order_.empty()) {
    drop_pending(pending_order_.front());
    pending_order_.pop_front();
  }
  Pending p{std::string(conn), client_nonce, std::string(protocol::kNonceSize, '\0'),
            now + kHandshakeDeadline, wants_unsealed};
  protocol::random_bytes(p.server_nonce.data(), p.server_nonce.size());
  protocol::Tag proof = protocol::server_proof(authkey_, {p.client_nonce, p.server_nonce, id});

  msgpack::sbuffer buf;
  msgpack::packer<msgpack::sbuffer> pk(buf);
  pk.pack_array(2);
  pk.pack_bin(protocol::kNonceSize);
  pk.pack_bin_body(p.server_nonce.data(), protocol::kNonceSize);
  pk.pack_bin(protocol::kTagSize);
  pk.pack_bin_body(reinterpret_cast<const char*>(proof.data()), protocol::kTagSize);
  pending_of_conn_[p.conn] = id;
  pending_.emplace(id, std::move(p));
  pending_order_.push_back(id);
  // Ids of handshakes that completed or were replaced linger in pending_order_ until they reach
  // its front; trimmed here so it stays proportional to the table.
  while (!pending_order_.empty() && pending_.count(pending_order_.front()) == 0)
    pending_order_.pop_front();
  if (pending_order_.size() > 2 * kMaxPendingHandshakes) {
    std::deque<std::uint64_t> live;
    for (auto pid : pending_order_)
      if (pending_.count(pid) != 0) live.push_back(pid);
    pending_order_.swap(live);
  }
  Header h{protocol::kProtocolVersion, FrameType::challenge, protocol::Direction::to_client, id, 0};
  return {protocol::make_frame(h, std::string_view(buf.data(), buf.size()))};
}

HandshakeAnswer SessionTable::on_auth(const Header& h, std::string_view frame,
                                      const std::string& routing_id, std::string_view conn,
                                      const std::string& peer) {
  auto now = Clock::now();
  auto it = pending_.find(h.session);
  if (it == pending_.end() || now > it->second.deadline || it->second.conn != conn) {
    // Another connection's handshake is left alone: only its own connection may answer it.
    if (it != pending_.end() && it->second.conn == conn) drop_pending(h.session);
    // SessionError, not an authentication failure: the client handshakes again (its challenge
    // expired, or a newer hello of its connection replaced it).
    return {refuse(h.session, err::session,
                   "no handshake in progress for this session (expired, or replaced by a newer "
                   "hello); handshake again")};
  }
  Pending p = std::move(it->second);
  drop_pending(h.session);  // one attempt per challenge: a wrong proof cannot be retried against it
  std::string proof;
  try {
    auto oh =
        msgpack::unpack(frame.data() + protocol::kHeaderSize, frame.size() - protocol::kHeaderSize,
                        nullptr, nullptr, protocol::unpack_limits(frame.size()));
    const auto& o = oh.get();
    if (o.type != msgpack::type::ARRAY || o.via.array.size != 1 ||
        !read_fixed_bin(o.via.array.ptr[0], protocol::kTagSize, proof))
      throw msgpack::type_error();
  } catch (const std::exception&) {
    failures_.record(conn, peer, now, "malformed auth frame");
    return {refuse(h.session, err::protocol, "malformed auth: expected [proof(bin 32)]")};
  }
  protocol::HandshakeInputs in{p.client_nonce, p.server_nonce, h.session};
  protocol::Tag expected = protocol::client_proof(authkey_, in);
  if (!protocol::tags_equal(reinterpret_cast<const unsigned char*>(proof.data()), expected)) {
    failures_.record(conn, peer, now, "wrong key (client proof did not verify)");
    return {refuse(h.session, err::auth,
                   "authentication failed: the client's key does not match the daemon's")};
  }
  auto s = std::make_unique<Session>(Session{h.session,
                                             routing_id,
                                             std::string(conn),
                                             protocol::Hmac(protocol::session_key(authkey_, in)),
                                             0,
                                             0,
                                             now,
                                             peer,
                                             true,
                                             {}});
  Session* session = s.get();
  session->opened = now;
  // Frames without MACs when the client asks: the session is bound to this connection (gate.hpp),
  // whose far end just proved the key, and which no one else can inject into: an ipc socket of the
  // daemon's own user, or a tcp connection whose every message CURVE encrypts and authenticates.
  session->frame_macs = !(p.wants_unsealed && allow_unsealed_);
  sessions_.emplace(h.session, std::move(s));

  msgpack::sbuffer buf;
  msgpack::packer<msgpack::sbuffer> pk(buf);
  pk.pack_map(4);
  pk.pack("frame_macs");
  pk.pack(session->frame_macs);
  pk.pack("session_timeout_ms");
  pk.pack(static_cast<std::uint64_t>(timeout_.count()));
  pk.pack("max_message_size");
  pk.pack(static_cast<std::uint64_t>(max_message_size_));
  pk.pack("daemon_version");
  pk.pack(SYNCMGR_VERSION);
  Header wh{protocol::kProtocolVersion, FrameType::welcome, protocol::Direction::to_client,
            h.session, ++session->out_seq};
  SYNCMGR_LOG(info, "session %016llx opened from %s", static_cast<unsigned long long>(h.session),
              peer.c_str());
  return {protocol::seal_frame(session->key, wh, std::string_view(buf.data(), buf.size())),
          session};
}

Session* SessionTable::find(std::uint64_t id) {
  auto it = sessions_.find(id);
  return it == sessions_.end() ? nullptr : it->second.get();
}

void SessionTable::abandon(std::uint64_t id, const char* why) {
  auto it = pending_.find(id);
  if (it == pending_.end()) return;
  ++abandoned_;
  if (abandoned_log_.allow())
    SYNCMGR_LOG(warn,
                "connection %s: handshake abandoned after the challenge (%s); a client whose key "
                "differs from this daemon's stops there",
                it->second.conn.c_str(), why);
  drop_pending(id);
}

std::vector<std::uint64_t> SessionTable::connection_closed(std::string_view conn) {
  if (auto it = pending_of_conn_.find(std::string(conn)); it != pending_of_conn_.end())
    abandon(it->second, "its connection closed");
  // A scan: connections close far less often than frames arrive, and sessions are few.
  std::vector<std::uint64_t> ids;
  for (const auto& [id, session] : sessions_)
    if (session->conn == conn) ids.push_back(id);
  return ids;
}

void SessionTable::close(std::uint64_t id) {
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return;
  auto [first, last] = by_fd_.equal_range(it->second->fd);
  for (auto r = first; r != last; ++r)
    if (r->second == id) {
      by_fd_.erase(r);
      break;
    }
  sessions_.erase(it);
}

void SessionTable::set_descriptor(Session& session, int fd) {
  if (fd < 0 || session.fd >= 0) return;
  session.fd = fd;
  by_fd_.emplace(fd, session.id);
}

std::vector<std::uint64_t> SessionTable::of_closed(int fd, std::uint64_t last) const {
  std::vector<std::uint64_t> ids;
  auto [first, end] = by_fd_.equal_range(fd);
  for (auto r = first; r != end; ++r) {
    auto it = sessions_.find(r->second);
    if (it != sessions_.end() && Gate::number_of(it->second->conn) <= last)
      ids.push_back(r->second);
  }
  return ids;
}

std::vector<std::uint64_t> SessionTable::expire(Clock::time_point now) {
  std::vector<std::uint64_t> idle;
  for (const auto& [id, session] : sessions_)
    if (now - session->last_seen > timeout_) idle.push_back(id);
  while (!pending_order_.empty()) {
    auto it = pending_.find(pending_order_.front());
    if (it != pending_.end() && now <= it->second.deadline) break;  // the rest are younger
    if (it != pending_.end()) abandon(it->first, "no auth within 5 s");
    pending_order_.pop_front();
  }
  return idle;
}

}  // namespace syncmgr::server
