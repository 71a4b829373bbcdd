// Requests as docs/PROTOCOL.md defines them, from a raw client: every request gets exactly one
// reply under its own id on every path (bad shapes, ext values, id 0, empty payloads, deep
// nesting), and a request id reused by a client never confuses the daemon's own bookkeeping.
#include <doctest/doctest.h>

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>
#include <zmq.hpp>

#include "support/daemon.hpp"
#include "support/raw_client.hpp"
#include "syncmgr/syncmgr.hpp"

using namespace syncmgr;
using testsupport::Daemon;
using testsupport::pack_request;
using testsupport::ping;
using testsupport::RawClient;
using testsupport::read_file;

namespace {

std::string open_queue(std::uint64_t id, const std::string& name) {
  return pack_request(id, "server.open", nullptr, [&](auto& pk) {
    pk.pack_array(2);
    pk.pack(std::string("queue"));
    pk.pack(name);
  });
}

std::string queue_get(std::uint64_t id, const std::string& name) {
  return pack_request(id, "queue.get", name.c_str(), [](auto& pk) {
    pk.pack_array(2);
    pk.pack(true);
    pk.pack_nil();
  });
}

const Value& field(const Value& reply, std::size_t i) {
  return reply.as_list()[i];
}

}  // namespace

TEST_CASE(
    "requests: an id reused while its first call is parked; each call ends once, bye ends "
    "both") {
  Daemon d;
  zmq::context_t ctx;
  RawClient c(ctx, d.ipc(), read_file(d.key_file()));
  c.handshake();
  REQUIRE(c.call(open_queue(1, "q"), 1).size() == 1);
  // Two parked gets under one client id: the daemon must keep both, under ids of its own.
  c.send(c.sealed(queue_get(7, "q"), 2));
  c.send(c.sealed(queue_get(7, "q"), 3));
  Manager m(d.options(d.ipc()));
  testsupport::wait_parked(m, 2);
  m.Queue("q").put(1);
  auto first = c.replies();
  REQUIRE(first.size() == 1);
  CHECK(first[0] == Value(List{7, 0, 1}));
  CHECK(testsupport::stat(m, "parked_calls") == 1);
  // The session ends with the other get still parked: it must end with it.
  CHECK(c.call(pack_request(8, "server.bye", nullptr, [](auto& pk) { pk.pack_array(0); }), 4)
            .size() == 1);
  testsupport::wait_sessions(m, 1);
  CHECK(testsupport::stat(m, "parked_calls") == 0);
  // A change that once re-ran the orphaned waiter (null session) must leave the daemon serving.
  m.Queue("q").put(2);
  CHECK(m.Queue("q").get<int>() == 2);
  m.ping();
  CHECK(d.running());
}

TEST_CASE("requests: server.cancel of a reused id cancels each parked call of it, once each") {
  Daemon d;
  zmq::context_t ctx;
  RawClient c(ctx, d.ipc(), read_file(d.key_file()));
  c.handshake();
  REQUIRE(c.call(open_queue(1, "q"), 1).size() == 1);
  c.send(c.sealed(queue_get(5, "q"), 2));
  c.send(c.sealed(queue_get(5, "q"), 3));
  Manager m(d.options(d.ipc()));
  testsupport::wait_parked(m, 2);
  c.send(c.sealed(pack_request(6, "server.cancel", nullptr,
                               [](auto& pk) {
                                 pk.pack_array(1);
                                 pk.pack(5);
                               }),
                  4));
  std::vector<Value> all;
  while (all.size() < 3) {
    auto r = c.replies();
    REQUIRE_FALSE(r.empty());
    all.insert(all.end(), r.begin(), r.end());
  }
  CHECK(field(all[0], 0) == Value(5));
  CHECK(field(all[0], 2) == Value("CancelledError"));
  CHECK(field(all[1], 0) == Value(5));
  CHECK(field(all[1], 2) == Value("CancelledError"));
  CHECK(all[2] == Value(List{6, 0, true}));
  CHECK(testsupport::stat(m, "parked_calls") == 0);
}

