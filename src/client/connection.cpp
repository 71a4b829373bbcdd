// The client connection: the pump (sending, coalescing, heartbeats, liveness), the handshake,
// reconnection, and the hand-over of the socket between threads.
#include "client/connection.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "client/pool.hpp"
#include "protocol/curve.hpp"
#include "protocol/handshake.hpp"
#include "protocol/message.hpp"
#include "syncmgr/errors.hpp"
#include "syncmgr/value.hpp"

namespace syncmgr::detail {

namespace err = protocol::err;
using protocol::FrameType;
using protocol::Header;

namespace {

// How long a caller whose deadline passed waits for the daemon to answer its cancellation.
constexpr auto kCancelGrace = std::chrono::milliseconds(5000);
// An async request waits at most this long for a frame to share (see submit).
constexpr auto kDeferLimit = std::chrono::milliseconds(1);
constexpr std::size_t kMaxDeferred = 256;

}  // namespace

std::string Connection::server_request(std::string_view op, std::optional<std::uint64_t> arg) {
  std::string buf(protocol::kHeaderSize, '\0');  // room for the header, as every request has
  protocol::StringWriter stream{buf};
  msgpack::packer<protocol::StringWriter> pk(stream);
  pk.pack_array(4);
  pk.pack(next_id());
  pk.pack(op);
  pk.pack_nil();
  pk.pack_array(arg ? 1 : 0);
  if (arg) pk.pack(*arg);
  return buf;
}

Connection::Connection(std::string endpoint, std::string authkey,
                       std::chrono::milliseconds connect_timeout, bool frame_macs)
    : endpoint_(std::move(endpoint)),
      authkey_(std::move(authkey)),
      authkey_mac_(authkey_),
      want_frame_macs_(frame_macs) {
  transport_ = open_transport(endpoint_, authkey_);
  // The last resource taken before the threads start: members release the rest if this throws.
  wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd_ < 0) throw ConnectionError(std::string("eventfd: ") + std::strerror(errno));
  last_received_ = Clock::now();
  start_handshake();  // this thread is the pump until the background thread exists
  background_ = std::thread([this] { background(); });
  std::unique_lock lock(mu_);
  auto give_up = Clock::now() + connect_timeout;
  // The transport's watch runs beside the pump (ZeroMQ: a monitor socket of its own).
  while (state_ == State::connecting && Clock::now() < give_up && !transport_->refused()) {
    state_cv_.wait_until(lock, std::min(give_up, Clock::now() + std::chrono::milliseconds(50)));
    transport_->watch();
  }
  if (state_ == State::established) {
    transport_->watch_done();
    return;
  }
  bool settled = state_ != State::connecting;
  std::string kind = settled ? fatal_kind_ : std::string("ConnectionError");
  std::string message = settled ? fatal_message_ : transport_->explain(connect_timeout);
  if (!settled && transport_->refused()) kind = "AuthenticationError";
  stop_ = true;
  background_cv_.notify_one();
  lock.unlock();
  wake_pump();
  background_.join();
  ::close(wake_fd_);
  throw_error(kind, message);
}

std::shared_ptr<Connection> Connection::open(std::string endpoint, std::string authkey,
                                             std::chrono::milliseconds connect_timeout,
                                             bool frame_macs) {
  std::string where = endpoint;
  try {
    return std::make_shared<Connection>(std::move(endpoint), std::move(authkey), connect_timeout,
                                        frame_macs);
  } catch (const zmq::error_t& e) {
    // Typically EMFILE: the process is out of file descriptors.
    throw ConnectionError("cannot open a connection to " + where + ": " + e.what());
  }
}

Connection::~Connection() {
  close();
  ::close(wake_fd_);
}

void Connection::close() {
  {
    std::lock_guard lock(mu_);
    if (stop_) return;
  }
  // Calls in flight fail and new ones are refused; the background thread then says goodbye.
  fail_calls("ConnectionError", "the Manager was closed", true, false);
  {
    std::lock_guard lock(mu_);
    stop_ = true;
    background_cv_.notify_one();
  }
  wake_pump();
  background_.join();
}

void Connection::wake_pump() {
  std::uint64_t one = 1;
  (void)::write(wake_fd_, &one, sizeof one);
}

