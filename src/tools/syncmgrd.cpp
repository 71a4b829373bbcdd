// syncmgrd: the syncmgr daemon. Parses flags, loads or generates the key, binds, and runs the loop
// until SIGINT/SIGTERM or a server.shutdown request.
#include <malloc.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "protocol/authkey.hpp"
#include "protocol/wire.hpp"
#include "server/log.hpp"
#include "server/server.hpp"

namespace {

const char* kUsage =
    "usage: syncmgrd [options]\n"
    "\n"
    "Hosts named shared objects (Namespace, dict, list, Queue, Lock, ...) for syncmgr clients.\n"
    "\n"
    "  --bind ENDPOINT         listen on ENDPOINT (repeatable): unix:///path (the fastest on one\n"
    "                          host), tcp://HOST:PORT, tcp://HOST:* (any free port),\n"
    "                          ipc:///path (ZeroMQ). Default tcp://127.0.0.1:50000.\n"
    "                          tcp is encrypted (CURVE, keys derived from the shared key); an\n"
    "                          unix or ipc socket is created 0600 and admits this user's "
    "processes\n"
    "                          All interfaces only when asked: --bind tcp://0.0.0.0:50000\n"
    "  --authkey-file FILE     shared key (>= 32 bytes; must not be group/world accessible).\n"
    "                          Default: $SYNCMGR_AUTHKEY_FILE, else a new key is generated into a\n"
    "                          fresh 0600 file whose path is logged,\n"
    "                          removed when the daemon exits\n"
    "  --max-message-size N    largest accepted message in bytes; K, M, G suffixes (default 64M)\n"
    "  --session-timeout SECS  a client silent this long is dropped and its holdings released\n"
    "                          (default 10)\n"
    "  --require-frame-macs    MAC every frame after the handshake too (by default a client may\n"
    "                          ask to skip them: its session is bound to its connection, an ipc\n"
    "                          socket of this user or a CURVE-encrypted tcp connection)\n"
    "  --socket-mode MODE      mode of unix and ipc socket files, octal (default 0600); with "
    "group\n"
    "                          access, the group's processes are admitted too (unix://)\n"
    "  --ready-file FILE       once listening, write the bound endpoints there, one per line\n"
    "  --authkey-fd N          read the key from inherited descriptor N (to its end) instead of\n"
    "                          a file (used by Manager::start())\n"
    "  --owner-pid PID         exit when process PID, this daemon's parent, is gone (even\n"
    "                          SIGKILLed)\n"
    "  --runtime-dir DIR       at exit, remove this daemon's ipc sockets and ready file in DIR,\n"
    "                          then DIR itself if empty\n"
    "  --log-level LEVEL       error, warn, info (default) or debug\n"
    "  --help                  show this help\n"
    "  --version               show the version\n";

[[noreturn]] void die(const std::string& msg, int code = 2) {
  std::fprintf(stderr, "syncmgrd: %s\n", msg.c_str());
  std::exit(code);
}

std::size_t parse_size(const std::string& text) {
  char* end = nullptr;
  errno = 0;
  unsigned long long n = std::strtoull(text.c_str(), &end, 10);
  if (errno != 0 || end == text.c_str() || text[0] == '-') die("invalid size '" + text + "'");
  std::string suffix(end);
  if (suffix == "K" || suffix == "k")
    n <<= 10;
  else if (suffix == "M" || suffix == "m")
    n <<= 20;
  else if (suffix == "G" || suffix == "g")
    n <<= 30;
  else if (!suffix.empty())
    die("invalid size '" + text + "' (use a number with K, M or G)");
  if (n < 1024 || n > (1ull << 32)) die("--max-message-size must be between 1K and 4G");
  return static_cast<std::size_t>(n);
}

int parse_fd(const std::string& text) {
  char* end = nullptr;
  long fd = std::strtol(text.c_str(), &end, 10);
  if (end == text.c_str() || *end != '\0' || fd < 0 || fd > 1 << 20)
    die("invalid file descriptor '" + text + "'");
  return static_cast<int>(fd);
}

// The key from an inherited descriptor (a pipe from Manager::start()): it never touches argv or a
// file. Read to its end, less one trailing newline, then closed.
std::string read_key_fd(int fd) {
  std::string key;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) die(std::string("cannot read the key from descriptor: ") + std::strerror(errno));
    if (n == 0) break;
    key.append(buf, static_cast<std::size_t>(n));
    if (key.size() > 65536) die("the key on the descriptor is larger than 64 KiB");
  }
  ::close(fd);
  if (!key.empty() && key.back() == '\n') key.pop_back();
  if (key.size() < syncmgr::protocol::kMinKeySize)
    die("the key on the descriptor is " + std::to_string(key.size()) +
        " bytes; at least 32 are required");
  return key;
}

}  // namespace

