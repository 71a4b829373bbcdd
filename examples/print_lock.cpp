// print_lock: a Lock around printing, so lines from many processes never interleave.
//
//   print_lock [--workers N] [--lines L]
//
// Shows: a shared Lock used with std::scoped_lock (LockProxy is Lockable) across processes. Each
// worker writes every line in several pieces, flushing after each, as a program printing a value
// at a time does; without the lock, pieces from different processes would mix within a line. The
// lock's owner is the process (its session), so if a worker died holding it, the daemon would
// release it when the worker's session ended.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <mutex>
#include <string>
#include <vector>

#include "syncmgr/syncmgr.hpp"

int main(int argc, char** argv) {
  int workers = 4;
  int lines = 5;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--workers") workers = std::atoi(argv[i + 1]);
    if (a == "--lines") lines = std::atoi(argv[i + 1]);
  }
  auto mgr = syncmgr::Manager::start();
  auto print_lock = mgr.Lock("stdout");

  std::cout << std::flush;
  std::vector<pid_t> pids;
  for (int w = 0; w < workers; ++w) {
    if (pid_t pid = fork(); pid == 0) {
      for (int line = 0; line < lines; ++line) {
        std::scoped_lock hold(print_lock);  // held until the line is complete
        std::cout << "worker " << w << std::flush << " (pid " << getpid() << ")" << std::flush
                  << " line " << line << std::flush << " of " << lines << '\n'
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
}