void Connection::submit(std::unique_lock<std::mutex>& lock, std::uint64_t id, std::string request,
                        bool defer) {
  outbox_.emplace_back(id, std::move(request));
  queued_.store(true, std::memory_order_release);
  if (pumping_) {
    lock.unlock();
    wake_pump();
    lock.lock();
    return;
  }
  if (defer && outbox_.size() < kMaxDeferred) {
    // An async call: hold it so that the caller's next wait, or the background thread within
    // kDeferLimit, sends everything queued by then in one frame, which the daemon answers with one
    // frame. A caller issuing 64 calls and then waiting pays one round trip, not two.
    if (!flush_by_) {
      flush_by_ = Clock::now() + kDeferLimit;
      // The background thread looks in often while calls are in flight; wake it only if it
      // sleeps well past the limit.
      if (background_wake_at_ > *flush_by_ + kDeferLimit) background_cv_.notify_one();
    }
    return;
  }
  pumping_ = true;
  lock.unlock();
  if (linked()) flush_outbox();  // else it goes out once the handshake completes
  lock.lock();
  release_pump(lock);
}

void Connection::release_pump(std::unique_lock<std::mutex>&) {
  // Requests queued after the pump's last flush must not wait for a heartbeat to go out.
  bool attention = (!linked() && state_ != State::failed) || stop_ || !outbox_.empty();
  next_timer_ = linked() ? last_sent_ + session_timeout_ / 3 : handshake_deadline_;
  pumping_ = false;
  if (sleepers_ > 0) {
    bool handed = calls_.any_of([](std::uint64_t, InFlight& e) {
      auto call = e.call.lock();
      if (!call || !call->waiting || call->done) return false;
      call->cv.notify_one();  // it takes the pump over
      return true;
    });
    if (handed) return;
  }
  if (attention) {
    needs_background_ = true;
    background_cv_.notify_one();
  }
}

std::shared_ptr<PendingCall> Connection::start(std::uint64_t id, std::string request,
                                               std::optional<Clock::time_point> deadline,
                                               std::string_view op, std::string_view target,
                                               bool cancellable, bool defer) {
  auto call = std::allocate_shared<PendingCall>(PoolAllocator<PendingCall>());
  call->id = id;
  call->op = op;
  call->target = target;
  call->deadline = deadline;
  call->cancellable = cancellable;
  call->conn = shared_from_this();
  std::unique_lock lock(mu_);
  if (state_ == State::failed) throw_error(fatal_kind_, fatal_message_);
  std::size_t body = request.size() - protocol::kHeaderSize;
  if (body > max_message_size_)
    throw ProtocolError(std::string(op) + ": request of " + std::to_string(body) +
                        " bytes exceeds the daemon's limit of " +
                        std::to_string(max_message_size_));
  InFlight& e = calls_[id];
  e.call = call;
  e.has_call = true;
  ++callers_;
  submit(lock, id, std::move(request), defer);
  return call;
}

bool Connection::wait(PendingCall& call, std::optional<Clock::time_point> until) {
  std::unique_lock lock(mu_);
  auto passed = [&] { return until && Clock::now() >= *until; };
  while (!call.done) {
    if (!pumping_) {
      // Drive the socket ourselves: our reply wakes us straight from zmq_poll.
      pumping_ = true;
      lock.unlock();
      try {
        for (;;) {
          pump_once(until, true);
          lock.lock();
          if (call.done || passed()) break;
          lock.unlock();
        }
      } catch (...) {
        // Whatever went wrong, the socket must not be left without a driver.
        if (!lock.owns_lock()) lock.lock();
        release_pump(lock);
        throw;
      }
      release_pump(lock);
      if (passed()) break;
      continue;
    }
    if (passed()) break;
    call.waiting = true;
    ++sleepers_;
    if (until) {
      call.cv.wait_until(lock, *until);
    } else {
      call.cv.wait(lock);
    }
    call.waiting = false;
    --sleepers_;
  }
  if (!pumping_ && sleepers_ > 0) {
    // We may have been handed the pump just as we stopped waiting: pass it on.
    pumping_ = true;
    release_pump(lock);
  }
  return call.done;
}

ReplyRef Connection::take(PendingCall& call) {
  // The label of errors, built only when one is thrown: it would cost every call allocations.
  auto what = [&] { return call.target.empty() ? call.op : call.op + " on '" + call.target + "'"; };
  if (!wait(call, call.deadline)) {
    bool answered = false;
    if (call.cancellable) {
      // Ask the daemon to end the parked call; it then answers it (served after all, or
      // CancelledError), so exactly one outcome reaches us and nothing is lost.
      {
        std::unique_lock lock(mu_);
        submit(lock, 0, server_request("server.cancel", call.id), false);
      }
      answered = wait(call, Clock::now() + kCancelGrace);
    }
    if (!answered) {
      std::lock_guard lock(mu_);
      // A late reply finds no caller and is dropped.
      if (InFlight* e = calls_.find(call.id); e != nullptr && e->has_call) drop_caller(call.id, *e);
      throw ConnectionError(what() + ": no reply from syncmgrd at " + endpoint_ +
                            " before the call's deadline");
    }
  }
  if (call.daemon_error) {
    if (call.error_kind == err::cancelled)
      throw ConnectionError(what() + ": no reply before the call's deadline; cancelled");
    throw_error(call.error_kind, call.error_message);
  }
  if (!call.error_kind.empty()) throw_error(call.error_kind, what() + ": " + call.error_message);
  return std::move(call.reply);
}

