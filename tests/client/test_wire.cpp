// The wire protocol from a raw ZeroMQ socket: the handshake, and every kind of bad frame. The
// daemon must answer each with a clear refusal, reach no object for an unauthenticated peer, and
// keep serving. Also the client's side: it never answers a daemon that cannot prove it knows the
// key.
#include <doctest/doctest.h>

#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>
#include <zmq.hpp>

#include "protocol/curve.hpp"
#include "protocol/handshake.hpp"
#include "protocol/mac.hpp"
#include "protocol/message.hpp"
#include "protocol/wire.hpp"
#include "support/daemon.hpp"
#include "support/raw_client.hpp"
#include "syncmgr/syncmgr.hpp"

using namespace syncmgr;
using namespace syncmgr::protocol;
using testsupport::Daemon;

using testsupport::pack_request;
using testsupport::ping;
using testsupport::RawClient;
using testsupport::read_file;

TEST_CASE("wire: handshake, then sealed requests; two requests in one frame get two replies") {
  Daemon d;
  zmq::context_t ctx;
  RawClient c(ctx, d.tcp(), read_file(d.key_file()));
  auto welcome = c.handshake();
  auto h = read_header(welcome);
  REQUIRE(h);
  CHECK(h->type == FrameType::welcome);
  CHECK(verify_frame(c.key(), welcome));
  auto replies = c.call(ping(1) + ping(2), 1);
  REQUIRE(replies.size() == 2);
  CHECK(replies[0] == Value(List{1, 0, "pong"}));
  CHECK(replies[1] == Value(List{2, 0, "pong"}));
}

TEST_CASE(
    "wire: flipped, replayed, reordered and foreign frames are rejected; the session survives") {
  Daemon d;
  zmq::context_t ctx;
  RawClient c(ctx, d.ipc(), read_file(d.key_file()));
  c.handshake();
  std::string set = pack_request(1, "server.open", nullptr, [](auto& pk) {
    pk.pack_array(2);
    pk.pack(std::string("namespace"));
    pk.pack(std::string("ns"));
  });
  CHECK(c.call(set, 1).size() == 1);

  std::string good = c.sealed(ping(2), 2);
  for (std::size_t i :
       {std::size_t{0}, std::size_t{5}, std::size_t{13}, kHeaderSize + 2, good.size() - 1}) {
    std::string bad = good;
    bad[i] = static_cast<char>(bad[i] ^ 0x20);
    c.send(bad);
    auto r = c.recv();
    REQUIRE(r);
    auto refused = RawClient::refusal(*r);
    REQUIRE(refused);
    CAPTURE(i);
    CHECK((refused->first == "AuthenticationError" || refused->first == "ProtocolError" ||
           refused->first == "SessionError"));
  }
  CHECK(c.call(ping(3), 3).size() == 1);  // the genuine session is unharmed

  c.send(c.sealed(ping(4), 3));  // replay of sequence number 3
  auto r = c.recv();
  REQUIRE(r);
  REQUIRE(RawClient::refusal(*r));
  CHECK(RawClient::refusal(*r)->first == "AuthenticationError");
  CHECK(RawClient::refusal(*r)->second.find("replayed") != std::string::npos);

  CHECK(c.call(ping(5), 10).size() == 1);  // gaps are allowed, going back is not
  c.send(c.sealed(ping(6), 9));
  r = c.recv();
  REQUIRE(r);
  CHECK(RawClient::refusal(*r)->first == "AuthenticationError");

  // A frame sealed with another key (an attacker's injected frame) is rejected.
  Hmac other(std::string(32, 'z'));
  c.send(seal_frame(
      other, Header{kProtocolVersion, FrameType::request, Direction::to_daemon, c.session(), 20},
      ping(7)));
  r = c.recv();
  REQUIRE(r);
  CHECK(RawClient::refusal(*r)->first == "AuthenticationError");
  CHECK(c.call(ping(8), 21).size() == 1);
  CHECK(d.log().find("replayed or reordered") != std::string::npos);

  // A flood of replays is answered a bounded number of times and logged a few times, not once a
  // frame (10,000 replays made 10,000 log lines); the session still works after it.
  std::string replay = c.sealed(ping(9), 21);
  for (int i = 0; i < 10000; ++i)
    c.send(replay);
  c.socket().set(zmq::sockopt::rcvtimeo, 500);
  int refusals = 0;
  while (auto f = c.recv()) {
    CHECK(RawClient::refusal(*f));
    ++refusals;
  }
  CHECK(refusals <= 100);
  c.socket().set(zmq::sockopt::rcvtimeo, 5000);
  CHECK(c.call(ping(10), 22).size() >= 1);
  std::size_t lines = 0;
  for (auto at = d.log().find("replayed or reordered"); at != std::string::npos;
       at = d.log().find("replayed or reordered", at + 1))
    ++lines;
  CHECK(lines <= 3);
}

