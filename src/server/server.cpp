// Frame verification and request dispatch (the loop and the transports' intake are in loop.cpp).
//
// Order of checks for a frame: header well-formed, protocol version, direction, size; then by type:
// handshake frames go to the session table; request frames must name a live session, carry a valid
// MAC and a sequence number above the last one seen. Only then is the payload unpacked, and each
// request in it checked in the command table's fixed order before its handler runs.
#include "server/server.hpp"

#include <sys/epoll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "protocol/message.hpp"
#include "protocol/unix_stream.hpp"
#include "protocol/zmq_frame.hpp"
#include "server/log.hpp"
#include "server/types/queue.hpp"
#include "syncmgr/errors.hpp"

namespace syncmgr::server {

namespace err = protocol::err;
using protocol::FrameType;
using protocol::Header;

namespace {

std::string peer_address(zmq::message_t& msg) {
  const char* addr = zmq_msg_gets(msg.handle(), "Peer-Address");
  return (addr != nullptr && *addr != '\0') ? addr : "local";
}

void pack_ok(msgpack::sbuffer& out, std::uint64_t id, const Value& v) {
  msgpack::packer<msgpack::sbuffer> pk(out);
  pk.pack_array(3);
  pk.pack(id);
  pk.pack(static_cast<std::uint8_t>(protocol::ReplyStatus::ok));
  pk.pack(v);
}

std::string arity_message(const Command& c, std::size_t given) {
  std::string want = c.min_args == c.max_args
                         ? std::to_string(c.min_args)
                         : std::to_string(c.min_args) + " to " + std::to_string(c.max_args);
  return c.name + " takes " + want + " argument" + (c.max_args == 1 ? "" : "s") + " (" +
         std::to_string(given) + " given)";
}

// libzmq numbers the connections of peers that name no routing id from a counter it starts at
// rand(). Unseeded, that is 0x6b8b4567 in every daemon, and a peer that claimed the next ids could
// make libzmq abort when an ordinary peer connected (src/socket_base.cpp:2130, libzmq 4.3.4).
// The gate keeps peers without the key from claiming anything; a random start is a second wall.
int seed_routing_ids() {
  unsigned seed = 0;
  protocol::random_bytes(&seed, sizeof seed);
  std::srand(seed);
  return 1;
}

}  // namespace

Server::Server(ServerOptions options)
    : options_(std::move(options)),
      registry_((register_all_commands(commands_), commands_)),
      sessions_(options_.authkey, options_.session_timeout, options_.max_message_size,
                !options_.require_frame_macs),
      curve_(protocol::derive_curve_keys(options_.authkey)),
      context_(seed_routing_ids()),
      router_(context_, zmq::socket_type::router),
      epoll_fd_(::epoll_create1(EPOLL_CLOEXEC)) {
  if (epoll_fd_ < 0) throw std::runtime_error(std::string("epoll: ") + std::strerror(errno));
  gate_ = std::make_unique<Gate>(context_, router_, protocol::z85_decode_key(curve_.client_public));
  // Freeing or removing an object ends the calls parked on it (blocking.hpp).
  registry_.on_gone([this](const Object& obj, bool removed) {
    blocking_.object_gone(obj, removed ? Outcome::object_removed : Outcome::object_freed);
  });
  router_.set(zmq::sockopt::linger, 1000);
  router_.set(zmq::sockopt::sndhwm, 100000);
  // Per connection: past 1,000 queued frames ZeroMQ stops reading that peer's socket (its sender
  // waits) instead of buffering without end; a frame carries many requests, so honest clients
  // never come near it, and a local peer flooding garbage cannot grow the daemon.
  router_.set(zmq::sockopt::rcvhwm, 1000);
  // Every connection passes the gate (ZAP), which also names it (gate.hpp).
  router_.set(zmq::sockopt::zap_domain, "syncmgr");
  // A peer has this long to finish ZeroMQ's handshake (on tcp: prove the key through CURVE), or it
  // is dropped: idle or stalled connections of peers without the key do not pile up.
  router_.set(zmq::sockopt::handshake_ivl, 5000);
  // Frames far beyond the limit are dropped by ZeroMQ before they are allocated; frames between the
  // limit and this hard cap reach us and get a ProtocolError reply.
  std::int64_t hard_cap = static_cast<std::int64_t>(options_.max_message_size) * 2 + 65536;
  for (const auto& ep : options_.binds) {
    if (protocol::unix_path(ep)) {
      // Served by this thread's own epoll (unix_links.hpp), not by ZeroMQ.
      if (!unix_)
        unix_ = std::make_unique<UnixLinks>(epoll_fd_, static_cast<UnixLinks::Sink&>(*this),
                                            frame_limit(), options_.socket_mode);
      endpoints_.push_back(unix_->bind(ep));
      continue;
    }
    // Options are taken by each endpoint when it is bound, so tcp and ipc endpoints differ:
    bool tcp = protocol::is_tcp_endpoint(ep);
    router_.set(zmq::sockopt::curve_server, tcp);  // tcp: CURVE; ipc: NULL, checked by uid
    if (tcp) router_.set(zmq::sockopt::curve_secretkey, curve_.server_secret);
    // tcp frames come in parts of kWirePartSize (curve.hpp): no peer can make ZeroMQ buffer more
    // before its handshake is done. ipc peers are the daemon's own user's processes.
    router_.set(
        zmq::sockopt::maxmsgsize,
        tcp ? static_cast<std::int64_t>(protocol::kWirePartSize + protocol::kWirePartOverhead)
            : hard_cap);
    // An ipc socket file is created 0600 (or --socket-mode): no other user can connect to it.
    mode_t old_mask = ::umask(static_cast<mode_t>(~options_.socket_mode & 0777));
    try {
      router_.bind(ep);
    } catch (const zmq::error_t& e) {
      ::umask(old_mask);
      throw std::runtime_error("cannot bind " + ep + ": " + e.what());
    }
    ::umask(old_mask);
    endpoints_.push_back(router_.get(zmq::sockopt::last_endpoint));
  }
}

Server::~Server() {
  unix_.reset();  // its sockets leave the epoll set before it closes
  ::close(epoll_fd_);
}

void Server::end_session(std::uint64_t id, const char* why) {
  Session* session = sessions_.find(id);
  if (session == nullptr) return;
  SYNCMGR_LOG(info, "session %016llx %s", static_cast<unsigned long long>(id), why);
  // Its parked calls end without a reply: there is no one left to answer.
  blocking_.end_session(id);
  // What it held is released, and whoever waits for that is signalled (a Condition re-acquiring
  // a Lock parks on the Lock's key, so it is among them).
  for (const auto& name : session->holdings) {
    Object* obj = registry_.find(name);
    if (obj == nullptr) continue;
    for (const auto& line : obj->release_session(id))
      SYNCMGR_LOG(info, "session %016llx: %s", static_cast<unsigned long long>(id), line.c_str());
    blocking_.signal_object(*obj);
  }
  // Items it was handed but never acknowledged (or never marked done) go back to their queues'
  // heads, for the next live getter.
  for (Object* obj : return_deliveries(registry_, *session))
    blocking_.signal_object(*obj);
  sessions_.close(id);
  registry_.release_session(id);  // frees its temporaries, ending the calls parked on them
  blocking_.process();
}

void Server::end_closed(const std::vector<Gate::Closed>& closed) {
  for (const auto& c : closed)
    for (auto id : sessions_.of_closed(c.fd, c.last))
      end_session(id, "ended: its connection closed (the process exited or the link dropped)");
}

void Server::refuse(const std::string& routing_id, std::string_view conn, std::uint64_t session,
                    std::string_view kind, std::string_view message) {
  // A connection that keeps sending what must be refused gets a bounded number of answers a
  // minute, or until it completes a handshake; past that its frames are dropped unanswered (a peer
  // that never reads them would otherwise make the daemon queue refusals without end).
  constexpr std::uint32_t kRefusalsPerMinute = 100;
  auto now = Clock::now();
  if (now - refusals_window_ > std::chrono::minutes(1)) {
    refusals_.clear();
    refusals_window_ = now;
  }
  if (++refusals_[std::string(conn)] > kRefusalsPerMinute) return;
  send_frame(routing_id, conn, refused_frame(session, kind, message));
}

void Server::on_message(const std::string& routing_id, std::string_view conn, const Origin& from,
                        std::string_view frame) {
  auto header = protocol::read_header(frame);
  if (!header) {
    ++rejected_frames_;
    return refuse(routing_id, conn, 0, err::protocol, "malformed frame: bad or short header");
  }
  if (header->version != protocol::kProtocolVersion) {
    ++rejected_frames_;
    return refuse(routing_id, conn, 0, err::protocol,
                  "protocol version " + std::to_string(header->version) +
                      " is not supported; this daemon speaks version " +
                      std::to_string(protocol::kProtocolVersion));
  }
  if (header->direction != protocol::Direction::to_daemon) {
    ++rejected_frames_;
    return refuse(routing_id, conn, 0, err::protocol, "frame has the wrong direction");
  }
  if (frame.size() > frame_limit()) {
    ++rejected_frames_;
    return refuse(routing_id, conn, header->session, err::protocol,
                  "message of " + std::to_string(frame.size()) + " bytes exceeds the limit of " +
                      std::to_string(options_.max_message_size));
  }
  switch (header->type) {
    case FrameType::hello: {
      auto ans = sessions_.on_hello(*header, frame, conn);
      send_frame(routing_id, conn, std::move(ans.frame));
      return;
    }
    case FrameType::auth: {
      auto ans = sessions_.on_auth(*header, frame, routing_id, conn,
                                   from.meta != nullptr ? peer_address(*from.meta) : *from.peer);
      // A connection that completes a handshake reads what it is sent (it answered a challenge):
      // its refusal budget starts again, so a client that re-handshakes after each SessionError
      // always hears the next one.
      if (ans.established != nullptr) {
        refusals_.erase(std::string(conn));
        if (unix_) unix_->authenticated(conn);
        // ZeroMQ connections are told closed by descriptor (gate.hpp); unix:// ones directly.
        if (from.meta != nullptr)
          sessions_.set_descriptor(*ans.established, Gate::descriptor_of(*from.meta));
      }
      send_frame(routing_id, conn, std::move(ans.frame));
      return;
    }
    case FrameType::request:
      break;
    default:
      ++rejected_frames_;
      return refuse(routing_id, conn, header->session, err::protocol, "unexpected frame type");
  }

  Session* session = sessions_.find(header->session);
  if (session == nullptr) {
    ++rejected_frames_;
    return refuse(routing_id, conn, header->session, err::session,
                  "unknown or expired session; handshake again");
  }
  // A session speaks only through the connection that authenticated it. The gate's connection id
  // cannot be chosen by a peer (a routing id can: a process reusing a dead client's routing id and
  // session id would otherwise speak for it where frames carry no MACs).
  if (conn != session->conn) {
    ++rejected_frames_;
    return refuse(routing_id, conn, header->session, err::session,
                  "this session belongs to another connection; handshake again");
  }
  if (session->frame_macs && !protocol::verify_frame(session->key, frame)) {
    // Only the session's own connection gets here: a frame damaged on its way, or a bug; not a
    // guess at the key, so it does not count toward any lockout.
    ++rejected_frames_;
    if (mac_log_.allow())
      SYNCMGR_LOG(warn, "session %016llx: frame failed MAC verification; discarded",
                  static_cast<unsigned long long>(session->id));
    return refuse(routing_id, conn, header->session, err::auth,
                  "frame failed authentication (bad MAC); discarded");
  }
  if (header->seq <= session->last_in_seq) {
    ++rejected_frames_;
    if (replay_log_.allow())
      SYNCMGR_LOG(warn,
                  "session %016llx: replayed or reordered frame (seq %llu, last %llu) discarded",
                  static_cast<unsigned long long>(session->id),
                  static_cast<unsigned long long>(header->seq),
                  static_cast<unsigned long long>(session->last_in_seq));
    return refuse(routing_id, conn, header->session, err::auth,
                  "replayed or reordered frame (sequence number " + std::to_string(header->seq) +
                      " already used); discarded");
  }
  session->last_in_seq = header->seq;
  session->last_seen = Clock::now();
  ++request_frames_;
  if ((header->flags & protocol::kFlagAck) != 0) session->acknowledged(header->ack);
  on_request(*session,
             protocol::session_payload(frame, session->frame_macs, protocol::header_size(*header)));
}

void Server::on_request(Session& session, std::string_view payload) {
  protocol::FrameBuilder frame;  // the replies are packed straight into the reply frame
  msgpack::sbuffer& out = frame.buffer();
  // Every request gets exactly one reply under its own id (PROTOCOL.md, "Requests and replies").
  if (payload.empty())
    protocol::pack_error_reply(
        out, 0, err::protocol,
        "empty request payload: a request frame carries one or more requests");
  protocol::Cursor cursor(payload);
  while (!cursor.at_end()) {
    // A well-formed request is read straight from the frame, its arguments into args_.
    protocol::RequestView req;
    if (protocol::read_request(cursor, req, args_)) {
      execute(session, req.id, req.op, req.target, nullptr, out);
      continue;
    }
    if (!dispatch_general(session, cursor, out)) break;
  }
  if (!frame.empty()) send_reply_frame(session, frame);
  for (auto id : closing_)
    end_session(id, "closed by client");
  closing_.clear();
}

bool Server::dispatch_general(Session& session, protocol::Cursor& cursor, msgpack::sbuffer& out) {
  // Anything read_request did not take goes through msgpack-c, which finds and words what is
  // wrong with it. Strings are referenced in the frame, not copied: execute copies what it keeps.
  protocol::PayloadReader reader(std::string_view(cursor.position(), cursor.remaining()), true);
  // In the server's own zone: emptied after each request but its first chunk kept.
  struct Empty {
    msgpack::zone& z;
    ~Empty() { z.clear(); }
  } empty_after{request_zone_};
  std::optional<msgpack::object> o;
  try {
    o = reader.next(request_zone_);
  } catch (const std::exception& e) {
    // Beyond the limits (nested too deep, ...) or not msgpack. When the parser can still tell
    // where this request ends, it is answered under its id and the rest runs; otherwise nothing
    // after it can be read, and the reply is the last one.
    auto skipped = reader.skip_failed();
    ++ops_total_;
    protocol::pack_error_reply(out, skipped.id, err::protocol,
                               std::string(skipped.skipped ? "request cannot be unpacked: "
                                                           : "malformed msgpack in request "
                                                             "payload (the rest is ignored): ") +
                                   e.what());
    cursor.skip(reader.offset());
    return skipped.skipped;
  }
  cursor.skip(reader.offset());
  if (!o) return false;
  const msgpack::object& req = *o;
  auto fail = [&](std::uint64_t id, std::string_view kind, const std::string& msg) {
    ++ops_total_;
    protocol::pack_error_reply(out, id, kind, msg);
    return true;
  };
  // A readable id is the reply's id, whatever else is wrong with the request.
  const msgpack::object* f = req.type == msgpack::type::ARRAY ? req.via.array.ptr : nullptr;
  std::uint64_t id =
      f != nullptr && req.via.array.size > 0 && f[0].type == msgpack::type::POSITIVE_INTEGER
          ? f[0].via.u64
          : 0;
  if (f == nullptr)
    return fail(0, err::protocol, "a request must be an array [id, op, target, args]");
  if (id == 0) return fail(0, err::protocol, "request id must be an integer > 0");
  if (req.via.array.size != 4)
    return fail(id, err::protocol, "a request must be an array [id, op, target, args]");
  if (f[1].type != msgpack::type::STR) return fail(id, err::protocol, "op must be a str");
  if (f[2].type != msgpack::type::STR && f[2].type != msgpack::type::NIL)
    return fail(id, err::protocol, "target must be a str or nil");
  if (f[3].type != msgpack::type::ARRAY) return fail(id, err::protocol, "args must be an array");
  std::string_view target;
  if (f[2].type == msgpack::type::STR)
    target = std::string_view(f[2].via.str.ptr, f[2].via.str.size);
  execute(session, id, std::string_view(f[1].via.str.ptr, f[1].via.str.size), target, &f[3], out);
  return true;
}

void Server::execute(Session& session, std::uint64_t id, std::string_view op,
                     std::string_view target, const msgpack::object* raw_args,
                     msgpack::sbuffer& out) {
  ++ops_total_;
  auto fail = [&](std::uint64_t id, std::string_view kind, const std::string& msg) {
    protocol::pack_error_reply(out, id, kind, msg);
  };
  const Command* cmd = commands_.find(op);
  if (cmd == nullptr) return fail(id, err::attribute, "unknown method '" + std::string(op) + "'");
  std::size_t argc = raw_args != nullptr ? raw_args->via.array.size : args_.size();
  if (argc < static_cast<std::size_t>(cmd->min_args) ||
      argc > static_cast<std::size_t>(cmd->max_args))
    return fail(id, err::type, arity_message(*cmd, argc));

  Object* obj = nullptr;
  if (!cmd->type.empty()) {
    obj = registry_.find(target);
    if (obj == nullptr) return fail(id, err::name, "no object named '" + std::string(target) + "'");
    if (obj->type() != cmd->type)
      return fail(id, err::type,
                  "'" + std::string(target) + "' is a " + std::string(obj->type()) + ", not a " +
                      std::string(cmd->type));
    ++obj->ops;
  }

  // Reused from call to call (a parked call takes it with it): no allocation per request for the
  // argument list itself.
  std::vector<Value>& args = args_;
  if (raw_args != nullptr) {
    // Converted only now, so that a request's first error is the same whichever path read it.
    args.clear();
    args.resize(argc);
    for (std::size_t i = 0; i < argc; ++i) {
      try {
        raw_args->via.array.ptr[i].convert(args[i]);
      } catch (const syncmgr::ValueError& e) {
        return fail(id, err::value,
                    cmd->name + ": argument " + std::to_string(i + 1) + ": " +
                        std::string(e.what()).substr(e.kind().size() + 2));
      } catch (const std::exception&) {
        return fail(id, err::type,
                    cmd->name + ": argument " + std::to_string(i + 1) +
                        " is a msgpack ext value, which syncmgr does not store");
      }
    }
  }

  Ctx ctx{*this,
          registry_,
          session,
          id,
          target,
          obj,
          args,
          false,
          false,
          Value(),
          Clock::time_point::max()};
  Clock::time_point deadline = Clock::time_point::max();
  if (has(cmd->flags, CommandFlags::blocking)) {
    // The last two args of a blocking op: block (bool) and timeout (seconds, or nil for none).
    const Value& block = args[args.size() - 2];
    const Value& timeout = args[args.size() - 1];
    if (block.kind() != Value::Kind::boolean)
      return fail(id, err::type, cmd->name + ": block must be a bool");
    if (!timeout.is_nil()) {
      if (!timeout.is_number() || timeout.kind() == Value::Kind::boolean)
        return fail(id, err::type, cmd->name + ": timeout must be a number of seconds or nil");
      double secs = timeout.as_double();
      if (!(secs >= 0)) return fail(id, err::value, cmd->name + ": timeout must be non-negative");
      secs = std::min(secs, 1e9);  // about 30 years: far enough to be "none", near enough to add
      deadline = Clock::now() +
                 std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(secs));
    }
    // A zero timeout never waits: answer at once rather than at the next deadline check.
    ctx.may_wait = block.as_bool() && deadline > Clock::now();
    ctx.deadline = deadline;
  }
  Reply r = run_handler(*cmd, ctx);
  if (r.is_parked()) {
    if (!ctx.may_wait) {
      SYNCMGR_LOG(error, "%s parked a call that may not wait", cmd->name.c_str());
      return fail(id, err::internal, cmd->name + ": internal error: parked a non-waiting call");
    }
    Waiter w;
    w.session = session.id;
    w.request_id = id;
    w.command = cmd;
    w.object = obj;
    w.args = std::move(args);
    w.deadline = ctx.deadline;
    w.state = std::move(ctx.state);
    blocking_.park(std::move(w), r.keys());
  } else {
    pack_reply(out, id, r, *cmd, target);
    if (obj != nullptr && has(cmd->flags, CommandFlags::mutating)) blocking_.signal_object(*obj);
  }
  blocking_.process();
}