void Connection::post(std::string request) {
  std::unique_lock lock(mu_);
  if (state_ == State::failed || request.size() - protocol::kHeaderSize > max_message_size_) return;
  submit(lock, 0, std::move(request), true);
}

void Connection::fail_calls(std::string_view kind, const std::string& message, bool fatal,
                            bool sent_only) {
  std::lock_guard lock(mu_);
  if (fatal) {
    state_ = State::failed;
    fatal_kind_ = kind;
    fatal_message_ = message;
    state_cv_.notify_all();
  }
  auto fail = [&](const std::weak_ptr<PendingCall>& weak) {
    auto call = weak.lock();
    if (!call) return;
    call->done = true;
    call->error_kind = kind;
    call->error_message = message;
    call->cv.notify_one();
  };
  if (sent_only) {
    // Every request sent on this session is forgotten; its caller, if any, fails.
    calls_.erase_if([&](std::uint64_t, InFlight& e) {
      if (!e.sent) return false;
      if (e.has_call) {
        fail(e.call);
        --callers_;
      }
      return true;
    });
  } else {
    calls_.for_each([&](std::uint64_t, InFlight& e) {
      if (e.has_call) fail(e.call);
    });
    calls_.clear();
    callers_ = 0;
    outbox_.clear();
    queued_.store(false, std::memory_order_relaxed);
    flush_by_.reset();
  }
}

void Connection::drop_caller(std::uint64_t id, InFlight& e) {
  e.has_call = false;
  e.call.reset();
  --callers_;
  if (!e.sent) calls_.erase(id);
}

bool Connection::send_raw(std::string frame) {
  // A send while disconnected fails rather than queue (the handshake timer retries, and
  // unanswered calls are resent on the next session). A failed send counts as sent for the
  // heartbeat timer, which would otherwise spin.
  last_sent_ = Clock::now();
  return transport_->send(std::move(frame));
}

bool Connection::send_sealed(std::string frame) {
  Header h{protocol::kProtocolVersion, FrameType::request, protocol::Direction::to_daemon, session_,
           ++out_seq_};
  // Every request frame acknowledges the replies received so far (docs/PROTOCOL.md, "Delivery
  // acknowledgement"): until then the daemon keeps the items it handed us, to put them back if
  // this session ends first. The 8 bytes go between the header's room and the payload (a move of
  // the payload, within the capacity requests reserve for the tag).
  h.flags = protocol::kFlagAck;
  h.ack = in_seq_;
  frame.insert(protocol::kHeaderSize, protocol::kAckSize, '\0');
  protocol::seal_in_place(frame, *session_mac_, frame_macs_, h);
  return send_raw(std::move(frame));
}

void Connection::background() {
  std::unique_lock lock(mu_);
  while (!stop_) {
    auto now = Clock::now();
    if (!pumping_ &&
        (needs_background_ || now >= next_timer_ || (flush_by_ && now >= *flush_by_))) {
      needs_background_ = false;
      pumping_ = true;
      lock.unlock();
      // One round for timers and queued frames; during a handshake, stay until it settles.
      try {
        pump_once(Clock::now());
        for (;;) {
          lock.lock();
          bool settle = !linked() && state_ != State::failed && !stop_ && sleepers_ == 0;
          lock.unlock();
          if (!settle) break;
          pump_once(Clock::now() + std::chrono::milliseconds(100));
        }
      } catch (const std::exception& e) {
        // An exception here would end the process (std::terminate): fail the calls instead.
        if (lock.owns_lock()) lock.unlock();
        fail_calls("ConnectionError", std::string("the connection to syncmgrd failed: ") + e.what(),
                   true, false);
      }
      lock.lock();
      release_pump(lock);
      needs_background_ = false;
      continue;
    }
    // While another thread pumps, it keeps the timers; look again a heartbeat later.
    auto until = pumping_ ? now + session_timeout_ / 3 : next_timer_;
    if (!pumping_ && flush_by_ && *flush_by_ < until) until = *flush_by_;
    // While calls are in flight, look in every few ms: deferred requests then need no wake-up.
    if (callers_ > 0) until = std::min(until, now + 2 * kDeferLimit);
    background_wake_at_ = until;
    // Woken early also when a deferred request's flush deadline now comes before `until` (submit
    // set it after this thread chose `until`): then the loop chooses again.
    background_cv_.wait_until(lock, until, [&] {
      return stop_ || (!pumping_ && (needs_background_ || (flush_by_ && *flush_by_ < until)));
    });
  }
  // Once a thread still driving the socket lets go (its call has failed, see close), the socket is
  // this thread's for good. Say goodbye so the daemon frees the session (and our temporary
  // objects) now, not at expiry.
  background_cv_.wait(lock, [&] { return !pumping_; });
  pumping_ = true;
  lock.unlock();
  if (linked()) {
    flush_outbox();
    if (send_sealed(server_request("server.bye"))) await_bye();
  }
  transport_->close();
}

