// The daemon's event loop: one thread owns every object and session and serves all clients from one
// ZeroMQ ROUTER socket bound to any number of endpoints. It never blocks on a client: sends never
// wait (ROUTER drops frames for peers that are gone or over their high-water mark), and a call that
// must wait is parked on its object rather than holding the loop.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <msgpack.hpp>
#include <zmq.hpp>

#include "server/commands.hpp"
#include "server/registry.hpp"
#include "server/sessions.hpp"

namespace syncmgr::server {

struct ServerOptions {
  std::vector<std::string> binds;
  std::string authkey;
  std::size_t max_message_size = 64u << 20;
  std::chrono::milliseconds session_timeout{10000};
};

struct ServerStats {
  std::size_t sessions;
  std::size_t objects;
  std::uint64_t ops_total;
  double ops_per_second;  // over the last full second
  double uptime_seconds;
  std::uint64_t auth_failures;
  std::uint64_t rejected_frames;
};

class Server {
 public:
  /// Binds every endpoint; throws std::runtime_error("cannot bind <endpoint>: <reason>").
  explicit Server(ServerOptions options);
  ~Server();

  /// The bound endpoints, with wildcard ports resolved (tcp://127.0.0.1:*).
  const std::vector<std::string>& endpoints() const { return endpoints_; }

  /// Serves until server.shutdown or until `stop_fd` (a signalfd, or -1) becomes readable.
  void run(int stop_fd);

  // Used by the server.* handlers.
  void request_shutdown() { shutdown_ = true; }
  void close_session_after_reply(std::uint64_t id) { closing_.push_back(id); }
  ServerStats stats() const;
  const CommandTable& commands() const { return commands_; }

 private:
  void on_message(zmq::message_t& routing, zmq::message_t& frame);
  void on_request(Session& session, std::string_view payload);
  void dispatch(Session& session, const msgpack::object& request, msgpack::sbuffer& out);
  void send_frame(const std::string& routing_id, const std::string& frame);
  void end_session(std::uint64_t id, const char* why);
  void tick(Clock::time_point now);

  ServerOptions options_;
  CommandTable commands_;
  Registry registry_;
  SessionTable sessions_;
  zmq::context_t context_;
  zmq::socket_t router_;
  std::vector<std::string> endpoints_;
  bool shutdown_ = false;
  std::vector<std::uint64_t> closing_;

  Clock::time_point started_ = Clock::now();
  Clock::time_point rate_window_start_ = started_;
  std::uint64_t ops_total_ = 0;
  std::uint64_t ops_at_window_start_ = 0;
  double ops_per_second_ = 0;
  std::uint64_t rejected_frames_ = 0;
};

}  // namespace syncmgr::server
