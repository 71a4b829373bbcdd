// The real `syncmgr` and `syncmgrd` binaries, run as processes against a real daemon: exit codes,
// output and error messages.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "support/daemon.hpp"
#include "tools/cli_support.hpp"
#include "tools/json.hpp"

using syncmgr::Value;
using testsupport::binary;
using testsupport::Daemon;
using testsupport::run_command;
using testsupport::TempDir;
using namespace clitest;

namespace {

// syncmgr ARGS... (no endpoint or key given unless in ARGS)
Result cli_raw(std::initializer_list<std::string> args) {
  return sh(std::string(kLimit) + quote(binary("syncmgr")) + join_quoted(args));
}

// syncmgrd ARGS... with SYNCMGR_AUTHKEY_FILE unset.
Result daemon_raw(std::initializer_list<std::string> args) {
  return sh(std::string(kLimit) + "env -u SYNCMGR_AUTHKEY_FILE " + quote(binary("syncmgrd")) +
            join_quoted(args));
}

std::size_t count_lines(const std::string& s) {
  std::size_t n = 0;
  for (char c : s)
    n += c == '\n';
  if (!s.empty() && s.back() != '\n') ++n;
  return n;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_file(const std::string& path, const std::string& text, mode_t mode) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  REQUIRE(fd >= 0);
  REQUIRE(::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()));
  ::close(fd);
  REQUIRE(::chmod(path.c_str(), mode) == 0);
}