TEST_CASE(
    "wire: the library keeps to the daemon's message size: over it is refused, a batch split") {
  Daemon d({"--max-message-size", "4K"});
  for (const auto& ep : {d.tcp(), d.ipc(), d.unix_socket()}) {
    CAPTURE(ep);
    Manager m(d.options(ep));
    auto dict = m.dict();
    CHECK_THROWS_AS(dict.set("big", std::string(5000, 'x')), ProtocolError);
    // 200 requests of ~120 bytes issued together: more than one 4K frame's worth.
    std::vector<Future<void>> writes;
    for (int i = 0; i < 200; ++i)
      writes.push_back(dict.async_set(i, std::string(100, static_cast<char>('a' + i % 26))));
    for (auto& f : writes)
      f.get();
    CHECK(dict.len() == 200);
    CHECK(dict.get<std::string>(199) == std::string(100, static_cast<char>('a' + 199 % 26)));
    CHECK(dict.get<std::string>(0) == std::string(100, 'a'));
  }
}

TEST_CASE("wire: garbage, truncated, oversize, multipart and wrong-version frames get errors") {
  Daemon d({"--max-message-size", "4K"});
  zmq::context_t ctx;
  RawClient c(ctx, d.tcp(), read_file(d.key_file()));
  auto expect_refusal = [&](const std::string& frame, const std::string& kind,
                            const std::string& words) {
    c.send(frame);
    auto r = c.recv();
    REQUIRE(r);
    auto refused = RawClient::refusal(*r);
    REQUIRE(refused);
    CHECK(refused->first == kind);
    CHECK(refused->second.find(words) != std::string::npos);
  };
  expect_refusal("garbage that is long enough to hold a header", "ProtocolError", "");
  expect_refusal("short", "ProtocolError", "header");
  expect_refusal(c.hello_frame(2), "ProtocolError", "version 2");
  c.handshake();
  expect_refusal(c.sealed(std::string(5000, 'x'), 1), "ProtocolError", "exceeds the limit");
  // A frame may come in several ZeroMQ parts (tcp sends large frames so): they are joined, so a
  // ping split in two is answered, and two parts of garbage are one malformed frame.
  {
    std::string frame = c.sealed(ping(7), 1);
    zmq::message_t a(frame.data(), 10), b(frame.data() + 10, frame.size() - 10);
    c.socket().send(a, zmq::send_flags::sndmore);
    c.socket().send(b, zmq::send_flags::none);
    auto r = c.recv();
    REQUIRE(r);
    REQUIRE_FALSE(RawClient::refusal(*r));
    zmq::message_t g1("one", 3), g2("two", 3);
    c.socket().send(g1, zmq::send_flags::sndmore);
    c.socket().send(g2, zmq::send_flags::none);
    r = c.recv();
    REQUIRE(r);
    REQUIRE(RawClient::refusal(*r));
    CHECK(RawClient::refusal(*r)->second.find("header") != std::string::npos);
  }
  // Authenticated but malformed msgpack: answered under request id 0.
  auto replies = c.call(std::string("\xc1\xc1\xc1", 3), 2);
  REQUIRE(replies.size() == 1);
  CHECK(replies[0].as_list()[0] == Value(0));
  CHECK(replies[0].as_list()[2] == Value("ProtocolError"));
  // A well-formed msgpack value that is not a request.
  replies = c.call(std::string("\x93\x01\x02\x03", 4), 3);
  CHECK(replies[0].as_list()[2] == Value("ProtocolError"));
  CHECK(c.call(ping(9), 4).size() == 1);
  CHECK(d.running());
}