void Connection::await_bye() {
  // The ZeroMQ context is the process's and outlives this socket, so closing the socket does not
  // wait for the goodbye to leave (linger applies when a context ends), and a process that exits
  // next would lose it. The daemon answers frames in order: any reply from now on means it has
  // the goodbye.
  auto until = Clock::now() + std::chrono::milliseconds(500);
  try {
    while (Clock::now() < until) {
      if (transport_->ready()) {
        while (auto f = transport_->receive()) {
          auto h = protocol::read_header(f->bytes());
          if (h && h->type == FrameType::reply && h->session == session_) return;
        }
        continue;
      }
      if (transport_->take_dropped() || transport_->fd() < 0) return;
      auto left = std::chrono::ceil<std::chrono::milliseconds>(until - Clock::now()).count();
      pollfd fd{transport_->fd(), POLLIN, 0};
      (void)::poll(&fd, 1, static_cast<int>(std::max<long long>(left, 1)));
      // A stream transport has frames only once read: try whatever arrived.
      while (auto f = transport_->receive()) {
        auto h = protocol::read_header(f->bytes());
        if (h && h->type == FrameType::reply && h->session == session_) return;
      }
    }
  } catch (const std::exception&) {
    // The socket is going away regardless.
  }
}

void Connection::pump_once(std::optional<Clock::time_point> limit, bool for_reply) {
  if (linked()) flush_outbox();
  auto now = Clock::now();
  auto heartbeat_every = session_timeout_ / 3;
  Clock::time_point end = linked() ? last_sent_ + heartbeat_every : handshake_deadline_;
  if (limit && *limit < end) end = *limit;
  // Rounded up: a wait rounded down to 0 ms would spin until `end`.
  auto wait = std::chrono::ceil<std::chrono::milliseconds>(end - now);
  wait = std::clamp(wait, std::chrono::milliseconds(0), std::chrono::milliseconds(1000));
  // Wait for a frame or a wake-up. zmq_poll would make two poll(2) passes and check the socket's
  // events twice; instead: one readiness check (for ZeroMQ an events check, which also runs its
  // pending commands), and only when no frame is ready, one poll(2) on the transport's fd and
  // the eventfd. ZeroMQ's fd is edge-triggered, which is why the check comes right before the poll.
  if (!transport_->ready()) {
    pollfd fds[] = {{transport_->fd(), POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    int timeout = static_cast<int>(wait.count());
    // A caller waiting for its reply over a unix:// socket looks for it for a moment before
    // sleeping (protocol/spin.hpp: waking a sleeping vCPU costs more than the whole call).
    if (for_reply && timeout > 0 && transport_->local() &&
        spin_.spin([&] { return ::poll(fds, 2, 0); }) > 0)
      timeout = 0;
    if (::poll(fds, 2, timeout) > 0 && (fds[1].revents & POLLIN)) {
      std::uint64_t n;
      (void)::read(wake_fd_, &n, sizeof n);
    }
  }
  while (auto frame = transport_->receive())
    on_frame(*frame);
  // The daemon closed a stream connection: what was sent on it will not be answered.
  if (transport_->take_dropped()) connection_lost();
  now = Clock::now();
  if (linked()) {
    flush_outbox();
    if (now - last_sent_ >= heartbeat_every) {
      // Heartbeat: renews the lease, and its reply tells us the daemon is alive.
      if (!send_sealed(server_request("server.heartbeat"))) connection_lost();
    }
    auto waiting = [&] {
      std::lock_guard lock(mu_);
      return callers_ > 0;
    };
    // The clock first: the lock only once the daemon has been silent too long.
    if (now - last_received_ > session_timeout_ + heartbeat_every && waiting()) {
      // Nothing heard for longer than the lease: the daemon is gone or unreachable.
      sessions_ended_.fetch_add(1, std::memory_order_release);
      fail_calls("ConnectionError",
                 "syncmgrd at " + endpoint_ + " stopped answering (nothing received for " +
                     std::to_string(
                         std::chrono::duration_cast<std::chrono::milliseconds>(now - last_received_)
                             .count()) +
                     " ms)",
                 false, false);
      last_received_ = now;
      start_handshake();
    }
  } else if (now >= handshake_deadline_) {
    bool failed;
    {
      std::lock_guard lock(mu_);
      failed = state_ == State::failed;
    }
    if (!failed) start_handshake();
  }
}

void Connection::flush_outbox() {
  // The pump's own vector, swapped with the outbox: both keep their capacity, so a steady stream of
  // calls allocates nothing here (a deque made per flush cost two allocations per call).
  auto& batch = flushing_;
  batch.clear();
  std::size_t limit;
  // Nothing queued (the pump's usual case: it flushes before and after every wait): no lock.
  // A request queued just after this look is sent by the round its wake-up causes.
  if (!queued_.load(std::memory_order_acquire)) return;
  {
    std::lock_guard lock(mu_);
    flush_by_.reset();
    queued_.store(false, std::memory_order_relaxed);
    if (outbox_.empty()) return;
    batch.swap(outbox_);
    limit = max_message_size_;
    // Counted as sent now, under the lock taken anyway; those that turn out not to be sent are
    // uncounted in send_frame below.
    for (const auto& [id, req] : batch)
      if (id != 0) calls_[id].sent = true;
  }
  // Every request starts with room for a frame header: the first of a frame lends its room (in the
  // common case, one request, the request is the frame: no copy); the others add their bodies.
  constexpr std::size_t room = protocol::kHeaderSize;
  std::string frame;
  std::size_t next = 0;  // the first request of `batch` not yet in a frame
  auto send_frame = [&] {
    if (send_sealed(std::move(frame))) return true;
    // Not sent: the requests not yet framed go back, to leave on the next session.
    std::lock_guard lock(mu_);
    for (std::size_t i = next; i < batch.size(); ++i) {
      std::uint64_t id = batch[i].first;
      InFlight* e = id != 0 ? calls_.find(id) : nullptr;
      if (e == nullptr) continue;  // every call failed meanwhile (close)
      e->sent = false;
      if (!e->has_call) calls_.erase(id);
    }
    outbox_.insert(outbox_.begin(), std::make_move_iterator(batch.begin() + next),
                   std::make_move_iterator(batch.end()));
    queued_.store(!outbox_.empty(), std::memory_order_release);
    return false;
  };
  for (; next < batch.size(); ++next) {
    auto& [id, req] = batch[next];
    std::size_t body = req.size() - room;
    if (!frame.empty() && frame.size() - room + body > limit) {
      if (!send_frame()) return connection_lost();
      frame = std::string();
    }
    if (frame.empty()) {
      frame = std::move(req);
      if (next + 1 < batch.size()) {
        // Room for the bodies that follow (up to the limit), the ack and the tag: one growth of
        // the first request, not one doubling after another.
        std::size_t total = frame.size();
        for (std::size_t i = next + 1; i < batch.size(); ++i) {
          std::size_t more = batch[i].second.size() - room;
          if (total - room + more > limit) break;
          total += more;
        }
        frame.reserve(total + protocol::kAckSize + protocol::kTagSize);
      }
    } else {
      frame.append(req, room, body);
      RequestBuffers::give(std::move(req));  // its bytes are in the frame: its memory is reused
    }
  }
  if (!frame.empty() && !send_frame()) connection_lost();
}

void Connection::connection_lost() {
  // With `immediate`, ZeroMQ refuses a frame while the connection is down rather than queue it.
  // The session is bound to the connection that is gone, so nothing sent on it will be answered:
  // fail those calls now (not at the next heartbeat) and handshake again as soon as the connection
  // is back; requests not yet sent wait in the outbox for the new session.
  sessions_ended_.fetch_add(1, std::memory_order_release);
  fail_calls(
      "ConnectionError",
      "the connection to syncmgrd at " + endpoint_ + " dropped; the call may or may not have run",
      false, true);
  start_handshake();
}

bool wait_call(PendingCall& call, std::optional<Clock::time_point> until) {
  return call.conn->wait(call, until);
}

ReplyRef take_reply(PendingCall& call) {
  return call.conn->take(call);
}

std::string_view call_op(const PendingCall& call) {
  return call.op;
}

std::string_view call_target(const PendingCall& call) {
  return call.target;
}

}  // namespace syncmgr::detail