// A process started with fork/exec; SIGKILLed and reaped on destruction if still running.
class Child {
 public:
  Child(std::vector<std::string> argv, std::vector<std::string> env,
        const std::string& stderr_path) {
    std::vector<char*> args;
    for (auto& a : argv)
      args.push_back(a.data());
    args.push_back(nullptr);
    std::vector<char*> envp;
    for (auto& e : env)
      envp.push_back(e.data());
    envp.push_back(nullptr);
    std::fflush(nullptr);
    pid_ = fork();
    if (pid_ == 0) {
      int fd = ::open(stderr_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      if (fd >= 0) ::dup2(fd, 2);
      int null = ::open("/dev/null", O_RDWR);
      if (null >= 0) {
        ::dup2(null, 0);
        ::dup2(null, 1);
      }
      ::execve(args[0], args.data(), envp.data());
      std::_Exit(127);
    }
  }
  ~Child() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  pid_t pid() const { return pid_; }
  bool exited() {
    if (pid_ <= 0) return true;
    if (::waitpid(pid_, &status_, WNOHANG) == pid_) pid_ = -1;
    return pid_ <= 0;
  }
  /// Waits up to `timeout` for the process to exit; its waitpid status, or -1 if still running.
  int wait(std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!exited()) {
      if (std::chrono::steady_clock::now() >= deadline) return -1;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return status_;
  }

 private:
  pid_t pid_ = -1;
  int status_ = -1;
};

bool exited_cleanly(int status) {
  return status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

}  // namespace

TEST_CASE("cli: ping answers and exits 0") {
  Daemon d;
  Result r = cli(d, {"ping"});
  INFO("stderr: " << r.err);
  CHECK(r.code == 0);
  CHECK(r.out.find("pong") != std::string::npos);
  CHECK(r.err.empty());

  // It names the endpoint actually pinged, not $SYNCMGR_ENDPOINT when --connect overrides it.
  Result named = sh(std::string(kLimit) + "env SYNCMGR_ENDPOINT=tcp://127.0.0.1:1 " +
                    quote(binary("syncmgr")) + " --connect " + quote(d.tcp()) + " --authkey-file " +
                    quote(d.key_file()) + " ping");
  CHECK(named.code == 0);
  CHECK(named.out.find(d.tcp()) != std::string::npos);
  CHECK(named.out.find("127.0.0.1:1 ") == std::string::npos);

  // Endpoint and key from the environment.
  Result env =
      sh(std::string(kLimit) + "env SYNCMGR_ENDPOINT=" + quote(d.ipc()) +
         " SYNCMGR_AUTHKEY_FILE=" + quote(d.key_file()) + " " + quote(binary("syncmgr")) + " ping");
  INFO("stderr: " << env.err);
  CHECK(env.code == 0);
  CHECK(env.out.find(d.ipc()) != std::string::npos);

  Result json = cli(d, {"--json", "ping"});
  CHECK(json.code == 0);
  Value v = parse(json.out);
  REQUIRE(field(v, "ok") != nullptr);
  CHECK(field(v, "ok")->as_bool());
  REQUIRE(field(v, "rtt_ms") != nullptr);
  CHECK(field(v, "rtt_ms")->as_double() >= 0.0);
}

TEST_CASE("cli: get and set on a dict, a Namespace and a list") {
  Daemon d;
  syncmgr::Manager m(d.options());
  auto cfg = m.dict("cfg");
  auto ns = m.Namespace("ns");
  auto l = m.list("l");
  l.append(1);
  l.append("two");
  l.append(3.5);

  SUBCASE("dict") {
    Result set = cli(d, {"set", "cfg", "port", "8080"});
    INFO("stderr: " << set.err);
    CHECK(set.code == 0);
    CHECK(set.out.empty());
    CHECK(cfg.get<std::int64_t>("port") == 8080);  // stored as an integer, not a string

    Result get = cli(d, {"get", "cfg", "port"});
    CHECK(get.code == 0);
    CHECK(trim(get.out) == "8080");

    // A JSON string value with a space, and a bare word taken as a string.
    CHECK(cli(d, {"set", "cfg", "name", "\"x y\""}).code == 0);
    CHECK(cfg.get<std::string>("name") == "x y");
    CHECK(cli(d, {"set", "cfg", "mode", "fast"}).code == 0);
    CHECK(cfg.get<std::string>("mode") == "fast");
    // A structured value.
    CHECK(cli(d, {"set", "cfg", "hosts", "[\"a\", \"b\"]"}).code == 0);
    CHECK(cfg.get<std::vector<std::string>>("hosts") == std::vector<std::string>{"a", "b"});

    Result all = cli(d, {"--json", "get", "cfg"});
    INFO("stdout: " << all.out);
    CHECK(all.code == 0);
    CHECK(all.out.find("\"name\"") != std::string::npos);
    Value v = parse(all.out);
    REQUIRE(v.kind() == Value::Kind::map);
    REQUIRE(field(v, "name") != nullptr);
    CHECK(field(v, "name")->as_string() == "x y");
    REQUIRE(field(v, "port") != nullptr);
    CHECK(field(v, "port")->as_int() == 8080);
    REQUIRE(field(v, "hosts") != nullptr);
    CHECK(field(v, "hosts")->as_list().size() == 2);

    // --json after the command works as well.
    Result late = cli(d, {"get", "cfg", "name", "--json"});
    INFO("stderr: " << late.err);
    CHECK(late.code == 0);
    CHECK(trim(late.out) == "\"x y\"");

    // The printed value of one key is JSON too.
    CHECK(trim(cli(d, {"get", "cfg", "name"}).out) == "\"x y\"");

    // set --json acknowledges with {"ok": true}.
    Result ack = cli(d, {"--json", "set", "cfg", "port", "9090"});
    CHECK(ack.code == 0);
    CHECK(field(parse(ack.out), "ok") != nullptr);
    CHECK(cfg.get<std::int64_t>("port") == 9090);
  }

  SUBCASE("dict with bytes and non-string keys") {
    cfg.set("blob", syncmgr::Bytes{"ab"});
    Result blob = cli(d, {"get", "cfg", "blob"});
    CHECK(blob.code == 0);
    CHECK(trim(blob.out) == R"({"$bin": "YWI="})");

    cfg.set(7, "seven");
    Result seven = cli(d, {"get", "cfg", "7"});  // a JSON key: the integer 7
    CHECK(seven.code == 0);
    CHECK(trim(seven.out) == "\"seven\"");
    Result all = cli(d, {"get", "cfg"});
    CHECK(all.code == 0);
    CHECK(trim(all.out) == R"({"$map": [["blob", {"$bin": "YWI="}], [7, "seven"]]})");
  }

  SUBCASE("namespace") {
    Result set = cli(d, {"set", "ns", "attr", "12"});
    INFO("stderr: " << set.err);
    CHECK(set.code == 0);
    CHECK(ns.get<std::int64_t>("attr") == 12);
    Result get = cli(d, {"get", "ns", "attr"});
    CHECK(get.code == 0);
    CHECK(trim(get.out) == "12");

    // Namespace attributes are names: "7" is the attribute "7", not an integer key.
    CHECK(cli(d, {"set", "ns", "7", "true"}).code == 0);
    CHECK(ns.get<bool>("7") == true);

    Result all = cli(d, {"get", "ns"});
    CHECK(all.code == 0);
    Value v = parse(all.out);
    REQUIRE(field(v, "attr") != nullptr);
    CHECK(field(v, "attr")->as_int() == 12);
    REQUIRE(field(v, "7") != nullptr);
    CHECK(field(v, "7")->as_bool());
  }

  SUBCASE("list") {
    Result set = cli(d, {"set", "l", "0", "5"});
    INFO("stderr: " << set.err);
    CHECK(set.code == 0);
    CHECK(l.get<std::int64_t>(0) == 5);

    Result last = cli(d, {"get", "l", "-1"});
    CHECK(last.code == 0);
    CHECK(trim(last.out) == "3.5");
    CHECK(trim(cli(d, {"get", "l", "1"}).out) == "\"two\"");

    Result all = cli(d, {"get", "l"});
    CHECK(all.code == 0);
    CHECK(trim(all.out) == R"([5, "two", 3.5])");

    Result del = cli(d, {"del", "l", "1"});
    CHECK(del.code == 0);
    CHECK(l.len() == 2);

    Result out_of_range = cli(d, {"get", "l", "10"});
    CHECK(out_of_range.code == 1);
    CHECK(out_of_range.err.find("IndexError") != std::string::npos);

    // A list index must be an integer: a usage error.
    Result not_int = cli(d, {"get", "l", "x"});
    CHECK(not_int.code == 2);
    CHECK(not_int.err.find("integer") != std::string::npos);
  }
}

TEST_CASE("cli: errors from the daemon exit 1 with the error's name") {
  Daemon d;
  syncmgr::Manager m(d.options());
  auto cfg = m.dict("cfg");
  auto ns = m.Namespace("ns");
  cfg.set("port", 8080);

  Result missing = cli(d, {"get", "cfg", "missing"});
  CHECK(missing.code == 1);
  CHECK(missing.out.empty());
  CHECK(missing.err.find("KeyError") != std::string::npos);

  Result nosuch = cli(d, {"get", "nosuch"});
  CHECK(nosuch.code == 1);
  CHECK(nosuch.err.find("NameError") != std::string::npos);
  CHECK(nosuch.err.find("nosuch") != std::string::npos);

  CHECK(cli(d, {"set", "nosuch", "k", "1"}).code == 1);
  CHECK(cli(d, {"del", "nosuch", "k"}).code == 1);

  Result del = cli(d, {"del", "cfg", "port"});
  INFO("stderr: " << del.err);
  CHECK(del.code == 0);
  CHECK_FALSE(cfg.contains("port"));
  Result after = cli(d, {"get", "cfg", "port"});
  CHECK(after.code == 1);
  CHECK(after.err.find("KeyError") != std::string::npos);
  // Deleting it again is a KeyError too.
  CHECK(cli(d, {"del", "cfg", "port"}).code == 1);

  Result attr = cli(d, {"get", "ns", "nope"});
  CHECK(attr.code == 1);
  CHECK(attr.err.find("Error") != std::string::npos);
}

TEST_CASE("cli: ls and stats") {
  Daemon d;
  syncmgr::Manager m(d.options());
  auto cfg = m.dict("cfg");
  cfg.set("a", 1);
  cfg.set("b", 2);
  auto ns = m.Namespace("ns");
  auto l = m.list("l");
  l.append(1);

  Result ls = cli(d, {"ls"});
  INFO("stdout: " << ls.out << "stderr: " << ls.err);
  CHECK(ls.code == 0);
  bool found = false;
  std::istringstream lines(ls.out);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream words(line);
    std::string name, type, size;
    words >> name >> type >> size;
    if (name == "cfg") {
      found = true;
      CHECK(type == "dict");
      CHECK(size == "2");
    }
    if (name == "ns") CHECK(type == "namespace");
    if (name == "l") CHECK(type == "list");
  }
  CHECK(found);

