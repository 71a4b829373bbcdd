// What the syncmgr command-line client's files share: usage errors, JSON output, the flags that
// commands read, and the commands kept in files of their own (cli_inspect.cpp).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "syncmgr/syncmgr.hpp"

namespace syncmgr::tools::cli {

/// Thrown for bad usage; main() reports it and exits 2 after the Manager (if any) has closed its
/// session cleanly.
struct UsageError {
  std::string message;
};

[[noreturn]] inline void usage_error(const std::string& msg) {
  throw UsageError{msg};
}

/// The flags that commands read, beyond the connection's.
struct Flags {
  bool json = false;
  /// put/get on a queue: how long to wait for room or an item (0: do not wait).
  double wait = 0;
  /// inspect and watch NAME: how many items or entries to list.
  long limit = 10;
  /// watch: refreshes before exiting (0: until Ctrl-C), and seconds between them.
  long count = 0;
  double interval = 1;
};

/// Prints `v` as one line of JSON.
void print(const Value& v);
/// The field `key` of a map, or nullptr (not a map, or no such key).
const Value* field(const Value& map, std::string_view key);

// Commands (cli_inspect.cpp). Each prints to stdout and returns the exit status.
int inspect(syncmgr::Manager& m, const std::string& name, const Flags& f);
int sessions(syncmgr::Manager& m, const Flags& f);
/// Blocks SIGINT and SIGTERM in this thread and the threads it starts after (the client
/// library's): watch takes them between refreshes (sigtimedwait), so Ctrl-C never interrupts a
/// call and the session closes cleanly. Call before the Manager is made.
void block_stop_signals();
/// Refreshes every f.interval seconds until Ctrl-C (SIGINT or SIGTERM) or f.count refreshes.
int watch(syncmgr::Manager& m, const std::string& endpoint, const std::vector<std::string>& args,
          const Flags& f);

}  // namespace syncmgr::tools::cli
