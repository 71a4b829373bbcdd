// The receive side of the connection: frames from the daemon, sorted by type, and the replies of
// a reply frame read (ReplyReader) and handed to their calls. Runs on the pump.
#include "client/connection.hpp"
#include "protocol/message.hpp"
#include "protocol/zmq_frame.hpp"

namespace syncmgr::detail {

using protocol::FrameType;
using protocol::Header;

void Connection::on_frame(InFrame& msg) {
  std::string_view frame = msg.bytes();
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
      return on_reply(*h, frame, msg);
    default:
      return;
  }
}

void Connection::on_reply(const Header& h, std::string_view frame, InFrame& msg) {
  if (!session_mac_ || awaiting_welcome_ || h.session != session_) return;
  if ((frame_macs_ && !protocol::verify_frame(*session_mac_, frame)) || h.seq <= in_seq_)
    return;  // forged or replayed
  in_seq_ = h.seq;
  // The frame's results that need memory (a str, bin, array or map; a scalar needs none) share
  // one zone, made when the first needs it. A large frame's zone owns the message, and its
  // strings and bins are referenced in it rather than copied (a 1 MiB value is copied once
  // less). A small frame's are copied into the zone: its message shares ZeroMQ's 8 KiB receive
  // buffer (or lies in the unix transport's), which it would keep alive for as long as any reply
  // is unread.
  std::string_view payload = protocol::session_payload(frame, frame_macs_);
  std::shared_ptr<msgpack::zone> zone;
  bool reference = payload.size() >= protocol::kZeroCopyMin;
  if (reference) {
    zone = std::make_shared<msgpack::zone>(protocol::zone_chunk_for(payload.size()));
    msg.give_to(*zone);  // the bytes stay where they are
    payload = protocol::session_payload(msg.bytes(), frame_macs_);
  }
  // Read every reply first, then hand them over under one lock (not one per reply).
  ReplyReader reader(payload, std::move(zone), reference);
  auto& replies = replies_;
  replies.clear();
  try {
    Reply r;
    while (reader.next(r))
      replies.push_back(r);
  } catch (const std::exception&) {
    // A malformed reply from an authenticated daemon: the calls after it run into their
    // deadlines; those before it are answered.
  }
  std::lock_guard lock(mu_);
  for (const Reply& r : replies) {
    InFlight* e = calls_.find(r.id);
    if (e == nullptr) continue;  // a heartbeat, a post, or a caller that gave up
    std::shared_ptr<PendingCall> call;
    if (e->has_call) {
      call = e->call.lock();
      --callers_;
    }
    calls_.erase(r.id);
    if (!call) continue;  // its future was dropped
    if (r.ok) {
      auto t = r.result.type;  // nil, bool, ints and floats point to no memory
      bool scalar = t != msgpack::type::STR && t != msgpack::type::BIN &&
                    t != msgpack::type::ARRAY && t != msgpack::type::MAP && t != msgpack::type::EXT;
      call->reply = ReplyRef{r.result, scalar ? nullptr : reader.zone()};
    } else {
      call->error_kind = r.kind;
      call->error_message = r.message;
      call->daemon_error = true;
    }
    call->done = true;
    if (call->waiting) call->cv.notify_one();
  }
}

}  // namespace syncmgr::detail
