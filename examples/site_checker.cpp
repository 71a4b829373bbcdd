// site_checker: a work queue, a done queue and STOP sentinels of another type than the items.
//
//   site_checker [--workers N]
//
// Shows: a queue holding items of different types. The work queue carries Site structs and, at
// the end, one string "STOP" per worker; a worker reads each item as a syncmgr::Value, compares it
// with the sentinel (`item == "STOP"`) and converts everything else with `item.as<Site>()`. Each
// worker answers on the done queue with Result structs and finally its own "STOP", so the parent
// collects results until it has heard every worker stop (Python's classic pattern).
//
// The "fetch" is simulated and deterministic (no network): a page's status comes from a fixed
// table of paths. Replace fetch() with an HTTP client to check real sites.
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "syncmgr/syncmgr.hpp"

struct Site {
  std::string url;
  int expected = 200;
  MSGPACK_DEFINE(url, expected)
};

struct Result {
  std::string url;
  int status = 0;
  bool ok = false;
  MSGPACK_DEFINE(url, status, ok)
};

// Deterministic stand-in for an HTTP GET (see the top comment).
int fetch(const std::string& url) {
  if (url.ends_with("/missing")) return 404;
  if (url.ends_with("/old")) return 301;
  if (url.ends_with("/broken")) return 500;
  return 200;
}

int main(int argc, char** argv) try {
  int workers = 3;
  if (argc == 3 && std::string(argv[1]) == "--workers") workers = std::max(1, std::atoi(argv[2]));
  const std::vector<Site> sites = {
      {"https://example.com/", 200},      {"https://example.com/missing", 404},
      {"https://example.org/old", 200},   {"https://example.net/broken", 200},
      {"https://example.org/about", 200}, {"https://example.com/old", 301},
  };

  auto mgr = syncmgr::Manager::start();
  auto work = mgr.Queue("work");
  auto done = mgr.Queue("done");
  for (const auto& s : sites)
    work.put(s);
  for (int w = 0; w < workers; ++w)
    work.put("STOP");

  std::fflush(stdout);
  std::vector<pid_t> pids;
  for (int w = 0; w < workers; ++w) {
    if (pid_t pid = fork(); pid == 0) {
      for (syncmgr::Value item = work.get(); item != "STOP"; item = work.get()) {
        auto site = item.as<Site>();
        int status = fetch(site.url);
        done.put(Result{site.url, status, status == site.expected});
      }
      done.put("STOP");
      mgr.close();
      _exit(0);
    } else {
      pids.push_back(pid);
    }
  }

  std::vector<Result> results;
  for (int stopped = 0; stopped < workers;) {
    syncmgr::Value item = done.get();
    if (item == "STOP")
      ++stopped;
    else
      results.push_back(syncmgr::value_cast<Result>(item));
  }
  for (pid_t pid : pids)
    waitpid(pid, nullptr, 0);

  std::sort(results.begin(), results.end(),
            [](const Result& a, const Result& b) { return a.url < b.url; });
  int failing = 0;
  for (const auto& r : results) {
    std::printf("%-32s %d %s\n", r.url.c_str(), r.status, r.ok ? "ok" : "UNEXPECTED");
    failing += !r.ok;
  }
  std::printf("%zu sites checked, %d unexpected, %d workers stopped\n", results.size(), failing,
              workers);
  return 0;
} catch (const syncmgr::Error& e) {  // no daemon to start, or it went away
  std::fprintf(stderr, "%s: %s\n", argv[0], e.what());
  return 1;
}
