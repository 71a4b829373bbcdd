// Test support: a real syncmgrd process on free tcp and ipc endpoints with a fresh key, and helpers
// to run code in real child processes.
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "syncmgr/syncmgr.hpp"

namespace testsupport {

/// A fresh temporary directory, removed with its contents on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

/// Writes a new random 64-hex-digit key file with mode 0600 and returns its path.
std::string write_key_file(const TempDir& dir, const std::string& name = "authkey");

class Daemon {
 public:
  /// Starts syncmgrd bound to tcp://127.0.0.1:*, an ipc socket and a unix:// socket in a temp dir,
  /// with a fresh key.
  /// `extra` flags are appended. Throws std::runtime_error if it is not ready within 10 s.
  /// `open_files` (soft, hard), when not 0: the daemon's RLIMIT_NOFILE from its start.
  explicit Daemon(std::vector<std::string> extra = {},
                  std::pair<unsigned long, unsigned long> open_files = {0, 0});
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  const std::string& tcp() const { return tcp_; }
  const std::string& ipc() const { return ipc_; }
  const std::string& unix_socket() const { return unix_; }
  const std::string& key_file() const { return key_file_; }
  pid_t pid() const { return pid_; }
  /// The daemon's stderr so far.
  std::string log() const;
  /// The daemon's resident memory now, in bytes (VmRSS).
  std::size_t rss() const;

  syncmgr::Options options(const std::string& endpoint) const;
  syncmgr::Options options() const { return options(tcp_); }

  /// SIGTERM and wait; returns the exit status (as from waitpid), or -1 if it had to be killed.
  int stop();
  /// SIGKILLs the daemon (no clean shutdown: sessions and objects are lost).
  void kill_now();
  /// Starts it again on the same endpoints and key (after kill_now or stop).
  void restart();
  /// Waits up to `timeout` for the process to exit by itself; returns its status or -1.
  int wait_exit(std::chrono::milliseconds timeout);
  /// True while the process has not exited.
  bool running();

 private:
  void start(const std::vector<std::string>& binds);

  TempDir dir_;
  std::vector<std::string> extra_;
  std::pair<unsigned long, unsigned long> open_files_;
  std::string key_file_;
  std::string tcp_;
  std::string ipc_;
  std::string unix_;
  pid_t pid_ = -1;
};

/// One counter of server.stats (e.g. "refused_connections").
std::uint64_t stat(syncmgr::Manager& m, const std::string& name);
/// Waits until server.stats' counter `name` is at least n; throws std::runtime_error after 10 s.
void wait_stat(syncmgr::Manager& m, const std::string& name, std::uint64_t n);

/// Waits until the daemon reports at least n parked calls (server.stats "parked_calls"): tests of
/// blocking calls wait on this instead of sleeping. Throws std::runtime_error after 10 s.
void wait_parked(syncmgr::Manager& m, std::uint64_t n);

/// Waits until the daemon has at most n sessions (a dead client's session expired, a closed one
/// ended): tests of what a session's end releases wait on this. Throws after 10 s.
void wait_sessions(syncmgr::Manager& m, std::uint64_t n);

/// Seconds elapsed since t0 (for "a wait of t returns no earlier than t" checks).
inline double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

/// Path of a built binary (syncmgrd, syncmgr, demo), from the SYNCMGR_BUILD_DIR environment.
std::string binary(const std::string& name);

/// Runs `fn` in a fork()ed child; returns immediately with the child's pid.
pid_t spawn(const std::function<int()>& fn);
/// Waits for a child and returns its exit code (or 128 + signal).
int join(pid_t pid);
/// Runs `fn` in a child and waits: its exit code.
inline int in_child(const std::function<int()>& fn) {
  return join(spawn(fn));
}

/// Runs a command line through /bin/sh, capturing stdout and stderr; returns the exit code.
int run_command(const std::string& cmd, std::string* out, std::string* err = nullptr);

}  // namespace testsupport