  Result json = cli(d, {"--json", "ls"});
  CHECK(json.code == 0);
  Value v = parse(json.out);
  REQUIRE(v.kind() == Value::Kind::array);
  std::vector<std::string> names;
  for (const auto& o : v.as_list()) {
    REQUIRE(field(o, "name") != nullptr);
    names.push_back(field(o, "name")->as_string());
    if (names.back() == "cfg") {
      REQUIRE(field(o, "type") != nullptr);
      CHECK(field(o, "type")->as_string() == "dict");
      REQUIRE(field(o, "size") != nullptr);
      CHECK(field(o, "size")->as_int() == 2);
    }
  }
  CHECK(names == std::vector<std::string>{"cfg", "l", "ns"});  // sorted by name

  Result stats = cli(d, {"stats", "--json"});
  INFO("stats stderr: " << stats.err);
  CHECK(stats.code == 0);
  Value s = parse(stats.out);
  REQUIRE(field(s, "sessions") != nullptr);
  CHECK(field(s, "sessions")->as_int() >= 1);
  REQUIRE(field(s, "objects") != nullptr);
  CHECK(field(s, "objects")->as_int() == 3);

  Result stats_first = cli(d, {"--json", "stats"});
  CHECK(stats_first.code == 0);
  CHECK(field(parse(stats_first.out), "objects") != nullptr);