// Large values: by default glibc hands freed memory above 128 KiB back to the kernel after every
// message, so the next one page-faults on each 4 KiB it touches; with 1 MiB values that halved
// the daemon's throughput (bench/). Keep it instead, unless the environment says otherwise.
static void tune_allocator() {
  if (std::getenv("MALLOC_MMAP_THRESHOLD_") == nullptr) mallopt(M_MMAP_THRESHOLD, 32 << 20);
  if (std::getenv("MALLOC_TRIM_THRESHOLD_") == nullptr) mallopt(M_TRIM_THRESHOLD, 32 << 20);
  if (std::getenv("MALLOC_TOP_PAD_") == nullptr) mallopt(M_TOP_PAD, 4 << 20);
}

// Every client holds a connection (a file descriptor); systemd's default soft limit of 1,024 would
// let one host's worth of idle connections lock everyone else out. Take what the hard limit allows
// and say what the ceiling is.
static void raise_open_file_limit() {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0) return;
  rlim_t before = lim.rlim_cur;
  if (lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &lim) != 0) lim.rlim_cur = before;
  }
  if (lim.rlim_cur == before)
    SYNCMGR_LOG(info, "open-file limit %llu (about as many connections)",
                static_cast<unsigned long long>(lim.rlim_cur));
  else
    SYNCMGR_LOG(info, "open-file limit raised from %llu to %llu (about as many connections)",
                static_cast<unsigned long long>(before),
                static_cast<unsigned long long>(lim.rlim_cur));
}

