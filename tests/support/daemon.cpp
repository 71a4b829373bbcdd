// Test support implementation: spawning syncmgrd and child processes.
#include "support/daemon.hpp"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "protocol/mac.hpp"

namespace testsupport {

TempDir::TempDir() {
  char tmpl[] = "/tmp/syncmgr-test-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::string cmd = "rm -rf '" + path_ + "'";
  if (std::system(cmd.c_str()) != 0) std::fprintf(stderr, "could not remove %s\n", path_.c_str());
}

std::string write_key_file(const TempDir& dir, const std::string& name) {
  unsigned char raw[32];
  syncmgr::protocol::random_bytes(raw, sizeof raw);
  std::string text;
  char buf[3];
  for (unsigned char c : raw) {
    std::snprintf(buf, sizeof buf, "%02x", c);
    text += buf;
  }
  text += "\n";
  std::string path = dir.file(name);
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0 || ::write(fd, text.data(), text.size()) != static_cast<ssize_t>(text.size()))
    throw std::runtime_error("cannot write key file");
  ::close(fd);
  return path;
}

std::uint64_t stat(syncmgr::Manager& m, const std::string& name) {
  syncmgr::Value stats = m.stats();  // kept alive: as_map() refers into it
  for (const auto& [k, v] : stats.as_map())
    if (k == syncmgr::Value(name)) return v.as_uint();
  throw std::runtime_error("server.stats has no '" + name + "'");
}

void wait_stat(syncmgr::Manager& m, const std::string& name, std::uint64_t n) {
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < until) {
    if (stat(m, name) >= n) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  throw std::runtime_error("the daemon's " + name + " never reached " + std::to_string(n));
}

void wait_parked(syncmgr::Manager& m, std::uint64_t n) {
  wait_stat(m, "parked_calls", n);
}

void wait_sessions(syncmgr::Manager& m, std::uint64_t n) {
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < until) {
    syncmgr::Value stats = m.stats();  // kept alive: as_map() refers into it
    for (const auto& [k, v] : stats.as_map())
      if (k == syncmgr::Value("sessions") && v.as_uint() <= n) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  throw std::runtime_error("the daemon never got down to " + std::to_string(n) + " sessions");
}

std::string binary(const std::string& name) {
  const char* dir = std::getenv("SYNCMGR_BUILD_DIR");
  return std::string(dir != nullptr ? dir : ".") + "/" + name;
}

Daemon::Daemon(std::vector<std::string> extra, std::pair<unsigned long, unsigned long> open_files)
    : extra_(std::move(extra)), open_files_(open_files) {
  key_file_ = write_key_file(dir_);
  start({"tcp://127.0.0.1:*", "ipc://" + dir_.file("sock"), "unix://" + dir_.file("usock")});
}

void Daemon::start(const std::vector<std::string>& binds) {
  std::string ready = dir_.file("ready");
  std::string log = dir_.file("daemon.log");
  std::remove(ready.c_str());
  tcp_.clear();
  ipc_.clear();
  unix_.clear();
  std::vector<std::string> args = {binary("syncmgrd"), "--authkey-file", key_file_, "--ready-file",
                                   ready};
  for (const auto& b : binds) {
    args.push_back("--bind");
    args.push_back(b);
  }
  args.insert(args.end(), extra_.begin(), extra_.end());
  pid_ = fork();
  if (pid_ == 0) {
    int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    dup2(fd, 2);
    if (open_files_.first != 0) {
      rlimit lim{open_files_.first, open_files_.second};
      if (setrlimit(RLIMIT_NOFILE, &lim) != 0) std::_Exit(126);
    }
    std::vector<char*> argv;
    for (auto& a : args)
      argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    std::_Exit(127);
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    std::ifstream in(ready);
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind("tcp://", 0) == 0) tcp_ = line;
      if (line.rfind("ipc://", 0) == 0) ipc_ = line;
      if (line.rfind("unix://", 0) == 0) unix_ = line;
    }
    if (!tcp_.empty() && !ipc_.empty() && !unix_.empty()) return;
    int st;
    if (waitpid(pid_, &st, WNOHANG) == pid_) {
      pid_ = -1;
      throw std::runtime_error("syncmgrd exited at start: " + this->log());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  stop();
  throw std::runtime_error("syncmgrd not ready within 10 s");
}

std::size_t Daemon::rss() const {
  std::ifstream in("/proc/" + std::to_string(pid_) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stoul(line.substr(6)) * 1024;
  throw std::runtime_error("no VmRSS for the daemon (pid " + std::to_string(pid_) + ")");
}

void Daemon::kill_now() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

void Daemon::restart() {
  stop();
  std::string tcp = tcp_, ipc = ipc_, unix_socket = unix_;
  // The same port: a restarted daemon must be found where its clients reconnect.
  for (int attempt = 0;; ++attempt) {
    try {
      start({tcp, ipc, unix_socket});
      return;
    } catch (const std::exception&) {
      if (attempt == 50) throw;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
}

Daemon::~Daemon() {
  int st = stop();
  // Sanitizer reports from the daemon land in its log; surface them where the test run shows them.
  std::string text = log();
  if (text.find("Sanitizer") != std::string::npos ||
      text.find("runtime error:") != std::string::npos ||
      !(st == -1 || (WIFEXITED(st) && WEXITSTATUS(st) == 0)))
    std::fprintf(stderr, "syncmgrd (status %d) log:\n%s\n", st, text.c_str());
}

bool Daemon::running() {
  if (pid_ <= 0) return false;
  int st;
  if (waitpid(pid_, &st, WNOHANG) == pid_) {
    pid_ = -1;
    return false;
  }
  return true;
}

std::string Daemon::log() const {
  std::ifstream in(dir_.file("daemon.log"));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

syncmgr::Options Daemon::options(const std::string& endpoint) const {
  syncmgr::Options o;
  o.endpoint = endpoint;
  o.authkey_file = key_file_;
  o.timeout = std::chrono::seconds(20);
  return o;
}

int Daemon::wait_exit(std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return -1;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    int st;
    if (waitpid(pid_, &st, WNOHANG) == pid_) {
      pid_ = -1;
      return st;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return -1;
}

int Daemon::stop() {
  if (pid_ <= 0) return -1;
  kill(pid_, SIGCONT);
  kill(pid_, SIGTERM);
  int st = wait_exit(std::chrono::seconds(10));
  if (st == -1 && pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  return st;
}

pid_t spawn(const std::function<int()>& fn) {
  std::fflush(nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    int code = 1;
    try {
      code = fn();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "child %d: %s\n", getpid(), e.what());
      code = 100;
    }
    std::fflush(nullptr);
    std::_Exit(code);  // no atexit handlers: the parent's doctest state must not run here
  }
  return pid;
}

int join(pid_t pid) {
  int st = 0;
  if (waitpid(pid, &st, 0) != pid) return -1;
  if (WIFEXITED(st)) return WEXITSTATUS(st);
  if (WIFSIGNALED(st)) return 128 + WTERMSIG(st);
  return -1;
}

int run_command(const std::string& cmd, std::string* out, std::string* err) {
  TempDir dir;
  std::string full = cmd + " >" + dir.file("out") + " 2>" + dir.file("err");
  int st = std::system(full.c_str());
  auto slurp = [](const std::string& p) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  };
  if (out != nullptr) *out = slurp(dir.file("out"));
  if (err != nullptr) *err = slurp(dir.file("err"));
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

}  // namespace testsupport
