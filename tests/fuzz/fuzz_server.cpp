// Fuzz target: a real daemon (syncmgr::server::Server, in this process) driven by a sequence of
// frames from several clients.
//
// One Server serves an ipc endpoint in a temporary directory from its own thread for the whole
// run, as syncmgrd does (ipc peers may drop frame MACs, so both kinds of session are reached).
// Each input is a script of steps; the harness does the cryptography so that the fuzzer gets past
// authentication and spends its time in dispatch and the object handlers:
//   - handshakes (with or without frame MACs) for up to three sessions, over two connections;
//   - request frames of one to four requests whose op comes from the daemon's command table, whose
//     target is one of a few names (or a temporary the daemon created), and whose args are values
//     the input describes; sealed with the right MAC and the next sequence number (or a replayed
//     one); blocking ops park, time out, are cancelled, woken by other sessions;
//   - request frames whose payload is the input's bytes (malformed msgpack and shapes);
//   - raw frames from a third connection (headers, versions, types, sizes);
//   - a connection dropped (a client dying: its sessions linger until the daemon expires them,
//     which with a 20 ms session timeout happens during the run), short sleeps (timeouts), bye.
// After each input every session of it says bye and every object is removed, so an input starts
// from an empty daemon (what remains: sessions of dropped connections until they expire).
//
// Checked besides the sanitizers: the daemon answers a handshake within 5 s (no hang); its reply
// frames verify under the session key with strictly increasing sequence numbers; each reply is
// [id, 0, result] or [id, 1, kind, message]; no request id is ever answered twice, and no id is
// answered that the session never sent (0 excepted: a payload the daemon could not read).
#include <fuzzer/FuzzedDataProvider.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <zmq.hpp>

#include "protocol/handshake.hpp"
#include "protocol/message.hpp"
#include "protocol/wire.hpp"
#include "server/commands.hpp"
#include "server/log.hpp"
#include "server/server.hpp"
#include "syncmgr/value.hpp"

namespace {

using namespace syncmgr::protocol;
using syncmgr::Bytes;
using syncmgr::List;
using syncmgr::Map;
using syncmgr::Value;

const std::string kKey(32, 'K');
constexpr auto kSessionTimeout = std::chrono::milliseconds(20);
constexpr auto kAnswerTimeout = std::chrono::seconds(5);
constexpr int kMaxSleepMsPerInput = 8;

// SYNCMGR_FUZZ_TRACE=1 prints each step and reply (to see what an input does; make_corpus.py).
const bool kTrace = std::getenv("SYNCMGR_FUZZ_TRACE") != nullptr;

void check(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "fuzz_server: property violated: %s\n", what);
  std::abort();
}

// Words the daemon gives meaning to: type names, creation params, handshake options.
const char* const kWords[] = {"namespace",
                              "dict",
                              "list",
                              "queue",
                              "joinablequeue",
                              "lock",
                              "rlock",
                              "semaphore",
                              "boundedsemaphore",
                              "condition",
                              "event",
                              "barrier",
                              "value",
                              "array",
                              "items",
                              "attributes",
                              "maxsize",
                              "parties",
                              "timeout",
                              "action",
                              "frame_macs",
                              "a",
                              "b",
                              "c"};
// Names objects are opened under; temporaries the daemon creates are added per input.
const char* const kNames[] = {"a", "b", "c", "d"};

Value gen_value(FuzzedDataProvider& in, int depth);

Value gen_number(FuzzedDataProvider& in) {
  switch (in.ConsumeIntegralInRange<int>(0, 5)) {
    case 0:
      return Value(in.ConsumeIntegralInRange<std::int64_t>(-2, 8));
    case 1:
      return Value(in.ConsumeIntegral<std::int64_t>());
    case 2:
      return Value(in.ConsumeIntegral<std::uint64_t>());
    case 3: {  // timeouts that expire during an input, or never
      const double t[] = {0.0, 0.001, 0.003, 0.02, -1.0, 1e300, 0.5};
      return Value(in.PickValueInArray(t));
    }
    case 4: {
      const double special[] = {std::numeric_limits<double>::quiet_NaN(),
                                std::numeric_limits<double>::infinity(),
                                -0.0,
                                1.5,
                                1e19,
                                9223372036854775808.0};
      return Value(in.PickValueInArray(special));
    }
    default:
      return Value(in.ConsumeFloatingPoint<double>());
  }
}