  Result text = cli(d, {"stats"});
  CHECK(text.code == 0);
  CHECK(text.out.find("sessions") != std::string::npos);
  CHECK(text.out.find("objects") != std::string::npos);
}

TEST_CASE("cli: cannot connect or authenticate exits 3") {
  Daemon d;
  TempDir dir;
  std::string wrong = testsupport::write_key_file(dir, "wrong");

  Result auth = sh(std::string(kLimit) + quote(binary("syncmgr")) + " --connect " + quote(d.tcp()) +
                   " --authkey-file " + quote(wrong) + " --timeout 5 ping");
  CHECK(auth.code == 3);
  CHECK(auth.out.empty());
  CHECK(auth.err.find("AuthenticationError") != std::string::npos);

  // A key file that cannot be read is an authentication problem, not a crash.
  Result nokey = cli_raw({"--connect", d.tcp(), "--authkey-file", dir.file("absent"), "ping"});
  CHECK(nokey.code == 3);
  CHECK(nokey.err.find("AuthenticationError") != std::string::npos);
  CHECK(nokey.err.find(dir.file("absent")) != std::string::npos);

  auto t0 = std::chrono::steady_clock::now();
  Result unreachable = cli_raw({"--connect", "tcp://127.0.0.1:1", "--authkey-file", d.key_file(),
                                "--timeout", "0.5", "ping"});
  auto took = std::chrono::steady_clock::now() - t0;
  CHECK(unreachable.code == 3);
  CHECK(unreachable.err.find("ConnectionError") != std::string::npos);
  CHECK(took < std::chrono::seconds(10));  // --timeout is honoured
}

