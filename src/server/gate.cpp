// The ZAP handler and the monitor of the daemon's ROUTER (see gate.hpp).
#include "server/gate.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <vector>

#include <zmq_addon.hpp>

#include "server/log.hpp"

namespace syncmgr::server {

namespace {

constexpr const char* kZapEndpoint = "inproc://zeromq.zap.01";
constexpr const char* kMonitorEndpoint = "inproc://syncmgr.router.monitor";
constexpr auto kStopCheck = std::chrono::milliseconds(100);

// The uid in an ipc peer address "localhost:uid:gid:pid" (libzmq with SO_PEERCRED), or -1.
long peer_uid(const std::string& address) {
  if (address.rfind("localhost:", 0) != 0) return -1;
  char* end = nullptr;
  long uid = std::strtol(address.c_str() + 10, &end, 10);
  return end != address.c_str() + 10 && *end == ':' ? uid : -1;
}

}  // namespace

Gate::Gate(zmq::context_t& ctx, zmq::socket_t& router, std::string client_key)
    : router_(router), client_key_(std::move(client_key)) {
  zmq::socket_t zap(ctx, zmq::socket_type::rep);
  zap.set(zmq::sockopt::linger, 0);
  zap.bind(kZapEndpoint);
  int events = ZMQ_EVENT_ACCEPT_FAILED | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |
               ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
               ZMQ_EVENT_DISCONNECTED;
  if (zmq_socket_monitor(router.handle(), kMonitorEndpoint, events) != 0)
    throw std::runtime_error(std::string("cannot monitor the router: ") +
                             zmq_strerror(zmq_errno()));
  zmq::socket_t monitor(ctx, zmq::socket_type::pair);
  monitor.set(zmq::sockopt::linger, 0);
  monitor.connect(kMonitorEndpoint);
  thread_ = std::thread([this, z = std::move(zap), m = std::move(monitor)]() mutable {
    serve(std::move(z), std::move(m));
  });
}

Gate::~Gate() {
  // libzmq sends monitor events blocking, from its I/O thread: stop them before their reader.
  zmq_socket_monitor(router_.handle(), nullptr, 0);
  stop_ = true;
  thread_.join();
}

std::string_view Gate::connection_of(zmq::message_t& msg) {
  const char* id = zmq_msg_gets(msg.handle(), "User-Id");
  return id != nullptr ? std::string_view(id) : std::string_view();
}

int Gate::descriptor_of(zmq::message_t& msg) {
  // ZMQ_SRCFD: deprecated in favour of metadata, but the only link from a message to the
  // descriptor that ZMQ_EVENT_DISCONNECTED names.
  return zmq_msg_get(msg.handle(), ZMQ_SRCFD);
}

std::uint64_t Gate::number_of(std::string_view conn) {
  if (conn.size() < 2 || conn[0] != 'c') return 0;
  return std::strtoull(std::string(conn.substr(1)).c_str(), nullptr, 10);
}

std::vector<Gate::Closed> Gate::take_closed() {
  std::vector<Closed> out;
  if (!any_closed_.load(std::memory_order_acquire)) return out;
  std::lock_guard lock(closed_mu_);
  out.swap(closed_);
  any_closed_.store(false, std::memory_order_release);
  return out;
}

void Gate::serve(zmq::socket_t zap, zmq::socket_t monitor) {
  while (!stop_) {
    zmq::pollitem_t items[] = {{zap.handle(), 0, ZMQ_POLLIN, 0},
                               {monitor.handle(), 0, ZMQ_POLLIN, 0}};
    try {
      zmq::poll(items, 2, kStopCheck);
      // Events first, all of them: a close is known before the descriptor's next connection is
      // given an id (gate.hpp).
      if (items[1].revents & ZMQ_POLLIN)
        while (on_monitor_event(monitor)) {
        }
      if (items[0].revents & ZMQ_POLLIN) {
        while (on_monitor_event(monitor)) {
        }
        on_zap_request(zap);
      }
    } catch (const zmq::error_t& e) {
      if (e.num() == ETERM) return;
      if (e.num() != EINTR) SYNCMGR_LOG(error, "gate: %s", e.what());
    }
  }
}

void Gate::on_zap_request(zmq::socket_t& zap) {
  // [version, request id, domain, address, routing id, mechanism, credentials...]
  std::vector<zmq::message_t> req;
  if (!zmq::recv_multipart(zap, std::back_inserter(req), zmq::recv_flags::dontwait)) return;
  std::string request_id = req.size() > 1 ? req[1].to_string() : std::string();
  std::string address = req.size() > 3 ? req[3].to_string() : std::string();
  std::string mechanism = req.size() > 5 ? req[5].to_string() : std::string();
  const char* refusal = nullptr;
  if (req.size() < 6 || req[0].to_string() != "1.0") {
    refusal = "malformed ZAP request";
  } else if (mechanism == "CURVE") {
    if (req.size() != 7 || req[6].to_string() != client_key_)
      refusal = "its CURVE key is not derived from this daemon's key";
  } else if (mechanism == "NULL") {
    // Only ipc listeners run without CURVE. A peer of another user is refused even where the
    // socket file's mode would let it in: only the daemon's user and root hold the key file.
    long uid = peer_uid(address);
    if (uid >= 0 && uid != 0 && uid != static_cast<long>(::geteuid()))
      refusal = "an ipc peer of another user";
  } else {
    refusal = "an unexpected security mechanism";
  }
  std::string user_id;
  if (refusal != nullptr) {
    refused_.fetch_add(1, std::memory_order_relaxed);
    if (refused_log_.allow())
      SYNCMGR_LOG(warn, "refused a connection from %s: %s", address.c_str(), refusal);
  } else {
    // Appended, not `"c" + std::to_string(...)`: GCC 12 at -O3 reports a false -Wrestrict on
    // that (GCC bug 105329), which -Werror turns into a failed release build.
    user_id = "c";
    user_id += std::to_string(++next_connection_);
  }
  std::string status = refusal != nullptr ? "400" : "200";
  std::string text = refusal != nullptr ? refusal : "OK";
  zmq::const_buffer parts[] = {zmq::str_buffer("1.0"), zmq::buffer(request_id),
                               zmq::buffer(status),    zmq::buffer(text),
                               zmq::buffer(user_id),   zmq::const_buffer(nullptr, 0)};
  (void)zmq::send_multipart(zap, parts);
}

bool Gate::on_monitor_event(zmq::socket_t& monitor) {
  std::vector<zmq::message_t> ev;
  if (!zmq::recv_multipart(monitor, std::back_inserter(ev), zmq::recv_flags::dontwait))
    return false;
  if (ev.size() < 2 || ev[0].size() < 6) return true;
  std::uint16_t event;
  std::uint32_t value;
  std::memcpy(&event, ev[0].data(), 2);
  std::memcpy(&value, static_cast<const char*>(ev[0].data()) + 2, 4);
  std::string endpoint = ev[1].to_string();
  if (event == ZMQ_EVENT_DISCONNECTED) {
    std::lock_guard lock(closed_mu_);
    closed_.push_back({static_cast<int>(value), next_connection_});
    any_closed_.store(true, std::memory_order_release);
    return true;
  }
  if (event == ZMQ_EVENT_ACCEPT_FAILED) {
    accept_failures_.fetch_add(1, std::memory_order_relaxed);
    if (accept_log_.allow()) {
      rlimit lim{};
      ::getrlimit(RLIMIT_NOFILE, &lim);
      SYNCMGR_LOG(warn, "cannot accept a connection on %s: %s (open-file limit %llu)",
                  endpoint.c_str(), std::strerror(static_cast<int>(value)),
                  static_cast<unsigned long long>(lim.rlim_cur));
    }
    return true;
  }
  // A ZeroMQ handshake that failed: no key, a wrong key, plain ZeroMQ against an encrypted
  // endpoint, garbage. ZAP refusals were counted when they were made.
  if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) return true;
  refused_.fetch_add(1, std::memory_order_relaxed);
  if (refused_log_.allow())
    SYNCMGR_LOG(warn,
                "a ZeroMQ handshake on %s failed (error 0x%x): the peer does not hold this "
                "daemon's key, or does not speak its security mechanism",
                endpoint.c_str(), value);
  return true;
}

}  // namespace syncmgr::server