Value gen_value(FuzzedDataProvider& in, int depth) {
  switch (in.ConsumeIntegralInRange<int>(0, 10)) {
    case 0:
      return Value();
    case 1:
      return Value(in.ConsumeBool());
    case 2:
    case 3:
      return gen_number(in);
    case 4:
      return Value(in.ConsumeRandomLengthString(24));
    case 5:
      return Value(Bytes{in.ConsumeRandomLengthString(24)});
    case 6:
    case 7:
      return Value(std::string(in.PickValueInArray(kWords)));
    case 8: {
      List a;
      if (depth < 3) {
        int n = in.ConsumeIntegralInRange<int>(0, 4);
        for (int i = 0; i < n; ++i)
          a.push_back(gen_value(in, depth + 1));
      }
      return Value(std::move(a));
    }
    default: {
      Map m;
      if (depth < 3) {
        int n = in.ConsumeIntegralInRange<int>(0, 3);
        for (int i = 0; i < n; ++i) {
          Value k = in.ConsumeBool() ? Value(std::string(in.PickValueInArray(kWords)))
                                     : gen_value(in, depth + 1);
          m.emplace_back(std::move(k), gen_value(in, depth + 1));
        }
      }
      return Value(std::move(m));
    }
  }
}

std::string recv_frame(zmq::socket_t& s, zmq::recv_flags flags) {
  zmq::message_t msg;
  try {
    if (!s.recv(msg, flags)) return {};
  } catch (const zmq::error_t& e) {
    if (e.num() != EINTR) throw;  // a signal (libFuzzer's SIGALRM): nothing received
    return {};
  }
  return msg.to_string();
}

// Waits up to 100 ms for a frame on `sock`. libFuzzer's SIGALRM (its -timeout watchdog) can
// interrupt the wait: that is not an error.
void wait_readable(zmq::socket_t& sock) {
  zmq::pollitem_t item{sock.handle(), 0, ZMQ_POLLIN, 0};
  try {
    zmq::poll(&item, 1, std::chrono::milliseconds(100));
  } catch (const zmq::error_t& e) {
    if (e.num() != EINTR) throw;
  }
}

// One client session of the current input.
struct Slot {
  bool live = false;
  std::uint64_t id = 0;
  std::unique_ptr<Hmac> key;
  bool macs = true;
  int conn = 0;  // the connection it shook hands on
  std::uint64_t seq = 0;
  std::uint64_t last_reply_seq = 1;  // the welcome was seq 1
  std::uint64_t next_request = 0;
  std::set<std::uint64_t> answered;
  bool raw_ids = false;  // sent a payload of the input's bytes: its ids are the input's
};

class Harness {
 public:
  Harness() {
    syncmgr::server::set_log_level(syncmgr::server::LogLevel::error);
    char dir[] = "/tmp/syncmgr-fuzz-XXXXXX";
    check(::mkdtemp(dir) != nullptr, "mkdtemp");
    dir_ = dir;
    static std::string socket_dir = dir_;  // removed at exit (the daemon's thread still runs)
    std::atexit([] {
      ::unlink((socket_dir + "/s").c_str());
      ::rmdir(socket_dir.c_str());
    });
    syncmgr::server::ServerOptions options;
    options.binds = {"ipc://" + dir_ + "/s"};
    options.authkey = kKey;
    options.max_message_size = 1 << 16;
    options.session_timeout = kSessionTimeout;
    server_ = new syncmgr::server::Server(options);  // lives as long as the process
    endpoint_ = server_->endpoints().at(0);
    std::thread([s = server_] { s->run(-1); }).detach();
    syncmgr::server::CommandTable table;
    syncmgr::server::register_all_commands(table);
    for (const auto& name : table.names())
      if (name != "server.shutdown") ops_.push_back(name);
    for (auto& c : conns_)
      c = connect();
    control_sock_ = connect();
  }