Reply Server::run_handler(const Command& cmd, Ctx& ctx) {
  try {
    return cmd.handler(ctx);
  } catch (const syncmgr::Error& e) {
    // Value accessors throw TypeError/ValueError for mismatched stored values.
    std::string msg = e.what();
    return Err{e.kind() == "TypeError"    ? err::type
               : e.kind() == "ValueError" ? err::value
                                          : err::internal,
               msg.substr(std::min(msg.size(), e.kind().size() + 2))};
  } catch (const std::exception& e) {
    SYNCMGR_LOG(error, "internal error in %s: %s", cmd.name.c_str(), e.what());
    return Err{err::internal, std::string("internal error: ") + e.what()};
  }
}

void Server::pack_reply(msgpack::sbuffer& out, std::uint64_t id, Reply& r, const Command& cmd,
                        std::string_view target) {
  if (!r.is_error()) return pack_ok(out, id, r.value());
  std::string msg = r.error().message;
  if (!target.empty()) msg = cmd.name + " on '" + std::string(target) + "': " + msg;
  protocol::pack_error_reply(out, id, r.error().kind, msg);
}

void Server::send_reply_frame(Session& session, protocol::FrameBuilder& frame) {
  Header h{protocol::kProtocolVersion, FrameType::reply, protocol::Direction::to_client, session.id,
           ++session.out_seq};
  session.sent(h.seq);  // the items this frame hands out are the client's once it acknowledges it
  frame.seal(session.key, session.frame_macs, h);
  send_frame(session.routing_id, session.conn, std::move(frame.buffer()));
}