TEST_CASE("wire: a parked call is cancelled by server.cancel and answered exactly once") {
  Daemon d;
  zmq::context_t ctx;
  RawClient c(ctx, d.tcp(), read_file(d.key_file()));
  c.handshake();
  c.call(pack_request(1, "server.open", nullptr,
                      [](auto& pk) {
                        pk.pack_array(2);
                        pk.pack(std::string("queue"));
                        pk.pack(std::string("q"));
                      }),
         1);
  // queue.get block=true timeout=nil: parks, so this frame gets no reply yet.
  c.send(c.sealed(pack_request(2, "queue.get", "q",
                               [](auto& pk) {
                                 pk.pack_array(2);
                                 pk.pack(true);
                                 pk.pack_nil();
                               }),
                  2));
  auto replies = c.call(pack_request(3, "server.cancel", nullptr,
                                     [](auto& pk) {
                                       pk.pack_array(1);
                                       pk.pack(2);
                                     }),
                        3);
  // The cancelled get's own reply (CancelledError) comes first, then the cancel's (true).
  REQUIRE(replies.size() == 1);
  syncmgr::Value first = replies[0];
  CHECK(first.as_list()[0] == syncmgr::Value(2));
  CHECK(first.as_list()[2] == syncmgr::Value("CancelledError"));
  auto r = c.recv();
  REQUIRE(r);
  PayloadReader reader(sealed_payload(*r));
  auto cancel_reply = reader.next()->get().as<syncmgr::Value>();
  CHECK(cancel_reply == syncmgr::Value(List{3, 0, true}));
  // Cancelling again finds nothing, and the next call gets its own reply.
  auto again = c.call(pack_request(4, "server.cancel", nullptr,
                                   [](auto& pk) {
                                     pk.pack_array(1);
                                     pk.pack(2);
                                   }),
                      4);
  CHECK(again[0] == syncmgr::Value(List{4, 0, false}));
  CHECK(c.call(ping(5), 5)[0] == syncmgr::Value(List{5, 0, "pong"}));
}

TEST_CASE("wire: an unauthenticated peer reaches no object") {
  Daemon d;
  Manager m(d.options());
  m.dict("secret").set("k", std::string("v"));
  std::string get = pack_request(1, "dict.get", "secret", [](auto& pk) {
    pk.pack_array(1);
    pk.pack(std::string("k"));
  });
  Hmac guess(std::string(32, 'w'));
  std::string forged = seal_frame(
      guess, Header{kProtocolVersion, FrameType::request, Direction::to_daemon, 12345, 1}, get);
  {
    // Over tcp a peer without the key does not get through ZeroMQ's (CURVE) handshake: nothing it
    // sends reaches the daemon, and nothing comes back.
    zmq::context_t ctx;
    RawClient c(ctx, d.tcp(), std::string(32, 'w'));
    c.socket().set(zmq::sockopt::rcvtimeo, 1500);
    c.send(forged);
    CHECK_FALSE(c.recv());
    testsupport::wait_stat(m, "refused_connections", 1);
  }
  {
    // Over ipc (a process of the daemon's user) a request under an invented session id is refused
    // before any object is touched.
    zmq::context_t ctx;
    RawClient c(ctx, d.ipc(), std::string(32, 'w'));
    c.send(forged);
    auto r = c.recv();
    REQUIRE(r);
    CHECK(RawClient::refusal(*r)->first == "SessionError");
  }
  // A handshake with a wrong proof is refused, and the challenge cannot be retried.
  zmq::context_t ctx2;
  RawClient w(ctx2, d.ipc(), std::string(32, 'w'));
  auto refused = w.handshake(/*corrupt_proof=*/false, true, /*expect_proof=*/false);
  REQUIRE(RawClient::refusal(refused));
  CHECK(RawClient::refusal(refused)->first == "AuthenticationError");
  w.send(w.last_auth());
  auto r = w.recv();
  REQUIRE(r);
  CHECK(RawClient::refusal(*r)->second.find("no handshake in progress") != std::string::npos);
  CHECK(m.dict("secret").get<std::string>("k") == "v");
  CHECK(d.log().find("authentication failure") != std::string::npos);
}