  void run(FuzzedDataProvider& in) {
    if (kTrace) std::fprintf(stderr, "input of %zu bytes\n", in.remaining_bytes());
    names_.assign(std::begin(kNames), std::end(kNames));
    sleep_left_ms_ = kMaxSleepMsPerInput;
    for (auto& s : slots_)
      s = Slot{};
    for (int steps = 0; steps < 48 && in.remaining_bytes() > 0; ++steps) {
      Slot& slot = slots_[in.ConsumeIntegralInRange<int>(0, 2)];
      switch (in.ConsumeIntegralInRange<int>(0, 9)) {
        case 0: {
          int conn = in.ConsumeIntegralInRange<int>(0, 1);
          handshake(slot, conn, in.ConsumeBool());
          break;
        }
        case 1:
        case 2:
        case 3:
          if (slot.live) send_requests(slot, in);
          break;
        case 4:
          if (slot.live) open_object(slot, in);
          break;
        case 5: {
          if (!slot.live) break;
          slot.raw_ids = true;
          std::string payload = in.ConsumeRandomLengthString(256);
          send_payload(slot, payload, in.ConsumeBool());
          break;
        }
        case 6:
          send_raw(in.ConsumeRandomLengthString(128));
          break;
        case 7: {  // a client dies: its connection goes, its sessions linger until they expire
          int c = in.ConsumeIntegralInRange<int>(0, 1);
          sync(c);  // what it sent arrives: the input, not the timing, decides what is lost
          conns_[c].close();
          conns_[c] = connect();
          if (last_conn_ == c) last_conn_ = -1;
          break;
        }
        case 8: {
          int ms = std::min(sleep_left_ms_, in.ConsumeIntegralInRange<int>(0, 4));
          sleep_left_ms_ -= ms;
          std::this_thread::sleep_for(std::chrono::milliseconds(ms));
          break;
        }
        case 9:
          if (slot.live) request(slot, "server.bye", Value(), List{});
          break;
      }
      drain();
    }
    cleanup();
  }

 private:
  zmq::socket_t connect() {
    zmq::socket_t s(context_, zmq::socket_type::dealer);
    s.set(zmq::sockopt::linger, 0);
    s.connect(endpoint_);
    return s;
  }

  // Handles one frame from the daemon to a session's connection.
  void on_frame(const std::string& frame) {
    auto h = read_header(frame);
    check(h.has_value(), "the daemon sends well-formed headers");
    check(h->direction == Direction::to_client, "the daemon's frames go to the client");
    if (h->type != FrameType::reply) return;
    Slot* slot = nullptr;
    for (auto& s : slots_)
      if (s.live && s.id == h->session) slot = &s;
    if (slot == nullptr) return;  // a session of an earlier input
    if (slot->macs) check(verify_frame(*slot->key, frame), "reply frames verify");
    check(h->seq > slot->last_reply_seq, "reply sequence numbers increase");
    slot->last_reply_seq = h->seq;
    PayloadReader reader(session_payload(frame, slot->macs));
    while (auto oh = reader.next()) {
      const auto& o = oh->get();
      check(o.type == msgpack::type::ARRAY && (o.via.array.size == 3 || o.via.array.size == 4) &&
                o.via.array.ptr[0].type == msgpack::type::POSITIVE_INTEGER,
            "a reply is [id, 0, result] or [id, 1, kind, message]");
      std::uint64_t id = o.via.array.ptr[0].via.u64;
      if (kTrace) {
        Value v;
        o.convert(v);
        std::fprintf(stderr, "session %016llx reply: %s\n",
                     static_cast<unsigned long long>(slot->id), v.repr(200).c_str());
      }
      if (id == 0 || slot->raw_ids) continue;
      check(id <= slot->next_request, "no reply to a request never sent");
      check(slot->answered.insert(id).second, "no request is answered twice");
      // Temporaries the daemon created become targets for later steps.
      const auto& r = o.via.array.ptr;
      if (o.via.array.size == 3 && r[2].type == msgpack::type::ARRAY && r[2].via.array.size == 2 &&
          r[2].via.array.ptr[0].type == msgpack::type::STR) {
        std::string name = r[2].via.array.ptr[0].as<std::string>();
        if (!name.empty() && name[0] == '~' && names_.size() < 16) names_.push_back(name);
      }
    }
  }

