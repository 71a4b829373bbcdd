// The client connection: the pump (sending, coalescing, heartbeats, liveness), the handshake,
// reconnection, and the hand-over of the socket between threads.
#include "client/connection.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "protocol/curve.hpp"
#include "protocol/handshake.hpp"
#include "protocol/message.hpp"
#include "protocol/zmq_frame.hpp"
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

// libzmq fails a call with EINTR when a signal arrives while it runs its pending commands, even a
// non-blocking one, and before it has taken or given any message; cppzmq throws that. A program
// with a SIGALRM or SIGCHLD handler (or a profiler) gets such signals at any time, so every call on
// the socket is made again rather than letting the error escape the pump (which left the pump
// taken and every later call waiting, or aborted the background thread).
template <typename F>
auto retry_eintr(F&& f) {
  for (;;) {
    try {
      return f();
    } catch (const zmq::error_t& e) {
      if (e.num() != EINTR) throw;
    }
  }
}

// One ZeroMQ context per process, shared by its connections. A context is an I/O thread, a reaper
// thread and several descriptors: a process that opened dozens of Managers, each with a context of
// its own, ran out of files inside libzmq, which aborts there. A fork()ed child makes its own: the
// parent's threads do not exist in it, so the parent's context must never be used or destroyed
// there (the child's inherited connections keep it, leaked on purpose; see Client).
std::shared_ptr<zmq::context_t> process_context() {
  static std::mutex mu;
  static std::weak_ptr<zmq::context_t> shared;
  static pid_t owner = 0;
  std::lock_guard lock(mu);
  auto ctx = shared.lock();
  if (!ctx || owner != ::getpid()) {
    ctx = std::make_shared<zmq::context_t>(1);
    shared = ctx;
    owner = ::getpid();
  }
  return ctx;
}

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
      context_(process_context()),
      dealer_(*context_, zmq::socket_type::dealer),
      authkey_mac_(authkey_),
      want_frame_macs_(frame_macs),
      tcp_(protocol::is_tcp_endpoint(endpoint_)) {
  if (tcp_) {
    // tcp is encrypted with CURVE, both keypairs derived from the shared key (protocol/curve.hpp).
    auto keys = protocol::derive_curve_keys(authkey_);
    dealer_.set(zmq::sockopt::curve_serverkey, keys.server_public);
    dealer_.set(zmq::sockopt::curve_publickey, keys.client_public);
    dealer_.set(zmq::sockopt::curve_secretkey, keys.client_secret);
  }
  // Watched until the handshake settles, so that a failure says why (see HandshakeWatch).
  HandshakeWatch watch(*context_, dealer_);
  // immediate: queue nothing for a peer that is not connected, so no stale handshake frame is
  // delivered to a daemon that comes up later.
  dealer_.set(zmq::sockopt::immediate, 1);
  dealer_.set(zmq::sockopt::linger, 200);
  dealer_.set(zmq::sockopt::reconnect_ivl, 100);
  dealer_.set(zmq::sockopt::reconnect_ivl_max, 2000);
  // Unbounded on our side: replies to async calls nobody waits for yet pile up here rather than
  // at the daemon, whose ROUTER would drop them once our pipe is full.
  dealer_.set(zmq::sockopt::rcvhwm, 0);
  try {
    dealer_.connect(endpoint_);
  } catch (const zmq::error_t& e) {
    throw ConnectionError("cannot connect to " + endpoint_ + ": " + e.what());
  }
  // The last resource taken before the threads start: members release the rest if this throws.
  wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd_ < 0) throw ConnectionError(std::string("eventfd: ") + std::strerror(errno));
  last_received_ = Clock::now();
  start_handshake();  // this thread is the pump until the background thread exists
  background_ = std::thread([this] { background(); });
  std::unique_lock lock(mu_);
  auto give_up = Clock::now() + connect_timeout;
  while (state_ == State::connecting && Clock::now() < give_up && !watch.refused()) {
    state_cv_.wait_until(lock, std::min(give_up, Clock::now() + std::chrono::milliseconds(50)));
    watch.read();
  }
  if (state_ == State::established) return;
  bool settled = state_ != State::connecting;
  std::string kind = settled ? fatal_kind_ : std::string("ConnectionError");
  std::string message = settled ? fatal_message_ : watch.explain(endpoint_, connect_timeout);
  if (!settled && watch.refused()) kind = "AuthenticationError";
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
    for (auto& [id, weak] : calls_) {
      auto call = weak.lock();
      if (call && call->waiting && !call->done) {
        call->cv.notify_one();  // it takes the pump over
        return;
      }
    }
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
  auto call = std::make_shared<PendingCall>();
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
  calls_.emplace(id, call);
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
          pump_once(until);
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
      calls_.erase(call.id);  // a late reply finds no caller and is dropped
      throw ConnectionError(what() + ": no reply from syncmgrd at " + endpoint_ +
                            " before the call's deadline");
    }
  }
  if (!call.error_kind.empty()) throw_error(call.error_kind, what() + ": " + call.error_message);
  const msgpack::object& r = call.reply.get();
  if (r.via.array.ptr[1].as<int>() != 0) {
    // [id, 1, kind, message]
    std::string kind = r.via.array.ptr[2].as<std::string>();
    if (kind == err::cancelled)
      throw ConnectionError(what() + ": no reply before the call's deadline; cancelled");
    throw_error(kind, r.via.array.ptr[3].as<std::string>());
  }
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
    for (const auto& [id, unused] : unanswered_) {
      auto it = calls_.find(id);
      if (it == calls_.end()) continue;
      fail(it->second);
      calls_.erase(it);
    }
  } else {
    for (auto& [id, call] : calls_)
      fail(call);
    calls_.clear();
    outbox_.clear();
  }
  unanswered_.clear();
}