TEST_CASE("requests: a call parked on a temporary object ends when its holder is SIGKILLed") {
  Daemon d({"--session-timeout", "1"});
  Manager m(d.options(d.ipc()));
  auto names = m.Namespace("names");
  pid_t holder = testsupport::spawn([&d] {
    Manager child(d.options(d.ipc()));
    auto q = child.Queue();  // temporary: freed when its only holder's session ends
    child.Namespace("names").set("q", q.name());
    for (;;)
      pause();
    return 0;
  });
  std::string name;
  for (int i = 0; i < 2000 && name.empty(); ++i) {
    name = names.get<std::string>("q", "");
    if (name.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  REQUIRE_FALSE(name.empty());
  zmq::context_t ctx;
  RawClient c(ctx, d.ipc(), read_file(d.key_file()));
  c.handshake();
  c.send(c.sealed(queue_get(3, name), 1));  // parks without holding the object
  testsupport::wait_parked(m, 1);
  kill(holder, SIGKILL);
  testsupport::join(holder);
  // This client's own session must outlive the holder's: it keeps sending heartbeats meanwhile.
  c.socket().set(zmq::sockopt::rcvtimeo, 300);
  std::vector<Value> r;
  for (std::uint64_t seq = 2; seq < 100 && r.empty(); ++seq) {
    c.send(c.sealed(
        pack_request(100 + seq, "server.heartbeat", nullptr, [](auto& pk) { pk.pack_array(0); }),
        seq));
    for (auto got = c.replies(); !got.empty(); got = c.replies())
      for (auto& reply : got)
        if (field(reply, 0) == Value(3)) r.push_back(reply);
  }
  CHECK(field(r[0], 0) == Value(3));
  CHECK(field(r[0], 2) == Value("NameError"));
  CHECK(field(r[0], 3).as_string().find("freed") != std::string::npos);
  CHECK(testsupport::stat(m, "parked_calls") == 0);
}
TEST_CASE("requests: an ext value is a TypeError under the request's id; later requests run") {
  Daemon d;
  zmq::context_t ctx;
  RawClient c(ctx, d.ipc(), read_file(d.key_file()));
  c.handshake();
  REQUIRE(c.call(open_queue(1, "q"), 1).size() == 1);
  std::string put_ext = pack_request(2, "queue.put", "q", [](auto& pk) {
    pk.pack_array(3);
    pk.pack_ext(2, 5);
    pk.pack_ext_body("ab", 2);
    pk.pack(true);
    pk.pack_nil();
  });
  auto r = c.call(put_ext + ping(3), 2);
  REQUIRE(r.size() == 2);
  CHECK(field(r[0], 0) == Value(2));
  CHECK(field(r[0], 2) == Value("TypeError"));
  CHECK(r[1] == Value(List{3, 0, "pong"}));
  // An ext value where the op should be is a bad shape, answered under the readable id.
  msgpack::sbuffer buf;
  msgpack::packer<msgpack::sbuffer> pk(buf);
  pk.pack_array(4);
  pk.pack(4);
  pk.pack_ext(1, 1);
  pk.pack_ext_body("x", 1);
  pk.pack_nil();
  pk.pack_array(0);
  r = c.call(std::string(buf.data(), buf.size()) + ping(5), 3);
  REQUIRE(r.size() == 2);
  CHECK(field(r[0], 0) == Value(4));
  CHECK(field(r[0], 2) == Value("ProtocolError"));
  CHECK(r[1] == Value(List{5, 0, "pong"}));
}

TEST_CASE(
    "requests: bad shapes are answered under their readable id; id 0 and non-arrays are "
    "ProtocolErrors and the rest still runs") {
  Daemon d;
  zmq::context_t ctx;
  RawClient c(ctx, d.ipc(), read_file(d.key_file()));
  c.handshake();
  std::string bad_op;
  {
    msgpack::sbuffer buf;
    msgpack::packer<msgpack::sbuffer> pk(buf);
    pk.pack_array(4);
    pk.pack(9);
    pk.pack(42);  // op must be a str
    pk.pack_nil();
    pk.pack_array(0);
    bad_op.assign(buf.data(), buf.size());
  }
  std::string short_req;
  {
    msgpack::sbuffer buf;
    msgpack::packer<msgpack::sbuffer> pk(buf);
    pk.pack_array(2);
    pk.pack(10);
    pk.pack(std::string("server.ping"));
    short_req.assign(buf.data(), buf.size());
  }
  std::string not_array;
  {
    msgpack::sbuffer buf;
    msgpack::packer<msgpack::sbuffer> pk(buf);
    pk.pack(std::string("hello"));
    not_array.assign(buf.data(), buf.size());
  }
  auto r = c.call(bad_op + short_req + ping(0) + not_array + ping(11), 1);
  REQUIRE(r.size() == 5);
  CHECK(field(r[0], 0) == Value(9));
  CHECK(field(r[0], 2) == Value("ProtocolError"));
  CHECK(field(r[1], 0) == Value(10));
  CHECK(field(r[1], 2) == Value("ProtocolError"));
  CHECK(field(r[2], 0) == Value(0));  // id 0 is not an id: refused, under 0
  CHECK(field(r[2], 2) == Value("ProtocolError"));
  CHECK(field(r[3], 0) == Value(0));
  CHECK(field(r[3], 2) == Value("ProtocolError"));
  CHECK(r[4] == Value(List{11, 0, "pong"}));
}

TEST_CASE(
    "requests: an empty payload is answered; values nest 64 levels, deeper is refused "
    "under the request's id") {
  Daemon d;
  zmq::context_t ctx;
  RawClient c(ctx, d.ipc(), read_file(d.key_file()));
  c.handshake();
  auto r = c.call("", 1);
  REQUIRE(r.size() == 1);
  CHECK(field(r[0], 0) == Value(0));
  CHECK(field(r[0], 2) == Value("ProtocolError"));

  REQUIRE(c.call(open_queue(1, "q"), 2).size() == 1);
  auto nested_put = [](std::uint64_t id, int depth) {
    return pack_request(id, "queue.put", "q", [depth](auto& pk) {
      pk.pack_array(3);
      for (int i = 0; i < depth - 1; ++i)
        pk.pack_array(1);
      pk.pack_array(0);
      pk.pack(true);
      pk.pack_nil();
    });
  };
  r = c.call(nested_put(2, 64), 3);
  REQUIRE(r.size() == 1);
  CHECK(r[0] == Value(List{2, 0, Value()}));
  r = c.call(nested_put(3, 65) + ping(4), 4);
  REQUIRE(r.size() == 2);  // the parser finds where the deep request ends: the next one runs
  CHECK(field(r[0], 0) == Value(3));
  CHECK(field(r[0], 2) == Value("ProtocolError"));
  CHECK(r[1] == Value(List{4, 0, "pong"}));
  CHECK(c.call(ping(5), 5)[0] == Value(List{5, 0, "pong"}));
}
