// The daemon's event loop: one epoll over the ROUTER's notification fd, the unix:// sockets and the
// signal fd; the intake of frames from both transports; timers (session expiry, parked calls'
// deadlines, the owner check).
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <thread>

#include "protocol/message.hpp"
#include "protocol/zmq_frame.hpp"
#include "server/log.hpp"
#include "server/server.hpp"

namespace syncmgr::server {

namespace err = protocol::err;

namespace {

// epoll tokens of the loop's own descriptors (UnixLinks uses kFirstToken and up).
constexpr std::uint64_t kRouterToken = 0;
constexpr std::uint64_t kSignalToken = 1;

void watch(int epoll_fd, int fd, std::uint64_t token) {
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = token;
  if (::epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &ev) != 0)
    throw std::runtime_error(std::string("epoll_ctl: ") + std::strerror(errno));
}

}  // namespace

void Server::run(int stop_fd) {
  for (const auto& ep : endpoints_)
    SYNCMGR_LOG(info, "listening on %s", ep.c_str());
  // ZeroMQ's fd tells of a change in the socket's state, edge-style: before each wait the socket's
  // events are checked, and a frame already queued means the wait does not block.
  watch(epoll_fd_, router_.get(zmq::sockopt::fd), kRouterToken);
  if (stop_fd >= 0) watch(epoll_fd_, stop_fd, kSignalToken);
  // A parent gone is noticed by polling getppid() this often.
  constexpr auto kOwnerCheck = std::chrono::milliseconds(100);
  auto tick_every = std::clamp(options_.session_timeout / 4, std::chrono::milliseconds(10),
                               std::chrono::milliseconds(1000));
  auto next_tick = Clock::now() + tick_every;
  auto next_owner_check = Clock::now();
  auto pass_end = Clock::now();
  while (!shutdown_) {
    auto now = Clock::now();
    if (options_.owner_pid != 0 && now >= next_owner_check) {
      // An orphan is re-parented: the owner that started this daemon for itself is gone.
      if (::getppid() != options_.owner_pid) {
        SYNCMGR_LOG(info, "owner process %d is gone, shutting down",
                    static_cast<int>(options_.owner_pid));
        break;
      }
      next_owner_check = now + kOwnerCheck;
    }
    auto wake_at = std::min(next_tick, blocking_.next_deadline());
    if (options_.owner_pid != 0) wake_at = std::min(wake_at, next_owner_check);
    // Rounded up: a wait rounded down to 0 ms would spin until the deadline.
    auto wait = std::chrono::ceil<std::chrono::milliseconds>(wake_at - now).count();
    int timeout = static_cast<int>(std::clamp<std::int64_t>(wait, 0, 1000));
    // Only after the socket was used: a send or receive may have run ZeroMQ's pending commands,
    // taking the fd's signal for a frame that is now waiting. Untouched, the fd tells (a pass that
    // serves only unix:// peers costs no call into libzmq).
    bool router_ready = false;
    if (router_touched_) {
      router_ready = (router_.get(zmq::sockopt::events) & ZMQ_POLLIN) != 0;
      router_touched_ = false;
    }
    epoll_event events[64];
    int n = wait_events(events, 64, router_ready ? 0 : timeout);
    if (n < 0) n = 0;  // EINTR: a signal not routed to the signalfd; look again
    for (int i = 0; i < n && !shutdown_; ++i) {
      std::uint64_t token = events[i].data.u64;
      if (token == kRouterToken) {
        router_ready = true;
      } else if (token == kSignalToken) {
        signalfd_siginfo info{};
        if (::read(stop_fd, &info, sizeof info) > 0) {
          SYNCMGR_LOG(info, "received signal %u, shutting down", info.ssi_signo);
          shutdown_ = true;
        }
      } else if (unix_) {
        unix_->on_event(token, events[i].events);
      }
    }
    // ZeroMQ connections closed by now: their sessions end once what they sent before is read
    // (the gate's notices are taken before the socket is drained, gate.hpp).
    auto closed = gate_->take_closed();
    closed_.insert(closed_.end(), closed.begin(), closed.end());
    bool drained = true;
    if ((router_ready || !closed_.empty()) && !shutdown_) drained = drain_router();
    if (drained && !closed_.empty()) {
      end_closed(closed_);
      closed_.clear();
    }
    if (unix_) unix_->reap();
    now = Clock::now();
    // Longer since the last pass than the wait asked for: the daemon itself stalled (stopped,
    // swapped out, starved of CPU). Its clients' frames of that time may still sit in socket
    // buffers, so nobody is judged silent until they have had a moment to be read (issue 10 #11).
    auto overdue = now - pass_end - std::chrono::milliseconds(router_ready ? 0 : timeout);
    if (overdue > kStallThreshold) {
      auto grace = std::max<Clock::duration>(tick_every, kStallThreshold);
      if (expire_not_before_ < now + grace) expire_not_before_ = now + grace;
      if (stall_log_.allow())
        SYNCMGR_LOG(warn, "the loop stalled for %.1f s; no session expires for the next %.1f s",
                    std::chrono::duration<double>(overdue).count(),
                    std::chrono::duration<double>(grace).count());
    }
    blocking_.expire(now);
    if (now >= next_tick) {
      tick(now);
      next_tick = now + tick_every;
    }
    pass_end = Clock::now();
  }
  if (shutdown_) {
    // The reply to server.shutdown was queued just now. ZeroMQ's linger keeps queued frames only
    // once its I/O thread has taken them from the socket; closing at once can drop this one
    // (seen under load with libzmq 4.3.4), so give the I/O thread a moment first.
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  SYNCMGR_LOG(info, "stopped: %zu sessions, %zu objects, %llu ops served", sessions_.size(),
              registry_.size(), static_cast<unsigned long long>(ops_total_));
}

bool Server::drain_router() {
  router_touched_ = true;
  // A bounded batch, so that timers and the unix:// peers still get their turn under load.
  for (int i = 0; i < 1024 && !shutdown_; ++i) {
    zmq::message_t routing, frame;
    try {
      if (!router_.recv(routing, zmq::recv_flags::dontwait)) return true;
    } catch (const zmq::error_t& e) {
      if (e.num() == EINTR) return false;
      throw;
    }
    if (!routing.more()) continue;  // ROUTER always prepends the identity; be defensive
    (void)router_.recv(frame, zmq::recv_flags::none);
    on_parts(routing, frame);
  }
  return false;
}

void Server::tick(Clock::time_point now) {
  if (unix_) unix_->check_stalled(now, options_.session_timeout);
  auto idle = sessions_.expire(now);
  if (now >= expire_not_before_)
    for (auto id : idle)
      end_session(id, "expired (no frame within the session timeout)");
  if (now - rate_window_start_ >= std::chrono::seconds(1)) {
    double secs = std::chrono::duration<double>(now - rate_window_start_).count();
    ops_per_second_ = static_cast<double>(ops_total_ - ops_at_window_start_) / secs;
    ops_at_window_start_ = ops_total_;
    rate_window_start_ = now;
  }
}

int Server::wait_events(epoll_event* events, int max, int timeout_ms) {
  // A short spin first (protocol/spin.hpp): the next request of a client in a call loop comes
  // within microseconds, and a sleeping vCPU takes tens of them to wake.
  if (timeout_ms > 0) {
    int n = spin_.spin([&] { return ::epoll_wait(epoll_fd_, events, max, 0); });
    if (n != 0) return n;
  }
  return ::epoll_wait(epoll_fd_, events, max, timeout_ms);
}

void Server::send_frame(const std::string& routing_id, std::string_view conn, std::string frame) {
  if (UnixLinks::is_unix_conn(conn)) {
    if (unix_) unix_->send(conn, frame);
    return;
  }
  send_message(routing_id, protocol::frame_message(std::move(frame)));
}

void Server::send_frame(const std::string& routing_id, std::string_view conn,
                        msgpack::sbuffer&& frame) {
  if (UnixLinks::is_unix_conn(conn)) {
    if (unix_) unix_->send(conn, std::string_view(frame.data(), frame.size()));
    return;
  }
  send_message(routing_id, protocol::frame_message(std::move(frame)));
}

void Server::send_message(const std::string& routing_id, zmq::message_t body) {
  // dontwait: a peer that is gone or not reading loses its frame; the loop never waits for it.
  router_touched_ = true;
  zmq::message_t id(routing_id.data(), routing_id.size());
  if (!router_.send(id, zmq::send_flags::sndmore | zmq::send_flags::dontwait)) return;
  (void)router_.send(body, zmq::send_flags::dontwait);
}

void Server::on_parts(zmq::message_t& routing, zmq::message_t& first) {
  std::string routing_id(routing.data<char>(), routing.size());
  std::string_view conn = Gate::connection_of(first);
  Origin from{&first, nullptr};
  if (!first.more())
    return on_message(routing_id, conn, from, std::string_view(first.data<char>(), first.size()));
  // A frame in parts (tcp): joined, up to the largest frame accepted; the rest is drained unread.
  std::size_t limit = frame_limit();
  std::string joined(first.data<char>(), first.size());
  bool over = false;
  zmq::message_t part;
  do {
    (void)router_.recv(part, zmq::recv_flags::none);
    over = over || joined.size() + part.size() > limit;
    if (!over) joined.append(part.data<char>(), part.size());
  } while (part.more());
  if (over) {
    ++rejected_frames_;
    auto h = protocol::read_header(joined);
    return refuse(
        routing_id, conn, h ? h->session : 0, err::protocol,
        "message exceeds the limit of " + std::to_string(options_.max_message_size) + " bytes");
  }
  on_message(routing_id, conn, from, joined);
}

void Server::on_unix_frame(std::string_view conn, const std::string& peer, std::string_view frame) {
  static const std::string no_routing_id;
  on_message(no_routing_id, conn, Origin{nullptr, &peer}, frame);
}

void Server::on_unix_closed(std::string_view conn) {
  refusals_.erase(std::string(conn));
  // Its sessions are bound to it and can never speak again: they end now, not at expiry, and
  // what they held goes to the next in line at once.
  for (auto id : sessions_.connection_closed(conn))
    end_session(id, "ended: its unix connection closed");
}

}  // namespace syncmgr::server