Reply Server::retry(Waiter& w, bool timed_out) {
  Session* session = sessions_.find(w.session);
  if (session == nullptr) {
    // Cannot happen: a session's end ends its calls first (blocking.hpp). Never dereference it.
    SYNCMGR_LOG(error, "parked %s of an ended session retried", w.command->name.c_str());
    return Err{err::internal, "internal error: the call's session is gone"};
  }
  Ctx ctx{*this,  registry_, *session, w.request_id, w.object->name, w.object,
          w.args, false,     false,    Value(),      w.deadline};
  ctx.may_wait = !timed_out;
  ctx.timed_out = timed_out;
  ctx.state = std::move(w.state);
  Reply r = run_handler(*w.command, ctx);
  w.state = std::move(ctx.state);
  return r;
}

void Server::answer(const Waiter& w, Reply& r) {
  Session* session = sessions_.find(w.session);
  if (session == nullptr) return;
  protocol::FrameBuilder frame;
  pack_reply(frame.buffer(), w.request_id, r, *w.command, w.object->name);
  send_reply_frame(*session, frame);
}

void Server::unserved(const Waiter& w, Outcome how) {
  if (how == Outcome::session_ended)
    SYNCMGR_LOG(info, "session %016llx: cancelled its parked %s on '%s'",
                static_cast<unsigned long long>(w.session), w.command->name.c_str(),
                w.object->name.c_str());
  if (how != Outcome::timed_out) w.object->waiter_gone(w.session);
}

ServerStats Server::stats() const {
  return ServerStats{sessions_.size(),
                     registry_.size(),
                     ops_total_,
                     ops_per_second_,
                     std::chrono::duration<double>(Clock::now() - started_).count(),
                     sessions_.failures().total(),
                     sessions_.abandoned_handshakes(),
                     gate_->refused(),
                     rejected_frames_,
                     request_frames_,
                     blocking_.size()};
}

}  // namespace syncmgr::server