  void drain() {
    for (int c = 0; c < 3; ++c)
      while (true) {
        std::string f = recv_frame(conns_[c], zmq::recv_flags::dontwait);
        if (f.empty()) break;
        if (c < 2) on_frame(f);  // the stranger's refusals are not checked
      }
  }

  // Waits for the daemon's answer to a handshake frame on `sock`: the first frame of one of the
  // handshake types for `session` (0: a hello's answer); replies on the way are checked.
  std::string await_answer(zmq::socket_t& sock, std::uint64_t session) {
    auto deadline = std::chrono::steady_clock::now() + kAnswerTimeout;
    while (true) {
      wait_readable(sock);
      std::string f = recv_frame(sock, zmq::recv_flags::dontwait);
      if (f.empty()) {
        check(std::chrono::steady_clock::now() < deadline, "the daemon answers within 5 s");
        continue;
      }
      auto h = read_header(f);
      check(h.has_value(), "the daemon sends well-formed headers");
      bool handshake_type = h->type == FrameType::challenge || h->type == FrameType::welcome ||
                            h->type == FrameType::refused;
      if (handshake_type &&
          (session == 0 ? h->type != FrameType::refused || h->session == 0 : h->session == session))
        return f;
      if (&sock != &control_sock_) on_frame(f);
    }
  }

  // The client's side of the handshake; false if the daemon refused.
  bool shake(zmq::socket_t& sock, bool ask_unsealed, std::uint64_t& id, std::unique_ptr<Hmac>& key,
             bool& macs) {
    std::string cn(kNonceSize, '\0');
    random_bytes(cn.data(), cn.size());
    msgpack::sbuffer buf;
    msgpack::packer<msgpack::sbuffer> pk(buf);
    pk.pack_array(ask_unsealed ? 3 : 2);
    pk.pack(kProtocolVersion);
    pk.pack_bin(kNonceSize);
    pk.pack_bin_body(cn.data(), kNonceSize);
    if (ask_unsealed) {
      pk.pack_map(1);
      pk.pack("frame_macs");
      pk.pack(false);
    }
    sock.send(
        zmq::buffer(make_frame({kProtocolVersion, FrameType::hello, Direction::to_daemon, 0, 0},
                               std::string_view(buf.data(), buf.size()))));
    std::string challenge = await_answer(sock, 0);
    auto h = read_header(challenge);
    if (h->type != FrameType::challenge) return false;
    id = h->session;
    auto oh = msgpack::unpack(challenge.data() + kHeaderSize, challenge.size() - kHeaderSize);
    const auto& o = oh.get();
    check(o.type == msgpack::type::ARRAY && o.via.array.size == 2 &&
              o.via.array.ptr[0].type == msgpack::type::BIN &&
              o.via.array.ptr[0].via.bin.size == kNonceSize,
          "a challenge carries a 32-byte nonce");
    std::string sn(o.via.array.ptr[0].via.bin.ptr, kNonceSize);
    HandshakeInputs inputs{cn, sn, id};
    Tag proof = client_proof(authkey_, inputs);
    msgpack::sbuffer auth;
    msgpack::packer<msgpack::sbuffer> apk(auth);
    apk.pack_array(1);
    apk.pack_bin(kTagSize);
    apk.pack_bin_body(reinterpret_cast<const char*>(proof.data()), kTagSize);
    sock.send(
        zmq::buffer(make_frame({kProtocolVersion, FrameType::auth, Direction::to_daemon, id, 0},
                               std::string_view(auth.data(), auth.size()))));
    std::string welcome = await_answer(sock, id);
    check(read_header(welcome)->type == FrameType::welcome, "the right proof is welcomed");
    key = std::make_unique<Hmac>(session_key(authkey_, inputs));
    check(verify_frame(*key, welcome), "the welcome verifies");
    auto w = msgpack::unpack(welcome.data() + kHeaderSize, welcome.size() - kHeaderSize - kTagSize);
    macs = w.get().as<std::map<std::string, msgpack::object>>().at("frame_macs").as<bool>();
    check(macs || ask_unsealed, "frames go without MACs only when asked");
    return true;
  }