bool Connection::send_raw(std::string frame) {
  // dontwait: with `immediate`, a send while disconnected fails instead of queueing; the handshake
  // timer retries, and unanswered calls are resent on the next session. A failed send counts as
  // sent for the heartbeat timer, which would otherwise spin.
  last_sent_ = Clock::now();
  if (!tcp_ || frame.size() <= protocol::kWirePartSize) {
    zmq::message_t msg = protocol::frame_message(std::move(frame));
    return retry_eintr([&] { return dealer_.send(msg, zmq::send_flags::dontwait); }).has_value();
  }
  // In parts, which share the frame rather than copy it: ZeroMQ frees it with the last part.
  auto shared = std::make_shared<std::string>(std::move(frame));
  for (std::size_t off = 0; off < shared->size(); off += protocol::kWirePartSize) {
    std::size_t len = std::min(protocol::kWirePartSize, shared->size() - off);
    auto hold = std::make_unique<std::shared_ptr<std::string>>(shared);
    zmq::message_t part(
        shared->data() + off, len,
        [](void*, void* h) { delete static_cast<std::shared_ptr<std::string>*>(h); }, hold.get());
    (void)hold.release();
    bool last = off + len == shared->size();
    auto flags =
        last ? zmq::send_flags::dontwait : zmq::send_flags::dontwait | zmq::send_flags::sndmore;
    // ZeroMQ takes a message's parts all or none: only the first can fail (not connected).
    if (!retry_eintr([&] { return dealer_.send(part, flags); })) return false;
  }
  return true;
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
    if (!calls_.empty()) until = std::min(until, now + 2 * kDeferLimit);
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
  dealer_.close();
}

void Connection::await_bye() {
  // The context is the process's and outlives this socket, so closing the socket does not wait for
  // the goodbye to leave (linger applies when a context ends), and a process that exits next would
  // lose it. The daemon answers frames in order: any reply from now on means it has the goodbye.
  auto until = Clock::now() + std::chrono::milliseconds(500);
  try {
    while (Clock::now() < until) {
      if (retry_eintr([&] { return dealer_.get(zmq::sockopt::events); }) & ZMQ_POLLIN) {
        zmq::message_t msg;
        while (retry_eintr([&] { return dealer_.recv(msg, zmq::recv_flags::dontwait); })) {
          auto h = protocol::read_header(std::string_view(msg.data<char>(), msg.size()));
          if (h && h->type == FrameType::reply && h->session == session_) return;
        }
        continue;
      }
      auto left = std::chrono::ceil<std::chrono::milliseconds>(until - Clock::now()).count();
      pollfd fd{dealer_.get(zmq::sockopt::fd), POLLIN, 0};
      (void)::poll(&fd, 1, static_cast<int>(std::max<long long>(left, 1)));
    }
  } catch (const zmq::error_t&) {
    // The socket is going away regardless.
  }
}

