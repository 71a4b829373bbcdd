// detail::Client: the fork-aware owner of a Connection, and the pieces of proxies that are not
// templates.
#include <pthread.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <system_error>
#include <thread>

#include "client/connection.hpp"
#include "client/pool.hpp"
#include "protocol/authkey.hpp"
#include "protocol/message.hpp"
#include "protocol/wire.hpp"
#include "syncmgr/proxy.hpp"

namespace syncmgr::detail {
namespace {

// Bumped in every fork()ed child. A Connection's I/O thread does not exist in the child and its
// ZeroMQ context must not be touched there, so a Client seeing a new generation abandons the old
// Connection (deliberately leaked) and opens a new one.
std::atomic<unsigned> g_fork_generation{0};
std::once_flag g_atfork_once;
std::mutex g_reconnect_mu;

void on_fork_child() {
  g_fork_generation.fetch_add(1, std::memory_order_relaxed);
}

std::string load_key(const Options& o) {
  if (!o.authkey.empty()) return o.authkey;
  std::string path = o.authkey_file;
  if (path.empty()) {
    const char* env = std::getenv("SYNCMGR_AUTHKEY_FILE");
    if (env != nullptr) path = env;
  }
  if (path.empty()) {
    // Set by Manager::export_environment() for children started with exec.
    const char* key = std::getenv("SYNCMGR_AUTHKEY");
    if (key != nullptr && std::strlen(key) >= protocol::kMinKeySize) return key;
    throw AuthenticationError(
        "no key: set Options::authkey_file or SYNCMGR_AUTHKEY_FILE to the daemon's key file");
  }
  try {
    return protocol::read_authkey_file(path);
  } catch (const std::system_error& e) {
    // Out of descriptors is the process's limit, not a key problem: the same error as a socket
    // that cannot be opened.
    if (e.code().value() == EMFILE || e.code().value() == ENFILE) throw ConnectionError(e.what());
    throw AuthenticationError(e.what());
  } catch (const std::exception& e) {
    throw AuthenticationError(e.what());
  }
}

std::string msgpack_type_name(const msgpack::object& o) {
  switch (o.type) {
    case msgpack::type::NIL:
      return "nil";
    case msgpack::type::BOOLEAN:
      return "bool";
    case msgpack::type::POSITIVE_INTEGER:
    case msgpack::type::NEGATIVE_INTEGER:
      return "int";
    case msgpack::type::FLOAT32:
    case msgpack::type::FLOAT64:
      return "float";
    case msgpack::type::STR:
      return "str";
    case msgpack::type::BIN:
      return "bin";
    case msgpack::type::ARRAY:
      return "array";
    case msgpack::type::MAP:
      return "map";
    default:
      return "ext";
  }
}

bool wants_frame_macs(const Options& o) {
  return o.frame_macs;
}

}  // namespace

namespace {
// Where begin_request leaves the id: after the header room and the array's 1-byte header, a
// 0xcf (uint64) marker and 8 bytes, big-endian.
constexpr std::size_t kIdAt = protocol::kHeaderSize + 1;
constexpr std::size_t kIdSize = 9;
// What sending adds to a request: the ack between header and payload, and the frame's tag.
constexpr std::size_t kSendExtra = protocol::kAckSize + protocol::kTagSize;

void set_id(std::string& request, std::uint64_t id) {
  char* p = request.data() + kIdAt + 1;
  for (int i = 7; i >= 0; --i, id >>= 8)
    p[i] = static_cast<char>(id & 0xff);
}

// The request with its args packed separately (the sbuffer entry points).
std::string request_from(std::string_view op, std::string_view target,
                         const msgpack::sbuffer& args) {
  std::string buf = begin_request(op, target, args.size());
  buf.append(args.data(), args.size());  // args is already a packed array
  return buf;
}
}  // namespace

// The request is packed where it is kept, after room for the frame header (see
// Connection::flush_outbox): a lone request becomes its frame without a copy. The id is packed at a
// fixed width so that it can be filled in after the args are packed (docs/PROTOCOL.md: any width).
std::string begin_request(std::string_view op, std::string_view target, std::size_t args_hint) {
  // Written byte by byte into a string sized once (msgpack's packer appends field by field); the
  // same bytes msgpack-c packs.
  auto str_size = [](std::string_view s) {
    std::size_t n = s.size();
    return n + (n < 32 ? 1 : n <= 0xff ? 2 : n <= 0xffff ? 3 : 5);
  };
  std::size_t head = kIdAt + kIdSize + str_size(op) + (target.empty() ? 1 : str_size(target));
  std::string buf = RequestBuffers::take();
  buf.reserve(head + args_hint + kSendExtra);
  buf.resize(head);  // the header's room and the id stay zero until filled in
  auto* p = reinterpret_cast<unsigned char*>(buf.data()) + protocol::kHeaderSize;
  auto put_str = [&p](std::string_view s) {
    auto n = static_cast<std::uint32_t>(s.size());
    if (n < 32) {
      *p++ = static_cast<unsigned char>(0xa0 | n);
    } else if (n <= 0xff) {
      *p++ = 0xd9;
      *p++ = static_cast<unsigned char>(n);
    } else if (n <= 0xffff) {
      *p++ = 0xda;
      *p++ = static_cast<unsigned char>(n >> 8);
      *p++ = static_cast<unsigned char>(n);
    } else {
      *p++ = 0xdb;
      for (int shift = 24; shift >= 0; shift -= 8)
        *p++ = static_cast<unsigned char>(n >> shift);
    }
    std::memcpy(p, s.data(), s.size());
    p += s.size();
  };
  *p++ = 0x94;  // fixarray of 4
  *p++ = 0xcf;  // uint64, filled in by set_id
  p += 8;
  put_str(op);
  if (target.empty()) {
    *p++ = 0xc0;  // nil
  } else {
    put_str(target);
  }
  return buf;
}

Client::Client(Options options) : options_(std::move(options)) {
  std::call_once(g_atfork_once, [] { pthread_atfork(nullptr, nullptr, on_fork_child); });
  if (options_.endpoint.empty()) {
    const char* env = std::getenv("SYNCMGR_ENDPOINT");
    options_.endpoint = (env != nullptr && *env != '\0') ? env : "tcp://127.0.0.1:50000";
  }
  authkey_ = load_key(options_);
  fork_generation_ = g_fork_generation.load(std::memory_order_relaxed);
  conn_ = Connection::open(options_.endpoint, authkey_, options_.connect_timeout,
                           wants_frame_macs(options_));
}

Client::~Client() {
  if (fork_generation_ != g_fork_generation.load(std::memory_order_relaxed)) {
    // Inherited from the parent: destroying it here would join a thread this process never had.
    new std::shared_ptr<Connection>(std::move(conn_));
  }
}

void Client::close() {
  connection().close();
}

Connection& Client::connection() {
  unsigned gen = g_fork_generation.load(std::memory_order_relaxed);
  if (gen == fork_generation_) return *conn_;
  std::lock_guard lock(g_reconnect_mu);
  if (gen != fork_generation_) {
    new std::shared_ptr<Connection>(std::move(conn_));  // leaked on purpose, see above
    conn_ = Connection::open(options_.endpoint, authkey_, options_.connect_timeout,
                             wants_frame_macs(options_));
    fork_generation_ = gen;
    // This process's new session holds the temporaries its inherited proxies refer to, as the
    // parent's does (Python increfs in the child too). Sent ahead of any call of the child's, so
    // the daemon has the holds first; an object the parent freed meanwhile is simply gone.
    std::lock_guard temps(temporaries_mu_);
    for (const auto& [name, entry] : temporaries_) {
      std::string request =
          pack_request("server.open", "", entry.first, name, msgpack::type::nil_t());
      set_id(request, conn_->next_id());
      conn_->post(std::move(request));
    }
  }
  return *conn_;
}

void Client::hold_temporary(const std::string& name, std::string_view type) {
  std::lock_guard lock(temporaries_mu_);
  auto& entry = temporaries_[name];
  entry.first = type;
  ++entry.second;
}

void Client::drop_temporary(const std::string& name) {
  {
    std::lock_guard lock(temporaries_mu_);
    auto it = temporaries_.find(name);
    if (it == temporaries_.end() || --it->second.second > 0) return;
    temporaries_.erase(it);
  }
  Connection& c = connection();
  std::string request = pack_request("server.release", "", name);
  set_id(request, c.next_id());
  c.post(std::move(request));
}

std::shared_ptr<PendingCall> Client::send(std::string request, std::string_view op,
                                          std::string_view target,
                                          std::optional<Clock::time_point> deadline,
                                          bool cancellable, bool defer) {
  Connection& c = connection();
  std::uint64_t id = c.next_id();
  set_id(request, id);
  // Args larger than begin_request's guess: one more growth now rather than in the send path.
  request.reserve(request.size() + kSendExtra);
  return c.start(id, std::move(request), deadline, op, target, cancellable, defer);
}

std::shared_ptr<PendingCall> Client::start(std::string_view op, std::string_view target,
                                           const msgpack::sbuffer& args, bool defer) {
  return start(request_from(op, target, args), op, target, defer);
}

std::shared_ptr<PendingCall> Client::start(std::string request, std::string_view op,
                                           std::string_view target, bool defer) {
  return send(std::move(request), op, target, Clock::now() + options_.timeout, false, defer);
}

std::shared_ptr<PendingCall> Client::start_blocking(std::string_view op, std::string_view target,
                                                    const msgpack::sbuffer& args, Timeout timeout,
                                                    bool defer) {
  return start_blocking(request_from(op, target, args), op, target, timeout, defer);
}

std::shared_ptr<PendingCall> Client::start_blocking(std::string request, std::string_view op,
                                                    std::string_view target, Timeout timeout,
                                                    bool defer) {
  std::optional<Clock::time_point> deadline;
  // The daemon enforces the timeout; our own deadline only catches a daemon that does not answer.
  if (timeout)
    deadline =
        Clock::now() + std::chrono::duration_cast<Clock::duration>(*timeout) + options_.timeout;
  return send(std::move(request), op, target, deadline, true, defer);
}

std::uint64_t thread_id() {
  // 63 bits: the daemon reads it as a non-negative int64.
  return static_cast<std::uint64_t>(std::hash<std::thread::id>{}(std::this_thread::get_id())) >> 1;
}

void Client::post(std::string_view op, std::string_view target, const msgpack::sbuffer& args) {
  Connection& c = connection();
  std::string request = request_from(op, target, args);
  set_id(request, c.next_id());
  c.post(std::move(request));
}

namespace {
// A grant is the calling thread's: the same thread id the daemon records as its owner.
std::string grant_key(const std::string& name) {
  std::string key = std::to_string(thread_id());
  key += ':';
  key += name;
  return key;
}

[[noreturn]] void throw_lock_lost(const std::string& name, std::uint64_t token,
                                  const std::string& why) {
  throw LockLost("'" + name + "': this thread's grant (fencing token " + std::to_string(token) +
                 ") was lost: " + why +
                 "; the daemon released it, and another process may hold the lock now");
}

constexpr const char* kSessionEnded =
    "the session that received it ended (this process was stopped or cut off past the session "
    "timeout, or the daemon restarted)";
}  // namespace

namespace {
thread_local bool t_quiet_release = false;
}  // namespace

Client::QuietRelease::QuietRelease() : previous_(t_quiet_release) {
  t_quiet_release = true;
}

Client::QuietRelease::~QuietRelease() {
  t_quiet_release = previous_;
}

bool Client::QuietRelease::active() {
  return t_quiet_release;
}

Client::Grant* Client::find_grant(const std::string& key) {
  auto it = grants_.find(key);
  if (it == grants_.end()) return nullptr;
  if (it->second.fork_generation != g_fork_generation.load(std::memory_order_relaxed)) {
    grants_.erase(it);  // the parent's; the child's calls are its own
    return nullptr;
  }
  return &it->second;
}

bool Client::lost(const Grant& g) {
  return g.session_epoch != connection().sessions_ended();
}

void Client::note_grant(const std::string& name, std::uint64_t token) {
  Connection& c = connection();
  std::lock_guard lock(grants_mu_);
  Grant* g = find_grant(grant_key(name));
  std::uint64_t epoch = c.sessions_ended();
  if (g != nullptr && g->token == token && g->session_epoch == epoch) {
    ++g->depth;  // an RLock re-entered keeps its grant's token
    return;
  }
  grants_[grant_key(name)] = Grant{token, 1, epoch, fork_generation_};
}

void Client::check_grant(const std::string& name) {
  std::lock_guard lock(grants_mu_);
  std::string key = grant_key(name);
  Grant* g = find_grant(key);
  if (g == nullptr || !lost(*g)) return;
  if (g->reported) {
    grants_.erase(key);
    return;
  }
  g->reported = true;
  throw_lock_lost(name, g->token, kSessionEnded);
}

void Client::release_lock(std::string_view op, const std::string& name, bool send_token) {
  std::string key = grant_key(name);
  std::optional<Grant> grant;
  {
    std::lock_guard lock(grants_mu_);
    Grant* g = find_grant(key);
    // Reported now, unless quietly (unlock()): then the next acquire reports it.
    if (g != nullptr && lost(*g)) {
      g->reported = !QuietRelease::active();
      throw_lock_lost(name, g->token, kSessionEnded);
    }
    if (g != nullptr) grant = *g;
  }
  // Kept, marked reported: until this thread acquires again, its releases keep failing.
  auto forget = [&] {
    std::lock_guard lock(grants_mu_);
    if (Grant* g = find_grant(key)) {
      g->reported = !QuietRelease::active();
      g->session_epoch = ~std::uint64_t{0};  // lost, whatever the connection says
    }
  };
  try {
    if (grant && send_token) {
      call(pack_request(op, name, thread_id(), grant->token), op, name);
    } else {
      call(pack_request(op, name, thread_id()), op, name);
    }
  } catch (const LockLost&) {
    forget();
    throw;
  } catch (const ConnectionError& e) {
    // The session ended while the release was on its way: the grant ended with it.
    if (grant && lost(*grant)) {
      forget();
      throw_lock_lost(name, grant->token, kSessionEnded);
    }
    throw;
  }
  if (!grant) return;
  std::lock_guard lock(grants_mu_);
  Grant* g = find_grant(key);
  if (g != nullptr && g->token == grant->token && --g->depth == 0) grants_.erase(key);
}

bool Client::lock_owned(std::string_view op, const std::string& name) {
  std::optional<Grant> grant;
  {
    std::lock_guard lock(grants_mu_);
    if (Grant* g = find_grant(grant_key(name))) grant = *g;
  }
  // Kept: the next release must still say that the grant was lost.
  if (grant && lost(*grant)) return false;
  try {
    return result_as<bool>(call(pack_request(op, name, thread_id()), op, name), op, name);
  } catch (const ConnectionError&) {
    if (grant && lost(*grant)) return false;
    throw;
  }
}

void Client::renew_grant(const std::string& name) {
  Connection& c = connection();
  std::lock_guard lock(grants_mu_);
  if (Grant* g = find_grant(grant_key(name))) g->session_epoch = c.sessions_ended();
}

void throw_conversion_error(const msgpack::object& o, const std::type_info& wanted,
                            std::string_view op, std::string_view target) {
  std::string where =
      target.empty() ? std::string(op) : std::string(op) + " on '" + std::string(target) + "'";
  std::string message = where + ": the stored value is " + msgpack_type_name(o) +
                        ", which does not convert to " + readable_type_name(wanted);
  // The call already ran: hand its result over rather than drop it (an item taken by a get).
  Value received;
  try {
    o.convert(received);
  } catch (const msgpack::type_error&) {
    throw TypeError(message);  // not representable as a Value (an ext type): nothing to hand over
  }
  throw ConversionError(message + " (the value is in ConversionError::value())",
                        std::move(received));
}

ObjectRef::~ObjectRef() {
  if (!temporary || !client) return;
  try {
    client->drop_temporary(name);
  } catch (...) {
    // A destructor must not throw; an unreleased temporary is freed when the session ends.
  }
}

}  // namespace syncmgr::detail
