// worker_pool: N worker processes take host names from a queue and report results.
//
//   worker_pool [--workers N] HOST...      (default hosts: a built-in list)
//
// Shows: Manager::start() (a private daemon, no setup), fork()ed workers using the parent's
// proxies as they are, a work Queue closed with one None (nullptr) sentinel per worker, and a
// result Queue of structs read back with get<T>().
//
// The "ping" is simulated, deterministically and without touching the network: a host answers
// unless its name ends in ".invalid" (a top-level domain reserved never to resolve, RFC 2606), and
// its round-trip time is derived from a hash of its name. Swap in a real probe to make it useful.
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "syncmgr/syncmgr.hpp"

struct PingResult {
  std::string host;
  bool up = false;
  double rtt_ms = 0;
  int worker = 0;
  MSGPACK_DEFINE(host, up, rtt_ms, worker)
};

// Deterministic stand-in for a ping (see the top comment).
PingResult fake_ping(const std::string& host, int worker) {
  std::uint32_t h = 2166136261u;  // FNV-1a
  for (unsigned char c : host)
    h = (h ^ c) * 16777619u;
  bool up = !host.ends_with(".invalid");
  return {host, up, up ? 1.0 + (h % 900) / 10.0 : 0.0, worker};
}

int main(int argc, char** argv) try {
  int workers = 4;
  std::vector<std::string> hosts;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--workers" && i + 1 < argc)
      workers = std::max(1, std::atoi(argv[++i]));
    else
      hosts.push_back(a);
  }
  if (hosts.empty())
    hosts = {"alpha.example", "bravo.example", "charlie.example", "delta.invalid",  "echo.example",
             "foxtrot.test",  "golf.invalid",  "hotel.example",   "india.localhost"};

  auto mgr = syncmgr::Manager::start();
  auto todo = mgr.Queue("hosts");
  auto results = mgr.Queue("results");
  for (const auto& h : hosts)
    todo.put(h);
  for (int w = 0; w < workers; ++w)
    todo.put(nullptr);  // one stop sentinel per worker, as Python's None

  std::cout.flush();  // nothing buffered may be duplicated into the children
  std::vector<pid_t> pids;
  for (int w = 0; w < workers; ++w) {
    if (pid_t pid = fork(); pid == 0) {
      for (;;) {
        syncmgr::Value item = todo.get();  // parked on the daemon until an item comes
        if (item.is_nil()) break;
        results.put(fake_ping(item.as<std::string>(), w));
      }
      mgr.close();  // end this child's session now: _exit runs no destructors
      _exit(0);
    } else {
      pids.push_back(pid);
    }
  }

  std::vector<PingResult> report;
  for (std::size_t i = 0; i < hosts.size(); ++i)
    report.push_back(results.get<PingResult>());
  for (pid_t pid : pids)
    waitpid(pid, nullptr, 0);

  std::sort(report.begin(), report.end(),
            [](const auto& a, const auto& b) { return a.host < b.host; });
  std::vector<int> per_worker(workers);
  for (const auto& r : report) {
    ++per_worker[r.worker];
    if (r.up)
      std::printf("%-16s up    %5.1f ms\n", r.host.c_str(), r.rtt_ms);
    else
      std::printf("%-16s down\n", r.host.c_str());
  }
  int busy = static_cast<int>(
      std::count_if(per_worker.begin(), per_worker.end(), [](int n) { return n > 0; }));
  std::printf("%zu hosts checked by %d workers (%d of them got work)\n", report.size(), workers,
              busy);
  return 0;
} catch (const syncmgr::Error& e) {  // no daemon to start, or it went away
  std::fprintf(stderr, "%s: %s\n", argv[0], e.what());
  return 1;
}