TEST_CASE("cli: bad usage exits 2") {
  Daemon d;

  Result none = cli(d, {});
  CHECK(none.code == 2);
  CHECK(none.err.find("no command") != std::string::npos);

  Result unknown = cli(d, {"frobnicate"});
  CHECK(unknown.code == 2);
  CHECK(unknown.err.find("frobnicate") != std::string::npos);

  Result option = cli(d, {"--frobnicate", "ping"});
  CHECK(option.code == 2);
  CHECK(option.err.find("--frobnicate") != std::string::npos);

  Result arity = cli(d, {"get"});
  CHECK(arity.code == 2);
  // `set NAME VALUE` is the form for a Value or Event; a dict needs a key too.
  syncmgr::Manager m(d.options());
  m.dict("cfg");
  Result no_key = cli(d, {"set", "cfg", "k"});
  CHECK(no_key.code == 2);
  CHECK(no_key.err.find("KEY VALUE") != std::string::npos);
  CHECK(cli(d, {"set", "cfg"}).code == 2);
  CHECK(cli(d, {"ping", "extra"}).code == 2);

  CHECK(cli(d, {"--timeout", "0", "ping"}).code == 2);
  CHECK(cli(d, {"--timeout", "soon", "ping"}).code == 2);
  CHECK(cli_raw({"ping", "--connect"}).code == 2);  // an option without its value

  // Usage is checked before connecting: no daemon is needed to be told the command is wrong.
  auto t0 = std::chrono::steady_clock::now();
  Result offline = cli_raw({"--connect", "tcp://127.0.0.1:1", "--authkey-file", d.key_file(),
                            "--timeout", "5", "frobnicate"});
  CHECK(offline.code == 2);
  CHECK(cli_raw({"--connect", "tcp://127.0.0.1:1", "--authkey-file", d.key_file(), "--timeout", "5",
                 "get"})
            .code == 2);
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(4));

  Result help = cli_raw({"--help"});
  CHECK(help.code == 0);
  CHECK(help.out.find("usage: syncmgr") != std::string::npos);
  Result version = cli_raw({"--version"});
  CHECK(version.code == 0);
  CHECK(version.out.rfind("syncmgr ", 0) == 0);
}

TEST_CASE("cli: shutdown stops the daemon") {
  Daemon d;
  Result r = cli(d, {"shutdown"});
  INFO("stderr: " << r.err);
  CHECK(r.code == 0);
  int st = d.wait_exit(std::chrono::seconds(10));
  CHECK(st != -1);
  CHECK(exited_cleanly(st));
  CHECK_FALSE(d.running());
}

TEST_CASE("syncmgrd flags: --help and --version") {
  Result help = daemon_raw({"--help"});
  CHECK(help.code == 0);
  CHECK(help.out.find("--bind") != std::string::npos);
  CHECK(help.out.find("--authkey-file") != std::string::npos);

  Result version = daemon_raw({"--version"});
  CHECK(version.code == 0);
  CHECK(version.out.rfind("syncmgrd ", 0) == 0);
}

TEST_CASE("syncmgrd flags: bad flags are refused with one line") {
  Result unknown = daemon_raw({"--frobnicate"});
  CHECK(unknown.code != 0);
  CHECK(unknown.code != 124);  // refused, not timed out
  CHECK(unknown.err.find("--frobnicate") != std::string::npos);
  CHECK(count_lines(unknown.err) == 1);

  Result missing_value = daemon_raw({"--bind"});
  CHECK(missing_value.code != 0);
  CHECK(missing_value.code != 124);
  CHECK(count_lines(missing_value.err) == 1);

  Result bad_size = daemon_raw({"--max-message-size", "lots"});
  CHECK(bad_size.code != 0);
  CHECK(bad_size.code != 124);
  CHECK(count_lines(bad_size.err) == 1);

  Result bad_level = daemon_raw({"--log-level", "loud"});
  CHECK(bad_level.code != 0);
  CHECK(bad_level.code != 124);
  CHECK(count_lines(bad_level.err) == 1);

  // A flag that is not one names itself, never its value: it may be a key typed by mistake.
  Result secret = daemon_raw({"--authkey=hunter2-very-secret-key-material-0123456789"});
  CHECK(secret.code != 0);
  CHECK(secret.err.find("--authkey") != std::string::npos);
  CHECK(secret.err.find("hunter2") == std::string::npos);
  Result cli_secret = cli_raw({"--authkey=hunter2-very-secret-key-material-0123456789", "ping"});
  CHECK(cli_secret.code == 2);
  CHECK(cli_secret.err.find("hunter2") == std::string::npos);
}

