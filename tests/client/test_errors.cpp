// Errors a user can cause or meet: unknown objects and methods, wrong arity, wrong keys, a daemon
// that stops answering. Each must be a clear exception, and the daemon must keep serving.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "support/daemon.hpp"
#include "syncmgr/syncmgr.hpp"

using namespace syncmgr;
using testsupport::Daemon;

namespace {
template <class E, class F>
std::string message_of(F&& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  }
  return "<no exception>";
}
}  // namespace

TEST_CASE("errors: unknown object, unknown method, wrong arity, wrong argument type") {
  Daemon d;
  Manager m(d.options());
  m.dict("cfg");
  auto msg = message_of<NameError>([&] { m.call("dict.get", "nosuch", 1); });
  CHECK(msg.find("nosuch") != std::string::npos);
  msg = message_of<AttributeError>([&] { m.call("dict.frobnicate", "cfg", 1); });
  CHECK(msg.find("dict.frobnicate") != std::string::npos);
  msg = message_of<TypeError>([&] { m.call("dict.get", "cfg", 1, 2, 3); });
  CHECK(msg.find("dict.get takes 1 to 2 arguments (3 given)") != std::string::npos);
  msg = message_of<TypeError>([&] { m.call("list.append", "cfg", 1); });
  CHECK(msg.find("'cfg' is a dict, not a list") != std::string::npos);
  m.list("l");
  msg = message_of<TypeError>([&] { m.call("list.get", "l", std::string("zero")); });
  CHECK(msg.find("int") != std::string::npos);
  msg = message_of<ValueError>(
      [&] { m.call("server.open", "", std::string("hashmap"), std::string("x")); });
  CHECK(msg.find("hashmap") != std::string::npos);
  // After all of that the connection and the daemon still work.
  m.ping();
  CHECK(m.dict("cfg").len() == 0);
}

TEST_CASE("errors: a wrong key is rejected and the daemon keeps serving others") {
  Daemon d;
  Manager good(d.options());
  good.Namespace("ns").set("x", 1);
  testsupport::TempDir dir;
  auto opts = d.options();
  opts.authkey_file = testsupport::write_key_file(dir, "wrong");
  auto msg = message_of<AuthenticationError>([&] { Manager bad(opts); });
  // The daemon proves itself first; the client sees the proof fail and never sends its own.
  CHECK(msg.find("key") != std::string::npos);
  CHECK(good.Namespace("ns").get<int>("x") == 1);
  Manager again(d.options());
  again.ping();
}

TEST_CASE("errors: clients with another key show on the daemon as abandoned handshakes") {
  // Found by review: 8 tries with a wrong key left no trace (auth_failures 0, no log line), since
  // the client rightly stops at the daemon's proof. Over ipc and unix the challenge is where it
  // stops; over tcp CurveZMQ refuses it earlier (refused_connections).
  Daemon d;
  Manager good(d.options(d.unix_socket()));
  testsupport::TempDir dir;
  std::string wrong = testsupport::write_key_file(dir, "wrong");
  for (const auto& ep : {d.ipc(), d.unix_socket(), d.ipc()}) {
    auto opts = d.options(ep);
    opts.authkey_file = wrong;
    opts.connect_timeout = std::chrono::seconds(2);
    CHECK_THROWS_AS(Manager{opts}, AuthenticationError);
  }
  testsupport::wait_stat(good, "abandoned_handshakes", 3);
  CHECK(d.log().find("handshake abandoned after the challenge") != std::string::npos);
}

TEST_CASE("errors: key files that are missing, short or readable by others are refused") {
  testsupport::TempDir dir;
  Options o;
  o.endpoint = "tcp://127.0.0.1:1";
  o.authkey_file = dir.file("absent");
  CHECK_THROWS_AS(Manager{o}, AuthenticationError);
  o.authkey = "too short";
  CHECK_THROWS_AS(Manager{o}, Error);
}

TEST_CASE("errors: a daemon that does not answer gives ConnectionError, never a hang") {
  Options o;
  o.endpoint = "tcp://127.0.0.1:1";
  o.authkey = std::string(32, 'k');
  o.connect_timeout = std::chrono::milliseconds(300);
  auto t0 = std::chrono::steady_clock::now();
  CHECK_THROWS_AS(Manager{o}, ConnectionError);
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(5));
}

