// Many real client processes at once: atomicity across processes, and clients dying mid-call.
#include <doctest/doctest.h>

#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <optional>

#include <thread>
#include <vector>

#include "support/daemon.hpp"
#include "syncmgr/syncmgr.hpp"

using namespace syncmgr;
using testsupport::Daemon;

TEST_CASE("processes: 8 processes x 1000 atomic increments end at exactly 8000") {
  Daemon d;
  Manager m(d.options());
  auto ns = m.Namespace("counter");
  ns.set("n", 0);
  std::vector<pid_t> pids;
  for (int p = 0; p < 8; ++p) {
    const std::string ep = p % 2 == 0 ? d.tcp() : d.ipc();  // both transports at once
    pids.push_back(testsupport::spawn([&d, ep] {
      Manager child(d.options(ep));
      auto cns = child.Namespace("counter");
      for (int i = 0; i < 1000; ++i)
        cns.increment("n");
      return 0;
    }));
  }
  for (pid_t pid : pids)
    CHECK(testsupport::join(pid) == 0);
  CHECK(ns.get<std::int64_t>("n") == 8000);
}

TEST_CASE("processes: a proxy inherited across fork() works in the child") {
  Daemon d;
  Manager m(d.options());
  auto dict = m.dict("forked");
  dict.set("parent", 1);
  int rc = testsupport::in_child([&] {
    dict.set("child", dict.get<int>("parent") + 1);  // no new Manager: the child reconnects itself
    return 0;
  });
  CHECK(rc == 0);
  CHECK(dict.get<int>("child") == 2);
  dict.set("after", 3);  // the parent's own connection is untouched
  CHECK(dict.len() == 3);
}

TEST_CASE("processes: clients killed mid-call do not disturb the daemon") {
  Daemon d;
  Manager m(d.options());
  m.list("big");
  std::vector<pid_t> pids;
  for (int p = 0; p < 4; ++p) {
    pids.push_back(testsupport::spawn([&d] {
      Manager child(d.options());
      auto l = child.list("big");
      std::vector<std::string> chunk(100, std::string(1000, 'x'));
      for (;;) {
        l.extend(chunk);
        if (l.len() > 2000) l.del_slice({0, 1000, std::nullopt});
      }
      return 0;
    }));
  }
  // Killed while they write: once their writes are arriving (connecting takes a while on a
  // loaded machine), a little later.
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (m.list("big").len() == 0 && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  for (pid_t pid : pids)
    kill(pid, SIGKILL);
  for (pid_t pid : pids)
    CHECK(testsupport::join(pid) == 128 + SIGKILL);
  m.ping();
  auto l = m.list("big");
  CHECK(l.len() > 0);
  l.clear();
  CHECK(l.len() == 0);
  CHECK(d.running());
}

TEST_CASE("processes: a fork()ed child holds the temporary objects it inherited proxies to") {
  // Found by review: the child's proxy of a temporary object did not hold it, so the object was
  // freed under the child as soon as the parent dropped its proxy (Python increfs in the child).
  Daemon d;
  Manager m(d.options(d.ipc()));
  std::optional<DictProxy> tmp = m.dict();
  tmp->set("k", 1);
  int pipe_fds[2];
  REQUIRE(::pipe(pipe_fds) == 0);
  pid_t child = testsupport::spawn([&] {
    ::close(pipe_fds[1]);
    int v = tmp->get<int>("k");  // first use in the child: its own session, and its own hold
    char go;
    if (::read(pipe_fds[0], &go, 1) != 1) return 2;  // the parent has dropped its proxy
    try {
      return tmp->get<int>("k") == v && v == 1 ? 0 : 3;
    } catch (const Error& e) {
      std::fprintf(stderr, "child: %s\n", e.what());
      return 4;
    }
  });
  ::close(pipe_fds[0]);
  testsupport::wait_stat(m, "sessions", 2);  // the child has connected
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  tmp.reset();  // the parent lets go
  m.ping();     // its release has reached the daemon
  REQUIRE(::write(pipe_fds[1], "g", 1) == 1);
  ::close(pipe_fds[1]);
  CHECK(testsupport::join(child) == 0);
}

TEST_CASE("processes: two proxies of one temporary object: dropping one keeps the object") {
  Daemon d;
  Manager m(d.options(d.ipc()));
  auto a = m.dict();
  a.set("k", 1);
  {
    auto b = m.dict(a.name());  // a second proxy of the same temporary, in the same session
    CHECK(b.get<int>("k") == 1);
  }
  m.ping();
  CHECK(a.get<int>("k") == 1);  // still there: the session still holds it through `a`
}