  void handshake(Slot& slot, int conn, bool ask_unsealed) {
    Slot fresh;
    fresh.conn = conn;
    if (!shake(use(conn), ask_unsealed, fresh.id, fresh.key, fresh.macs)) return;
    slot = std::move(fresh);
    slot.live = true;
  }

  // The socket of connection `conn` (2: the stranger's), for sending. Frames of one connection
  // are served in order, but ZeroMQ may interleave two connections' frames in any order: before a
  // script switches connections, it waits until the daemon has served the last one's frames, so
  // what happens depends on the input alone.
  zmq::socket_t& use(int conn) {
    if (last_conn_ >= 0 && last_conn_ != conn) sync(last_conn_);
    last_conn_ = conn;
    return conns_[conn];
  }

  // Waits until the daemon has served every frame sent on `conn`: sends a hello whose nonce carries
  // a marker and waits for the challenge that answers it (its proof covers that nonce). Not a
  // refusal: the daemon answers only so many refusals a minute on one connection.
  void sync(int conn) {
    std::uint64_t marker = ++markers_;
    std::string cn(kNonceSize, '\0');
    std::memcpy(cn.data(), &marker, sizeof marker);
    msgpack::sbuffer buf;
    msgpack::packer<msgpack::sbuffer> pk(buf);
    pk.pack_array(2);
    pk.pack(kProtocolVersion);
    pk.pack_bin(kNonceSize);
    pk.pack_bin_body(cn.data(), kNonceSize);
    conns_[conn].send(
        zmq::buffer(make_frame({kProtocolVersion, FrameType::hello, Direction::to_daemon, 0, 0},
                               std::string_view(buf.data(), buf.size()))));
    while (true) {
      std::string f = await_any(conns_[conn]);
      if (answers_hello(f, cn)) return;
      if (conn < 2) on_frame(f);
    }
  }

  // Whether `frame` is the challenge to the hello with client nonce `cn`.
  bool answers_hello(const std::string& frame, const std::string& cn) {
    auto h = read_header(frame);
    if (!h || h->type != FrameType::challenge) return false;
    try {
      auto oh = msgpack::unpack(frame.data() + kHeaderSize, frame.size() - kHeaderSize);
      const auto& o = oh.get();
      if (o.type != msgpack::type::ARRAY || o.via.array.size != 2) return false;
      const auto& sn = o.via.array.ptr[0];
      const auto& proof = o.via.array.ptr[1];
      if (sn.type != msgpack::type::BIN || sn.via.bin.size != kNonceSize ||
          proof.type != msgpack::type::BIN || proof.via.bin.size != kTagSize)
        return false;
      Tag expected =
          server_proof(authkey_, {cn, std::string(sn.via.bin.ptr, kNonceSize), h->session});
      return tags_equal(reinterpret_cast<const unsigned char*>(proof.via.bin.ptr), expected);
    } catch (const std::exception&) {
      return false;
    }
  }