int main(int argc, char** argv) {
  using namespace syncmgr;
  tune_allocator();
  server::ServerOptions opts;
  std::string key_file;
  bool generated_key = false;  // ours to remove at exit
  std::string ready_file;
  std::string runtime_dir;  // removed at exit, with the files this daemon made in it
  int key_fd = -1;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      auto eq = a.find('=');
      if (eq != std::string::npos) return a.substr(eq + 1);
      if (i + 1 >= argc) die("option " + a + " needs a value");
      return argv[++i];
    };
    std::string flag = a.substr(0, a.find('='));
    if (flag == "--help" || flag == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (flag == "--version") {
      std::printf("syncmgrd %s (protocol %d)\n", SYNCMGR_VERSION, 1);
      return 0;
    } else if (flag == "--bind") {
      opts.binds.push_back(value());
    } else if (flag == "--authkey-file") {
      key_file = value();
    } else if (flag == "--authkey-fd") {
      key_fd = parse_fd(value());
    } else if (flag == "--owner-pid") {
      std::string v = value();
      char* end = nullptr;
      long pid = std::strtol(v.c_str(), &end, 10);
      if (end == v.c_str() || *end != '\0' || pid <= 1) die("--owner-pid must be a process id");
      opts.owner_pid = static_cast<pid_t>(pid);
    } else if (flag == "--runtime-dir") {
      runtime_dir = value();
    } else if (flag == "--max-message-size") {
      opts.max_message_size = parse_size(value());
    } else if (flag == "--session-timeout") {
      std::string v = value();
      char* end = nullptr;
      double secs = std::strtod(v.c_str(), &end);
      if (end == v.c_str() || *end != '\0' || !(secs >= 0.05 && secs <= 86400))
        die("--session-timeout must be a number of seconds between 0.05 and 86400");
      opts.session_timeout = std::chrono::milliseconds(static_cast<long long>(secs * 1000));
    } else if (flag == "--require-frame-macs") {
      opts.require_frame_macs = true;
    } else if (flag == "--socket-mode") {
      std::string v = value();
      char* end = nullptr;
      long mode = std::strtol(v.c_str(), &end, 8);
      if (end == v.c_str() || *end != '\0' || mode < 0 || mode > 0777 || (mode & 0600) != 0600)
        die("--socket-mode must be an octal mode between 0600 and 0777 (the owner keeps rw)");
      opts.socket_mode = static_cast<mode_t>(mode);
    } else if (flag == "--ready-file") {
      ready_file = value();
    } else if (flag == "--log-level") {
      std::string v = value();
      server::LogLevel level;
      if (!server::parse_log_level(v.c_str(), level))
        die("--log-level must be error, warn, info or debug");
      server::set_log_level(level);
    } else {
      // Only the flag's name: its value may be a secret (--authkey=...).
      die("unknown option '" + flag + "' (see --help)");
    }
  }
  if (opts.binds.empty()) opts.binds.push_back("tcp://127.0.0.1:50000");

  try {
    if (key_fd >= 0) {
      opts.authkey = read_key_fd(key_fd);
      key_file = "(from a file descriptor)";
    } else {
      if (key_file.empty()) {
        const char* env = std::getenv("SYNCMGR_AUTHKEY_FILE");
        if (env != nullptr && *env != '\0') key_file = env;
      }
      if (key_file.empty()) {
        key_file = protocol::generate_authkey_file();
        generated_key = true;
        SYNCMGR_LOG(info, "no key given: generated a new key in %s (mode 0600); give it to clients",
                    key_file.c_str());
      }
      opts.authkey = protocol::read_authkey_file(key_file);
    }
  } catch (const std::exception& e) {
    die(e.what());
  }
  // What this daemon leaves behind at exit: nothing (a Manager::start() daemon's private
  // directory included, even when its owner was SIGKILLed).
  auto clean_up = [&] {
    if (generated_key) ::unlink(key_file.c_str());
    if (runtime_dir.empty()) return;
    if (!ready_file.empty()) ::unlink(ready_file.c_str());
    for (const auto& ep : opts.binds) {
      if (ep.rfind("ipc://", 0) == 0) ::unlink(ep.c_str() + 6);
      if (ep.rfind("unix://", 0) == 0) ::unlink(ep.c_str() + 7);
    }
    ::rmdir(runtime_dir.c_str());  // only if empty: never more than this daemon's own files
  };

  // Signals are taken through a signalfd polled by the loop, so no thread is ever interrupted;
  // block them before the ZeroMQ context starts its threads, which then inherit the mask.
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &mask, nullptr);
  signal(SIGPIPE, SIG_IGN);
  int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
  if (sfd < 0) die(std::string("signalfd: ") + std::strerror(errno), 1);

  try {
    server::Server srv(opts);
    raise_open_file_limit();
    if (!ready_file.empty()) {
      std::string tmp = ready_file + ".tmp";
      {
        std::ofstream out(tmp);
        for (const auto& ep : srv.endpoints())
          out << ep << "\n";
        if (!out) die("cannot write " + tmp, 1);
      }
      if (std::rename(tmp.c_str(), ready_file.c_str()) != 0) die("cannot write " + ready_file, 1);
    }
    SYNCMGR_LOG(info, "syncmgrd %s ready (pid %d, key file %s)", SYNCMGR_VERSION, getpid(),
                key_file.c_str());
    srv.run(sfd);
  } catch (const std::exception& e) {
    clean_up();
    die(e.what(), 1);
  }
  clean_up();
  close(sfd);
  return 0;
}
