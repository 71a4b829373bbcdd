// Many real client processes at once: atomicity across processes, and clients dying mid-call.
#include <doctest/doctest.h>

#include <signal.h>

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
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
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