TEST_CASE("wire: repeated authentication failures shut out that connection, not its host") {
  Daemon d;
  zmq::context_t ctx;
  RawClient w(ctx, d.tcp(), read_file(d.key_file()));
  for (int i = 0; i < 5; ++i)
    w.handshake(/*corrupt_proof=*/true);
  w.send(w.hello_frame());
  auto r = w.recv();
  REQUIRE(r);
  auto refused = RawClient::refusal(*r);
  REQUIRE(refused);
  CHECK(refused->second.find("too many authentication failures") != std::string::npos);
  CHECK(d.log().find("refused for") != std::string::npos);
  // Other connections from the same host, raw or through the library, are not affected.
  RawClient c(ctx, d.tcp(), read_file(d.key_file()));
  CHECK(RawClient::refusal(c.handshake()) == std::nullopt);
  for (int i = 0; i < 3; ++i) {
    Manager m(d.options());
    m.ping();
  }
}

TEST_CASE("wire: the client refuses a daemon that cannot prove it knows the key") {
  testsupport::TempDir dir;
  zmq::context_t ctx;
  zmq::socket_t fake(ctx, zmq::socket_type::router);
  fake.set(zmq::sockopt::linger, 0);
  std::string ep = "ipc://" + dir.file("fake");
  fake.bind(ep);
  bool sent_auth = false;
  std::thread impostor([&] {
    zmq::pollitem_t items[] = {{fake.handle(), 0, ZMQ_POLLIN, 0}};
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(3);
    while (std::chrono::steady_clock::now() < until) {
      zmq::poll(items, 1, std::chrono::milliseconds(50));
      if (!(items[0].revents & ZMQ_POLLIN)) continue;
      zmq::message_t id, body;
      (void)fake.recv(id);
      (void)fake.recv(body);
      auto h = read_header(body.to_string());
      if (h && h->type == FrameType::auth) sent_auth = true;
      if (!h || h->type != FrameType::hello) continue;
      msgpack::sbuffer buf;
      msgpack::packer<msgpack::sbuffer> pk(buf);
      pk.pack_array(2);
      std::string junk(32, 'j');
      pk.pack_bin(32);
      pk.pack_bin_body(junk.data(), 32);
      pk.pack_bin(32);
      pk.pack_bin_body(junk.data(), 32);
      std::string frame =
          make_frame(Header{kProtocolVersion, FrameType::challenge, Direction::to_client, 77, 0},
                     std::string_view(buf.data(), buf.size()));
      fake.send(id, zmq::send_flags::sndmore);
      fake.send(zmq::buffer(frame));
    }
  });
  Options o;
  o.endpoint = ep;
  o.authkey = std::string(32, 'k');
  o.connect_timeout = std::chrono::seconds(2);
  std::string msg;
  try {
    Manager m(o);
  } catch (const AuthenticationError& e) {
    msg = e.what();
  }
  impostor.join();
  CHECK(msg.find("failed to prove") != std::string::npos);
  CHECK_FALSE(sent_auth);
}