  void send_payload(Slot& slot, std::string_view payload, bool replay) {
    std::uint64_t seq = replay && slot.seq > 0 ? slot.seq : ++slot.seq;
    Header h{kProtocolVersion, FrameType::request, Direction::to_daemon, slot.id, seq};
    std::string frame = slot.macs ? seal_frame(*slot.key, h, payload) : make_frame(h, payload);
    use(slot.conn).send(zmq::buffer(frame));
  }

  void pack_request(msgpack::sbuffer& buf, std::uint64_t id, const std::string& op,
                    const Value& target, const List& args) {
    msgpack::packer<msgpack::sbuffer> pk(buf);
    pk.pack_array(4);
    pk.pack(id);
    pk.pack(op);
    pk.pack(target);
    pk.pack(Value(args));
  }

  void request(Slot& slot, const std::string& op, const Value& target, const List& args) {
    msgpack::sbuffer buf;
    pack_request(buf, ++slot.next_request, op, target, args);
    send_payload(slot, std::string_view(buf.data(), buf.size()), false);
  }

  Value gen_target(FuzzedDataProvider& in) {
    if (in.ConsumeIntegralInRange<int>(0, 15) == 0) return Value();
    return Value(names_[in.ConsumeIntegralInRange<std::size_t>(0, names_.size() - 1)]);
  }

  void send_requests(Slot& slot, FuzzedDataProvider& in) {
    msgpack::sbuffer buf;
    int n = in.ConsumeIntegralInRange<int>(1, 4);
    for (int i = 0; i < n; ++i) {
      // An op of the table by index, or spelled out (the seeds do so: it stays valid as ops are
      // added; it may also be no op at all).
      std::string op = in.ConsumeBool()
                           ? in.ConsumeRandomLengthString(32)
                           : ops_[in.ConsumeIntegralInRange<std::size_t>(0, ops_.size() - 1)];
      Value target = op.rfind("server.", 0) == 0 ? Value() : gen_target(in);
      List args;
      int argc = in.ConsumeIntegralInRange<int>(0, 5);  // 5: one more than any op takes
      for (int a = 0; a < argc; ++a)
        args.push_back(gen_value(in, 0));
      // Ids the session used before (cancel targets them) or the next one.
      if (op == "server.cancel" && !args.empty() && slot.next_request > 0)
        args[0] = Value(in.ConsumeIntegralInRange<std::uint64_t>(1, slot.next_request));
      pack_request(buf, ++slot.next_request, op, target, args);
      if (kTrace)
        std::fprintf(stderr, "session %016llx request %llu: %s %s %s\n",
                     static_cast<unsigned long long>(slot.id),
                     static_cast<unsigned long long>(slot.next_request), op.c_str(),
                     target.repr().c_str(), Value(args).repr().c_str());
    }
    send_payload(slot, std::string_view(buf.data(), buf.size()),
                 in.ConsumeIntegralInRange<int>(0, 15) == 0);
  }

  void open_object(Slot& slot, FuzzedDataProvider& in) {
    const char* types[] = {"namespace", "dict",          "list",
                           "queue",     "joinablequeue", "lock",
                           "rlock",     "semaphore",     "boundedsemaphore",
                           "condition", "event",         "barrier",
                           "value",     "array"};
    List args{Value(std::string(in.PickValueInArray(types))),
              in.ConsumeIntegralInRange<int>(0, 4) == 0
                  ? Value()
                  : Value(std::string(in.PickValueInArray(kNames)))};
    if (in.ConsumeBool()) args.push_back(gen_value(in, 0));
    if (kTrace)
      std::fprintf(stderr, "session %016llx request %llu: server.open %s\n",
                   static_cast<unsigned long long>(slot.id),
                   static_cast<unsigned long long>(slot.next_request + 1),
                   Value(args).repr().c_str());
    request(slot, "server.open", Value(), args);
  }

