// print_lock: a Lock around printing, so lines from many processes never interleave.
//
//   print_lock [--workers N] [--lines L]
//
// Shows: a shared Lock used with std::scoped_lock (LockProxy is Lockable) across processes. The
// workers start together (a Barrier) and each line is written in pieces, flushed one at a time,
// with a call to the daemon in the middle (taking a ticket number from a shared counter), as a
// program printing values as it fetches them does. Without the lock, pieces from different
// processes would mix within a line; with it, lines come out whole and their tickets in order.
// The lock's owner is the process (its session): had a worker died holding it, the daemon would
// release it when the worker's session ended.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <string>
#include <vector>

#include "syncmgr/syncmgr.hpp"

int main(int argc, char** argv) try {
  int workers = 4;
  int lines = 5;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--workers") workers = std::atoi(argv[i + 1]);
    if (a == "--lines") lines = std::atoi(argv[i + 1]);
  }
  auto mgr = syncmgr::Manager::start();
  auto print_lock = mgr.Lock("stdout");
  auto tickets = mgr.Namespace("tickets");
  auto start = mgr.Barrier("start", workers);

  std::cout << std::flush;
  std::vector<pid_t> pids;
  for (int w = 0; w < workers; ++w) {
    if (pid_t pid = fork(); pid == 0) {
      start.wait();  // everyone prints at once
      for (int line = 0; line < lines; ++line) {
        std::scoped_lock hold(print_lock);  // held until the line is complete
        std::cout << "worker " << w << " (pid " << getpid() << ")" << std::flush;
        auto ticket = tickets.increment("issued");  // a round trip with half a line written
        std::cout << " ticket " << ticket << std::flush << " line " << line << " of " << lines
                  << '\n'
                  << std::flush;
      }
      mgr.close();
      _exit(0);
    } else {
      pids.push_back(pid);
    }
  }
  for (pid_t pid : pids)
    waitpid(pid, nullptr, 0);
  std::cout << workers * lines << " lines printed by " << workers << " processes\n";
  return 0;
} catch (const syncmgr::Error& e) {  // no daemon to start, or it went away
  std::fprintf(stderr, "%s: %s\n", argv[0], e.what());
  return 1;
}
