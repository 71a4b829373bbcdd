// Manager::start(): a private syncmgrd for one process tree, as Python's Manager() starts a server
// process.
//
// The daemon is spawned with its key on an inherited pipe (never in argv, the environment or a
// file), a unix:// socket in a new 0700 directory, and --owner-pid so that it exits once this
// process is gone, however it ended. It removes its directory at exit; the owning Manager stops it
// (and waits) when destroyed. A fork()ed child's copy of the Manager never stops it: only the
// process that started it does.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "protocol/mac.hpp"
#include "syncmgr/errors.hpp"
#include "syncmgr/manager.hpp"

extern char** environ;

namespace syncmgr {
namespace detail {

struct OwnedDaemon {
  pid_t pid = -1;
  pid_t owner = -1;  // the process that started it: the only one that stops it
  std::string dir;

  /// Stops the daemon (SIGTERM, then SIGKILL after 5 s) and waits for it; removes what is left.
  void stop() {
    if (pid <= 0 || ::getpid() != owner) return;
    ::kill(pid, SIGTERM);
    wait_exit(std::chrono::seconds(5));
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      wait_exit(std::chrono::seconds(5));
    }
    ::unlink((dir + "/sock").c_str());
    ::unlink((dir + "/ready").c_str());
    ::rmdir(dir.c_str());
  }
  /// Waits for the daemon to exit by itself (after server.shutdown), up to `limit`.
  void wait_exit(std::chrono::milliseconds limit) {
    auto until = std::chrono::steady_clock::now() + limit;
    while (pid > 0) {
      pid_t r = ::waitpid(pid, nullptr, WNOHANG);
      if (r == pid || (r < 0 && errno == ECHILD)) {
        pid = -1;
        return;
      }
      if (std::chrono::steady_clock::now() >= until) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  ~OwnedDaemon() { stop(); }
};

}  // namespace detail

namespace {

std::string daemon_path(const StartOptions& o) {
  if (!o.daemon.empty()) return o.daemon;
  const char* env = std::getenv("SYNCMGR_DAEMON");
  if (env != nullptr && *env != '\0') return env;
#ifdef SYNCMGR_INSTALLED_DAEMON
  if (::access(SYNCMGR_INSTALLED_DAEMON, X_OK) == 0) return SYNCMGR_INSTALLED_DAEMON;
#endif
  return "syncmgrd";  // from PATH
}

std::string fresh_key() {
  unsigned char raw[32];
  protocol::random_bytes(raw, sizeof raw);
  static const char hex[] = "0123456789abcdef";
  std::string key;
  for (unsigned char c : raw) {
    key.push_back(hex[c >> 4]);
    key.push_back(hex[c & 15]);
  }
  return key;
}

[[noreturn]] void fail(const std::string& what) {
  throw ConnectionError("Manager::start: " + what);
}

}  // namespace

Manager Manager::start(StartOptions options) {
  const char* runtime = std::getenv("XDG_RUNTIME_DIR");
  std::string dir =
      std::string(runtime != nullptr && *runtime != '\0' ? runtime : "/tmp") + "/syncmgr-XXXXXX";
  if (::mkdtemp(dir.data()) == nullptr)  // mode 0700
    fail("cannot create a private directory: " + std::string(std::strerror(errno)));
  auto owned = std::make_shared<detail::OwnedDaemon>();
  owned->owner = ::getpid();
  owned->dir = dir;

  int key_pipe[2];
  if (::pipe2(key_pipe, O_CLOEXEC) != 0) {
    ::rmdir(dir.c_str());
    fail("pipe: " + std::string(std::strerror(errno)));
  }
  std::string path = daemon_path(options);
  std::string timeout = std::to_string(static_cast<double>(options.session_timeout.count()) / 1000);
  std::vector<std::string> args = {path,
                                   "--bind",
                                   "unix://" + dir + "/sock",
                                   "--authkey-fd",
                                   "3",
                                   "--ready-file",
                                   dir + "/ready",
                                   "--owner-pid",
                                   std::to_string(::getpid()),
                                   "--runtime-dir",
                                   dir,
                                   "--session-timeout",
                                   timeout,
                                   "--log-level",
                                   "warn"};
  std::vector<char*> argv;
  for (auto& a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, key_pipe[0], 3);  // dup2 clears close-on-exec
  pid_t pid = -1;
  int rc = ::posix_spawnp(&pid, path.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(key_pipe[0]);
  if (rc != 0) {
    ::close(key_pipe[1]);
    ::rmdir(dir.c_str());
    fail("cannot run " + path + ": " + std::strerror(rc) +
         " (set StartOptions::daemon or $SYNCMGR_DAEMON to syncmgrd's path)");
  }
  owned->pid = pid;
  std::string key = fresh_key();
  std::string line = key + "\n";
  bool written =
      ::write(key_pipe[1], line.data(), line.size()) == static_cast<ssize_t>(line.size());
  ::close(key_pipe[1]);
  if (!written) fail("cannot hand the key to the daemon");

  auto until = std::chrono::steady_clock::now() + options.start_timeout;
  std::string ready = dir + "/ready";
  while (::access(ready.c_str(), F_OK) != 0) {
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      owned->pid = -1;
      ::rmdir(dir.c_str());
      fail(path + " exited at start (status " + std::to_string(status) + ")");
    }
    if (std::chrono::steady_clock::now() >= until)
      fail(path + " was not ready within " + std::to_string(options.start_timeout.count()) +
           " ms");  // `owned` stops it
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  Options o;
  o.endpoint = "unix://" + dir + "/sock";
  o.authkey = key;
  Manager m(o);
  m.owned_ = std::move(owned);
  return m;
}

void Manager::export_environment() const {
  const Options& o = client_->options();
  ::setenv("SYNCMGR_ENDPOINT", o.endpoint.c_str(), 1);
  ::setenv("SYNCMGR_AUTHKEY", client_->authkey().c_str(), 1);
  ::unsetenv("SYNCMGR_AUTHKEY_FILE");  // it would take precedence
}

void Manager::shutdown() {
  call<syncmgr::Value>("server.shutdown", "");
  if (owned_) owned_->wait_exit(std::chrono::seconds(10));
}

}  // namespace syncmgr