void Connection::pump_once(std::optional<Clock::time_point> limit) {
  if (linked()) flush_outbox();
  auto now = Clock::now();
  auto heartbeat_every = session_timeout_ / 3;
  Clock::time_point end = linked() ? last_sent_ + heartbeat_every : handshake_deadline_;
  if (limit && *limit < end) end = *limit;
  // Rounded up: a wait rounded down to 0 ms would spin until `end`.
  auto wait = std::chrono::ceil<std::chrono::milliseconds>(end - now);
  wait = std::clamp(wait, std::chrono::milliseconds(0), std::chrono::milliseconds(1000));
  // Wait for a frame or a wake-up. zmq_poll would make two poll(2) passes and check the socket's
  // events twice; instead: one events check (which also runs ZeroMQ's pending commands), and only
  // when no frame is ready, one poll(2) on the socket's notification fd and the eventfd. The fd is
  // edge-triggered, which is why the events check must come right before the poll.
  bool ready = (retry_eintr([&] { return dealer_.get(zmq::sockopt::events); }) & ZMQ_POLLIN) != 0;
  if (!ready) {
    pollfd fds[] = {{dealer_.get(zmq::sockopt::fd), POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    if (::poll(fds, 2, static_cast<int>(wait.count())) > 0 && (fds[1].revents & POLLIN)) {
      std::uint64_t n;
      (void)::read(wake_fd_, &n, sizeof n);
    }
  }
  for (;;) {
    zmq::message_t msg;
    if (!retry_eintr([&] { return dealer_.recv(msg, zmq::recv_flags::dontwait); })) break;
    if (msg.more()) continue;  // we never expect multipart; skip extra parts
    on_frame(msg);
  }
  now = Clock::now();
  if (linked()) {
    flush_outbox();
    if (now - last_sent_ >= heartbeat_every) {
      // Heartbeat: renews the lease, and its reply tells us the daemon is alive.
      if (!send_sealed(server_request("server.heartbeat"))) connection_lost();
    }
    bool waiting;
    {
      std::lock_guard lock(mu_);
      waiting = !calls_.empty();
    }
    if (waiting && now - last_received_ > session_timeout_ + heartbeat_every) {
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
  std::deque<std::pair<std::uint64_t, std::string>> batch;
  std::size_t limit;
  {
    std::lock_guard lock(mu_);
    flush_by_.reset();
    if (outbox_.empty()) return;
    batch.swap(outbox_);
    limit = max_message_size_;
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
    for (std::size_t i = batch.size(); i-- > next;)
      outbox_.push_front(std::move(batch[i]));
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
    } else {
      frame.append(req, room, body);
    }
    if (id != 0) unanswered_.emplace(id, true);
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

void Connection::on_frame(zmq::message_t& msg) {
  std::string_view frame(msg.data<char>(), msg.size());
  auto h = protocol::read_header(frame);
  if (!h || h->version != protocol::kProtocolVersion ||
      h->direction != protocol::Direction::to_client)
    return;  // not from a daemon we can talk to; the handshake timer or deadlines handle the rest
  last_received_ = Clock::now();
  switch (h->type) {
    case FrameType::challenge:
      return on_challenge(*h, frame);
    case FrameType::welcome:
      return on_welcome(*h, frame);
    case FrameType::refused:
      return on_refused(*h, frame);
    case FrameType::reply:
      return on_reply(frame, msg);
    default:
      return;
  }
}

void Connection::on_reply(std::string_view frame, zmq::message_t& msg) {
  auto h = protocol::read_header(frame);
  if (!session_mac_ || awaiting_welcome_ || h->session != session_) return;
  if ((frame_macs_ && !protocol::verify_frame(*session_mac_, frame)) || h->seq <= in_seq_)
    return;  // forged or replayed
  in_seq_ = h->seq;
  // The frame's replies share one zone. A large frame's zone also owns the message, and their
  // strings and bins are referenced in it rather than copied (a 1 MiB value is copied once less).
  // A small frame is copied into the zone: its message shares ZeroMQ's 8 KiB receive buffer, which
  // it would keep alive for as long as any of its replies is unread.
  std::string_view payload = protocol::session_payload(frame, frame_macs_);
  auto zone = std::make_shared<msgpack::zone>(protocol::zone_chunk_for(payload.size()));
  bool reference = payload.size() >= protocol::kZeroCopyMin;
  if (reference) {
    // Moved to the heap, where the zone frees it. A message this large keeps its data in a block
    // of its own (only messages of up to 33 bytes live inside the message object), so `frame`
    // stays valid across the move.
    auto owned = std::make_unique<zmq::message_t>(std::move(msg));
    zone->push_finalizer([](void* m) { delete static_cast<zmq::message_t*>(m); }, owned.get());
    (void)owned.release();
  }
  protocol::PayloadReader reader(payload, reference);
  try {
    while (auto o = reader.next(*zone)) {
      const msgpack::object& r = *o;
      if (r.type != msgpack::type::ARRAY || r.via.array.size < 3 ||
          r.via.array.ptr[0].type != msgpack::type::POSITIVE_INTEGER)
        continue;
      std::uint64_t id = r.via.array.ptr[0].via.u64;
      unanswered_.erase(id);
      std::lock_guard lock(mu_);
      auto it = calls_.find(id);
      if (it == calls_.end()) continue;  // a heartbeat, a post, or a caller that gave up
      auto call = it->second.lock();
      calls_.erase(it);
      if (!call) continue;  // its future was dropped
      call->reply = ReplyRef{r, zone};
      call->done = true;
      if (call->waiting) call->cv.notify_one();
    }
  } catch (const std::exception&) {
    // A malformed reply from an authenticated daemon: its calls run into their deadlines.
  }
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