TEST_CASE("wire: a client may drop frame MACs on ipc and tcp; --require-frame-macs keeps them") {
  Daemon d;
  zmq::context_t ctx;
  msgpack::object_handle keep;
  RawClient c(ctx, d.ipc(), read_file(d.key_file()));
  auto welcome = c.handshake(false, false);
  CHECK(verify_frame(c.key(), welcome));  // the welcome itself is always sealed
  CHECK(RawClient::params(welcome, keep).at("frame_macs").as<bool>() == false);
  // Requests and replies are header || payload now.
  Header h{kProtocolVersion, FrameType::request, Direction::to_daemon, c.session(), 1};
  c.send(make_frame(h, ping(7)));
  auto reply = c.recv();
  REQUIRE(reply);
  REQUIRE_FALSE(RawClient::refusal(*reply));
  auto rh = read_header(*reply);
  REQUIRE(rh);
  CHECK(rh->type == FrameType::reply);
  CHECK(
      msgpack::unpack(reply->data() + kHeaderSize, reply->size() - kHeaderSize).get().as<Value>() ==
      Value(List{7, 0, "pong"}));
  // Another connection cannot speak for that session, even knowing its id and sequence.
  RawClient intruder(ctx, d.ipc(), read_file(d.key_file()));
  intruder.send(make_frame(
      Header{kProtocolVersion, FrameType::request, Direction::to_daemon, c.session(), 2}, ping(8)));
  auto refused = intruder.recv();
  REQUIRE(refused);
  REQUIRE(RawClient::refusal(*refused));
  CHECK(RawClient::refusal(*refused)->first == "SessionError");

  // Over tcp (CURVE) the wish is granted too, and the session is bound to its connection just the
  // same: another connection holding the key cannot speak for it.
  RawClient t(ctx, d.tcp(), read_file(d.key_file()));
  auto tw = t.handshake(false, false);
  CHECK(RawClient::params(tw, keep).at("frame_macs").as<bool>() == false);
  t.send(make_frame(
      Header{kProtocolVersion, FrameType::request, Direction::to_daemon, t.session(), 1}, ping(1)));
  auto tr = t.recv();
  REQUIRE(tr);
  REQUIRE_FALSE(RawClient::refusal(*tr));
  RawClient other(ctx, d.tcp(), read_file(d.key_file()));
  other.send(make_frame(
      Header{kProtocolVersion, FrameType::request, Direction::to_daemon, t.session(), 2}, ping(2)));
  tr = other.recv();
  REQUIRE(tr);
  REQUIRE(RawClient::refusal(*tr));
  CHECK(RawClient::refusal(*tr)->first == "SessionError");

  Daemon strict({"--require-frame-macs"});
  RawClient s(ctx, strict.ipc(), read_file(strict.key_file()));
  CHECK(RawClient::params(s.handshake(false, false), keep).at("frame_macs").as<bool>() == true);
  // And the library over ipc works either way.
  for (bool macs : {false, true}) {
    auto o = d.options(d.ipc());
    o.frame_macs = macs;
    Manager m(o);
    auto big = std::string(3u << 20, 'x');
    auto dict = m.dict();
    dict.set("big", Bytes{big});
    CHECK(dict.get<Bytes>("big").data == big);
  }
}

TEST_CASE("wire: a crashed client's session cannot be taken over by reusing its routing id") {
  // Found by an adversary: after an ipc client without frame MACs died, a local process that
  // reused its routing identity (libzmq's were predictable) and its session id (logged) had its
  // frames executed as that session until the session expired.
  Daemon d({"--session-timeout", "30"});
  Manager owner(d.options(d.ipc()));
  owner.dict("owned").set("k", std::string("mine"));
  const std::string routing_id = "victim-routing-id";
  std::uint64_t session = 0;
  {
    zmq::context_t ctx;
    RawClient victim(ctx, d.ipc(), read_file(d.key_file()));
    victim.socket().set(zmq::sockopt::routing_id, routing_id);
    // The id applies to connections made after it is set: reconnect with it.
    victim.socket().disconnect(d.ipc());
    victim.socket().connect(d.ipc());
    msgpack::object_handle keep;
    CHECK(RawClient::params(victim.handshake(false, false), keep).at("frame_macs").as<bool>() ==
          false);
    session = victim.session();
  }  // closed without a goodbye, as a crash would
  std::string del = pack_request(1, "dict.del", "owned", [](auto& pk) {
    pk.pack_array(1);
    pk.pack(std::string("k"));
  });
  zmq::context_t ctx;
  // Once the victim's connection is gone its routing id is free to claim; retry until it is.
  std::optional<std::string> answer;
  for (int i = 0; i < 50 && !answer; ++i) {
    RawClient thief(ctx, d.ipc(), std::string(32, 'x'));
    thief.socket().set(zmq::sockopt::routing_id, routing_id);
    thief.socket().disconnect(d.ipc());
    thief.socket().set(zmq::sockopt::rcvtimeo, 200);
    thief.socket().connect(d.ipc());
    thief.send(make_frame(
        Header{kProtocolVersion, FrameType::request, Direction::to_daemon, session, 5}, del));
    answer = thief.recv();
  }
  REQUIRE(answer);
  REQUIRE(RawClient::refusal(*answer));
  CHECK(RawClient::refusal(*answer)->first == "SessionError");
  CHECK(owner.dict("owned").get<std::string>("k") == "mine");
}