TEST_CASE("syncmgrd flags: an endpoint already bound is refused") {
  Daemon d;
  Result r = daemon_raw({"--bind", d.tcp(), "--authkey-file", d.key_file()});
  INFO("stderr: " << r.err);
  CHECK(r.code != 0);
  CHECK(r.code != 124);
  CHECK(r.err.find("cannot bind") != std::string::npos);
  CHECK(r.err.find(d.tcp()) != std::string::npos);
  CHECK(count_lines(r.err) == 1);

  // The running daemon is unaffected.
  syncmgr::Manager m(d.options());
  m.ping();
}

TEST_CASE("syncmgrd flags: key files are checked") {
  TempDir dir;

  Result absent =
      daemon_raw({"--bind", "tcp://127.0.0.1:*", "--authkey-file", dir.file("no-such-key")});
  INFO("absent: " << absent.err);
  CHECK(absent.code != 0);
  CHECK(absent.code != 124);
  CHECK(absent.err.find(dir.file("no-such-key")) != std::string::npos);
  CHECK(count_lines(absent.err) == 1);

  std::string open_key = testsupport::write_key_file(dir, "open-key");
  REQUIRE(::chmod(open_key.c_str(), 0644) == 0);
  Result open = daemon_raw({"--bind", "tcp://127.0.0.1:*", "--authkey-file", open_key});
  INFO("0644: " << open.err);
  CHECK(open.code != 0);
  CHECK(open.code != 124);
  CHECK(open.err.find(open_key) != std::string::npos);
  CHECK((open.err.find("chmod 600") != std::string::npos ||
         open.err.find("group or others") != std::string::npos));

  std::string short_key = dir.file("short-key");
  write_file(short_key, "0123456789abcdef0123456789abcde\n", 0600);  // 31 bytes of key
  Result too_short = daemon_raw({"--bind", "tcp://127.0.0.1:*", "--authkey-file", short_key});
  INFO("short: " << too_short.err);
  CHECK(too_short.code != 0);
  CHECK(too_short.code != 124);
  CHECK(too_short.err.find("32") != std::string::npos);

  // A FIFO where the key should be is refused at once (opening it used to wait for a writer).
  std::string fifo = dir.file("fifo-key");
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  Result from_fifo = daemon_raw({"--bind", "tcp://127.0.0.1:*", "--authkey-file", fifo});
  INFO("fifo: " << from_fifo.err);
  CHECK(from_fifo.code != 0);
  CHECK(from_fifo.code != 124);
  CHECK(from_fifo.err.find("not a regular file") != std::string::npos);

  // A key file owned by another user is not this user's key, even where it can be read.
  std::string foreign = testsupport::write_key_file(dir, "foreign-key");
  REQUIRE(::chown(foreign.c_str(), 65534, 65534) == 0);
  Result owned = daemon_raw({"--bind", "tcp://127.0.0.1:*", "--authkey-file", foreign});
  INFO("foreign: " << owned.err);
  CHECK(owned.code != 0);
  CHECK(owned.code != 124);
  CHECK(owned.err.find("owned by uid 65534") != std::string::npos);

  // The environment variable is honoured like the flag.
  Result env = sh(std::string(kLimit) + "env SYNCMGR_AUTHKEY_FILE=" + quote(open_key) + " " +
                  quote(binary("syncmgrd")) + " --bind 'tcp://127.0.0.1:*'");
  CHECK(env.code != 0);
  CHECK(env.code != 124);
  CHECK(env.err.find(open_key) != std::string::npos);
}

