// shared_namespace: a Namespace updated by many processes, on one host or on several.
//
//   shared_namespace [--workers N] [--increments M]          one host: a private daemon
//   shared_namespace --connect --host NAME [--workers N] [--increments M]
//   shared_namespace --connect --show [--expect TOTAL]
//
// Shows: atomic updates of shared attributes. In Python, `ns.hits += 1` is a get followed by a set,
// and two processes doing it at once lose updates; `ns.increment("hits")` is one operation on the
// daemon, so no update is lost however many processes (or hosts) run.
//
// Alone it starts a private daemon (Manager::start()). With --connect it joins the daemon named by
// SYNCMGR_ENDPOINT and SYNCMGR_AUTHKEY_FILE, so the same program runs on several hosts against one
// daemon (examples/multihost/run.sh): each host runs --host, then one runs --show to print the
// namespace and, with --expect, exit 1 unless `hits` reached TOTAL.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "syncmgr/syncmgr.hpp"

namespace {

// Each worker adds `increments` to the shared total, counts its host's share, and records the
// largest total it saw: a compare-and-set loop, the general form of an atomic read-modify-write.
void work(syncmgr::NamespaceProxy ns, const std::string& host, int increments) {
  for (int i = 0; i < increments; ++i) {
    std::int64_t now = ns.increment("hits");
    ns.increment("hits." + host);
    for (auto seen = ns.get<std::int64_t>("max_seen", 0); now > seen;
         seen = ns.get<std::int64_t>("max_seen", 0))
      if (ns.compare_and_set("max_seen", seen, now)) break;
  }
  ns.increment<double>("worker_seconds", 0.5);  // floats too: read them as double
}

int run_workers(syncmgr::Manager& mgr, const std::string& host, int workers, int increments) {
  auto ns = mgr.Namespace("counters");
  ns.set_if_absent("started_by", host);  // only the first process to get here sets it
  ns.set_if_absent("max_seen", 0);       // compare_and_set needs a value to compare with
  std::fflush(stdout);
  std::vector<pid_t> pids;
  for (int w = 0; w < workers; ++w) {
    if (pid_t pid = fork(); pid == 0) {
      work(ns, host, increments);
      mgr.close();
      _exit(0);
    } else {
      pids.push_back(pid);
    }
  }
  int failed = 0;
  for (pid_t pid : pids) {
    int status = 0;
    waitpid(pid, &status, 0);
    failed += !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  return failed;
}

int show(syncmgr::Manager& mgr, std::optional<std::int64_t> expect) {
  auto ns = mgr.Namespace("counters");
  for (const auto& [name, value] : ns.snapshot())  // every attribute, read at one instant
    std::cout << name << " = " << value << '\n';
  if (!expect) return 0;
  auto hits = ns.get<std::int64_t>("hits", 0);
  std::cout << (hits == *expect ? "no update lost" : "UPDATES LOST") << '\n';
  return hits == *expect ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  int workers = 4;
  int increments = 250;
  bool connect = false;
  bool show_only = false;
  std::string host = "local";
  std::optional<std::int64_t> expect;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    bool has_value = i + 1 < argc;
    if (a == "--workers" && has_value) {
      workers = std::atoi(argv[++i]);
    } else if (a == "--increments" && has_value) {
      increments = std::atoi(argv[++i]);
    } else if (a == "--host" && has_value) {
      host = argv[++i];
    } else if (a == "--expect" && has_value) {
      expect = std::atoll(argv[++i]);
    } else if (a == "--connect") {
      connect = true;
    } else if (a == "--show") {
      show_only = true;
    } else {
      std::fprintf(stderr, "usage: see the top of examples/shared_namespace.cpp\n");
      return 2;
    }
  }
  try {
    if (connect) {
      syncmgr::Manager mgr;  // SYNCMGR_ENDPOINT, SYNCMGR_AUTHKEY_FILE
      return show_only ? show(mgr, expect) : (run_workers(mgr, host, workers, increments) != 0);
    }
    auto mgr = syncmgr::Manager::start();
    if (run_workers(mgr, host, workers, increments) != 0) return 1;
    return show(mgr, std::int64_t{workers} * increments);
  } catch (const syncmgr::Error& e) {
    std::fprintf(stderr, "shared_namespace: %s\n", e.what());
    return 1;
  }
}