TEST_CASE("errors: a failed connect says the daemon may not be running, on every transport") {
  // Nothing listens at any of these: the message must point at the likely cause, not only
  // report a timeout (issue 13).
  for (std::string ep : {"tcp://127.0.0.1:1", "ipc:///tmp/syncmgr-test-no-such-daemon.ipc",
                         "unix:///tmp/syncmgr-test-no-such-daemon.sock"}) {
    CAPTURE(ep);
    Options o;
    o.endpoint = ep;
    o.authkey = std::string(32, 'k');
    o.connect_timeout = std::chrono::milliseconds(300);
    std::string what;
    try {
      Manager m{o};
    } catch (const ConnectionError& e) {
      what = e.what();
    }
    CHECK(what.find("could not connect to syncmgrd at " + ep) != std::string::npos);
    CHECK(what.find("is the daemon running, and is this its endpoint?") != std::string::npos);
  }
}

TEST_CASE("errors: a call past its deadline throws, and the connection stays in sync") {
  Daemon d;
  auto opts = d.options();
  opts.timeout = std::chrono::milliseconds(300);
  Manager m(opts);
  auto ns = m.Namespace("sync");
  ns.set("v", 1);
  kill(d.pid(), SIGSTOP);  // the daemon stops answering
  auto t0 = std::chrono::steady_clock::now();
  CHECK_THROWS_AS(ns.set("v", 2), ConnectionError);
  auto waited = std::chrono::steady_clock::now() - t0;
  CHECK(waited >= std::chrono::milliseconds(300));
  CHECK(waited < std::chrono::seconds(5));
  kill(d.pid(), SIGCONT);
  // The late reply to the abandoned call must not be taken as this call's reply.
  CHECK(ns.get<int>("v") == 2);  // the queued set did run once the daemon resumed
  CHECK(ns.increment("v") == 3);
}

TEST_CASE("errors: a process out of descriptors gets ConnectionError, not a key error") {
  // Found by CI under ASan: the 40-Managers test's process ran out of descriptors while opening
  // the key file, and the error said AuthenticationError ("cannot read key file"), which a user
  // reads as "wrong key" and does not retry.
  Daemon d;
  int code = testsupport::in_child([&] {
    rlimit lim{64, 64};
    if (setrlimit(RLIMIT_NOFILE, &lim) != 0) return 2;
    while (::open("/dev/null", O_RDONLY | O_CLOEXEC) >= 0) {
    }
    try {
      Manager m(d.options(d.ipc()));
      return 3;
    } catch (const ConnectionError&) {
      return 0;
    } catch (const AuthenticationError& e) {
      std::fprintf(stderr, "AuthenticationError: %s\n", e.what());
      return 4;
    }
  });
  CHECK(code == 0);
}

TEST_CASE("errors: 40 Managers in a process with 256 open files work, then more fail cleanly") {
  // Found by review: each Manager had its own ZeroMQ context (about 8 descriptors and 3 threads);
  // with RLIMIT_NOFILE 256 a process aborted inside libzmq ("Too many open files") at its ~32nd
  // Manager instead of getting an error.
  Daemon d;
  int code = testsupport::in_child([&] {
    rlimit lim{256, 256};
    if (setrlimit(RLIMIT_NOFILE, &lim) != 0) return 2;
    // 40: well past the ~32 at which a context per Manager ran out (the child also inherits the
    // test process's open files, which count against the 256).
    std::vector<std::unique_ptr<Manager>> managers;
    try {
      for (int i = 0; i < 40; ++i) {
        managers.push_back(std::make_unique<Manager>(d.options(i % 2 ? d.ipc() : d.tcp())));
        managers.back()->dict("many").set(i, i);
      }
    } catch (const Error& e) {
      std::fprintf(stderr, "Manager %zu: %s\n", managers.size(), e.what());
      return 5;
    }
    // Past the limit: an exception, never an abort.
    try {
      for (int i = 0; i < 400; ++i)
        managers.push_back(std::make_unique<Manager>(d.options(d.ipc())));
      return 3;  // the limit must have been reached
    } catch (const ConnectionError&) {
    }
    managers.resize(40);
    return managers[39]->dict("many").len() == 40 ? 0 : 4;
  });
  CHECK(code == 0);
}