  void send_raw(const std::string& frame) { use(2).send(zmq::buffer(frame)); }

  // Sends a control request frame and returns the reply payload's objects.
  std::vector<msgpack::object_handle> control(
      const std::vector<std::pair<std::string, List>>& reqs) {
    // With a 20 ms session timeout a loaded machine can let the new session expire again before
    // its first request is read: try a few times.
    for (int attempt = 0; attempt < 20; ++attempt) {
      if (control_.id == 0 &&
          !shake(control_sock_, false, control_.id, control_.key, control_.macs))
        check(false, "the control session's handshake is refused");
      msgpack::sbuffer buf;
      for (const auto& [op, args] : reqs)
        pack_request(buf, ++control_.next_request, op, Value(), args);
      Header h{kProtocolVersion, FrameType::request, Direction::to_daemon, control_.id,
               ++control_.seq};
      control_sock_.send(zmq::buffer(seal_frame(*control_.key, h, {buf.data(), buf.size()})));
      std::string answer;
      while (true) {
        answer = await_any(control_sock_);
        auto ah = read_header(answer);
        if (ah->session == control_.id &&
            (ah->type == FrameType::reply || ah->type == FrameType::refused))
          break;
      }
      auto ah = read_header(answer);
      if (ah->type == FrameType::refused) {  // expired between inputs: shake hands again
        control_ = Slot{};
        continue;
      }
      check(verify_frame(*control_.key, answer), "control replies verify");
      std::vector<msgpack::object_handle> out;
      PayloadReader reader(sealed_payload(answer));
      while (auto oh = reader.next())
        out.push_back(std::move(*oh));
      return out;
    }
    check(false, "the control session keeps expiring");
    return {};
  }

  std::string await_any(zmq::socket_t& sock) {
    auto deadline = std::chrono::steady_clock::now() + kAnswerTimeout;
    while (true) {
      wait_readable(sock);
      std::string f = recv_frame(sock, zmq::recv_flags::dontwait);
      if (!f.empty()) return f;
      check(std::chrono::steady_clock::now() < deadline, "the daemon answers within 5 s");
    }
  }

  // Every session of the input says bye; the control session removes every object: the names
  // the input used, then (a second round trip, rarely needed) whatever server.list still shows.
  void cleanup() {
    for (auto& s : slots_)
      if (s.live) request(s, "server.bye", Value(), List{});
    if (last_conn_ >= 0) sync(last_conn_);  // the input's frames are served before the cleanup's
    last_conn_ = -1;
    std::vector<std::pair<std::string, List>> removes;
    for (const auto& name : names_)
      removes.push_back({"server.remove", List{Value(name)}});
    removes.push_back({"server.list", {}});
    auto replies = control(removes);
    removes.clear();
    const auto& listed = replies.back().get();
    check(listed.via.array.size == 3, "server.list answers");
    for (const auto& d :
         listed.via.array.ptr[2].as<std::vector<std::map<std::string, msgpack::object>>>())
      removes.push_back({"server.remove", List{Value(d.at("name").as<std::string>())}});
    if (!removes.empty()) (void)control(removes);
    drain();
  }

  std::string dir_;
  syncmgr::server::Server* server_ = nullptr;
  std::string endpoint_;
  zmq::context_t context_{1};
  zmq::socket_t conns_[3];  // two clients' connections and a stranger's (raw frames)
  int last_conn_ = -1;
  std::uint64_t markers_ = 0;
  zmq::socket_t control_sock_;
  Slot control_;
  Slot slots_[3];
  Hmac authkey_{kKey};
  std::vector<std::string> ops_;
  std::vector<std::string> names_;
  int sleep_left_ms_ = 0;
};

Harness* harness = nullptr;

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  harness = new Harness();  // never destroyed: the daemon's thread serves until the process exits
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider in(data, size);
  harness->run(in);
  return 0;
}