TEST_CASE("syncmgrd flags: without a key, a new key file is generated") {
  TempDir dir;
  std::string ready = dir.file("ready");
  std::string log = dir.file("daemon.log");

  // The test's environment, minus SYNCMGR_AUTHKEY_FILE, with XDG_RUNTIME_DIR pointed at `dir`.
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string var = *e;
    if (var.rfind("SYNCMGR_AUTHKEY_FILE=", 0) == 0 || var.rfind("XDG_RUNTIME_DIR=", 0) == 0)
      continue;
    env.push_back(var);
  }
  env.push_back("XDG_RUNTIME_DIR=" + dir.path());

  Child daemon({binary("syncmgrd"), "--bind", "tcp://127.0.0.1:*", "--ready-file", ready}, env,
               log);
  REQUIRE(daemon.pid() > 0);

  std::string endpoint;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (endpoint.empty() && std::chrono::steady_clock::now() < deadline) {
    std::istringstream lines(slurp(ready));
    for (std::string line; std::getline(lines, line);)
      if (line.rfind("tcp://", 0) == 0) endpoint = line;
    if (endpoint.empty()) {
      INFO("daemon log: " << slurp(log));
      REQUIRE_FALSE(daemon.exited());
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  std::string text = slurp(log);
  INFO("daemon log: " << text);
  REQUIRE_FALSE(endpoint.empty());

  // The log names the generated file, in $XDG_RUNTIME_DIR.
  auto at = text.find(dir.path() + "/");
  REQUIRE(at != std::string::npos);
  auto end = text.find_first_of(" \n", at);
  std::string key_path = text.substr(at, end - at);
  CHECK(std::filesystem::path(key_path).parent_path() == std::filesystem::path(dir.path()));
  CHECK(text.find("0600") != std::string::npos);

  struct stat st {};
  REQUIRE(::stat(key_path.c_str(), &st) == 0);
  CHECK(S_ISREG(st.st_mode));
  CHECK((st.st_mode & 0777) == 0600);
  CHECK(st.st_size >= 32);
  // Its name, listed in a shared directory and in the log, tells nothing of the key.
  std::string key_text = slurp(key_path);
  CHECK(key_path.find(key_text.substr(0, 6)) == std::string::npos);
  CHECK(text.find(key_text.substr(0, 6)) == std::string::npos);

  {
    syncmgr::Options o;
    o.endpoint = endpoint;
    o.authkey_file = key_path;
    o.timeout = std::chrono::seconds(10);
    syncmgr::Manager m(o);
    m.ping();
    m.dict("d").set("k", 1);
  }

  // And the CLI works with it.
  Result cli_ping = cli_raw({"--connect", endpoint, "--authkey-file", key_path, "ping"});
  CHECK(cli_ping.code == 0);

  REQUIRE(::kill(daemon.pid(), SIGTERM) == 0);
  int status = daemon.wait(std::chrono::seconds(10));
  CHECK(status != -1);
  CHECK(exited_cleanly(status));
  // Nothing is left behind: the key was the daemon's own.
  CHECK_FALSE(std::filesystem::exists(key_path));
}

TEST_CASE("cli: rm removes a named object") {
  Daemon d;
  syncmgr::Manager m(d.options());
  auto gone = m.dict("gone");
  gone.set("k", 1);
  auto kept = m.list("kept");

  Result rm = cli(d, {"rm", "gone"});
  INFO("stderr: " << rm.err);
  CHECK(rm.code == 0);
  CHECK(rm.out.empty());
  std::vector<std::string> names;
  Value listed = parse(cli(d, {"--json", "ls"}).out);
  for (const auto& o : listed.as_list())
    names.push_back(field(o, "name")->as_string());
  CHECK(names == std::vector<std::string>{"kept"});
  CHECK_THROWS_AS(gone.get<int>("k"), syncmgr::NameError);  // proxies elsewhere see it gone

  // Removing what is not there is the daemon's NameError; usage is checked before connecting.
  Result again = cli(d, {"rm", "gone"});
  CHECK(again.code == 1);
  CHECK(again.err.find("NameError") != std::string::npos);
  CHECK(cli(d, {"rm"}).code == 2);
  CHECK(cli(d, {"rm", "a", "b"}).code == 2);
  CHECK(cli(d, {"--json", "rm", "kept"}).out.find("\"ok\": true") != std::string::npos);
}

TEST_CASE("cli: JSON round-trips bytes and maps with any keys") {
  Daemon d;
  syncmgr::Manager m(d.options());
  auto cfg = m.dict("cfg");

  // Bytes print as {"$bin": ...}, and that form is read back as bytes, not as a map.
  CHECK(cli(d, {"set", "cfg", "blob", R"({"$bin":"AAH/"})"}).code == 0);
  Value blob = cfg.get<Value>("blob");
  REQUIRE(blob.kind() == Value::Kind::binary);
  CHECK(blob.as_bytes().data == std::string("\x00\x01\xff", 3));
  Result get = cli(d, {"get", "cfg", "blob"});
  CHECK(trim(get.out) == R"({"$bin": "AAH/"})");
  CHECK(cli(d, {"set", "cfg", "copy", trim(get.out)}).code == 0);
  CHECK(cfg.get<Value>("copy") == blob);

  // A map with integer keys prints as a $map, and comes back as the same map.
  cfg.set("ints", std::map<int, std::string>{{1, "one"}, {2, "two"}});
  Result ints = cli(d, {"get", "cfg", "ints"});
  CHECK(cli(d, {"set", "cfg", "ints2", trim(ints.out)}).code == 0);
  CHECK(cfg.get<Value>("ints2") == cfg.get<Value>("ints"));
}

TEST_CASE("cli: ls columns line up whatever the type names") {
  Daemon d;
  syncmgr::Manager m(d.options());
  auto jq = m.JoinableQueue("jobs");
  jq.put(1);
  auto cfg = m.dict("cfg");
  auto ev = m.Event("e");
  auto long_name = m.list(std::string(40, 'n'));

  Result ls = cli(d, {"ls"});
  INFO("stdout:\n" << ls.out);
  REQUIRE(ls.code == 0);
  std::vector<std::string> lines;
  std::istringstream in(ls.out);
  for (std::string line; std::getline(in, line);)
    lines.push_back(line);
  REQUIRE(lines.size() == 5);
  // Every row as wide as the header, each column starting where its header does.
  std::size_t type_col = lines[0].find("TYPE");
  REQUIRE(type_col != std::string::npos);
  for (const auto& line : lines) {
    CHECK(line.size() == lines[0].size());
    CHECK(line[type_col - 1] == ' ');
    CHECK(line[type_col] != ' ');
  }
  bool found = false;
  for (const auto& line : lines) {
    if (line.rfind("jobs ", 0) != 0) continue;
    found = true;
    CHECK(line.substr(type_col, 13) == "joinablequeue");
    CHECK(line.back() == '1');
  }
  CHECK(found);
}

TEST_CASE("cli: without a key, the error names --authkey-file") {
  Daemon d;
  Result r = sh(std::string(kLimit) + "env -u SYNCMGR_AUTHKEY_FILE " + quote(binary("syncmgr")) +
                " --connect " + quote(d.tcp()) + " ping");
  CHECK(r.code == 3);
  CHECK(r.err.find("--authkey-file") != std::string::npos);
  CHECK(r.err.find("SYNCMGR_AUTHKEY_FILE") != std::string::npos);
  CHECK(r.err.find("Options::") == std::string::npos);  // the library's name, not the CLI's
}
