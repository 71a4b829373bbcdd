// demo: several worker processes share a Namespace and a dict through syncmgrd.
//
//   demo [--workers N] [--tasks M]      (endpoint and key from SYNCMGR_ENDPOINT /
//   SYNCMGR_AUTHKEY_FILE)
//
// The parent publishes the job in a Namespace, forks N workers, and each worker claims task numbers
// with an atomic increment, writes each task's result into a shared dict and counts its work in the
// Namespace. The parent then reads everything back and checks that every task ran exactly once.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "syncmgr/syncmgr.hpp"

namespace {

int worker(int id, syncmgr::NamespaceProxy& status, syncmgr::DictProxy& results) {
  // Proxies inherited across fork() keep working: the child opens its own session on first use.
  auto tasks = status.get<std::int64_t>("tasks");
  int done = 0;
  for (;;) {
    std::int64_t task = status.increment("next_task") - 1;  // atomic: no two workers get the same
    if (task >= tasks) break;
    results.set(task, task * task);
    status.increment<std::int64_t>("worker." + std::to_string(id));
    ++done;
  }
  std::printf("worker %d (pid %d): %d tasks\n", id, getpid(), done);
  std::fflush(stdout);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  int workers = 4;
  int tasks = 200;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--workers")
      workers = std::atoi(argv[i + 1]);
    else if (a == "--tasks")
      tasks = std::atoi(argv[i + 1]);
  }
  try {
    syncmgr::Manager mgr;  // endpoint and key from the environment
    auto status = mgr.Namespace("demo.status");
    auto results = mgr.dict("demo.results");
    status.set("tasks", tasks);
    status.set("next_task", 0);
    results.clear();

    std::vector<pid_t> pids;
    for (int w = 0; w < workers; ++w) {
      pid_t pid = fork();
      if (pid == 0) std::_Exit(worker(w, status, results));
      pids.push_back(pid);
    }
    int failed = 0;
    for (pid_t pid : pids) {
      int st = 0;
      waitpid(pid, &st, 0);
      failed += !(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }

    std::size_t n = results.len();
    bool all_right = n == static_cast<std::size_t>(tasks);
    for (std::int64_t t = 0; t < tasks && all_right; ++t)
      all_right = results.get<std::int64_t>(t, -1) == t * t;
    std::int64_t total = 0;
    for (const auto& [name, v] : status.snapshot())
      if (name.rfind("worker.", 0) == 0) total += v.as_int();
    std::printf(
        "%zu results in dict '%s'; workers report %lld tasks; %s\n", n, results.name().c_str(),
        static_cast<long long>(total),
        all_right && total == tasks && failed == 0 ? "every task ran exactly once" : "MISMATCH");
    return all_right && total == tasks && failed == 0 ? 0 : 1;
  } catch (const syncmgr::Error& e) {
    std::fprintf(stderr, "demo: %s\n", e.what());
    return 1;
  }
}
