// Manager::start(): a private daemon for one process tree (issue 12): workers share it, and it
// goes away with its owner leaving nothing behind, however the owner ends.
#include <doctest/doctest.h>

#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "support/daemon.hpp"
#include "syncmgr/syncmgr.hpp"

using namespace syncmgr;
using testsupport::TempDir;

namespace {

/// Points start() at the built daemon and its private directories at `runtime`, for one test.
class UseBuild {
 public:
  explicit UseBuild(const TempDir& runtime) {
    for (const char* name : {"SYNCMGR_DAEMON", "XDG_RUNTIME_DIR", "SYNCMGR_AUTHKEY_FILE"}) {
      const char* v = std::getenv(name);
      saved_.emplace_back(name, v != nullptr ? std::optional<std::string>(v) : std::nullopt);
    }
    ::setenv("SYNCMGR_DAEMON", testsupport::binary("syncmgrd").c_str(), 1);
    ::setenv("XDG_RUNTIME_DIR", runtime.path().c_str(), 1);
  }
  ~UseBuild() {
    for (const auto& [name, value] : saved_) {
      if (value) {
        ::setenv(name.c_str(), value->c_str(), 1);
      } else {
        ::unsetenv(name.c_str());
      }
    }
  }

 private:
  std::vector<std::pair<std::string, std::optional<std::string>>> saved_;
};

std::vector<std::string> entries(const std::string& dir) {
  std::vector<std::string> out;
  if (DIR* d = ::opendir(dir.c_str())) {
    while (dirent* e = ::readdir(d))
      if (std::string(e->d_name) != "." && std::string(e->d_name) != "..") out.push_back(e->d_name);
    ::closedir(d);
  }
  return out;
}

/// Processes named syncmgrd whose parent is `parent`.
int daemons_of(pid_t parent) {
  int n = 0;
  for (const auto& pid : entries("/proc")) {
    std::ifstream in("/proc/" + pid + "/stat");
    std::string stat;
    std::getline(in, stat);
    auto close = stat.rfind(')');
    if (close == std::string::npos || stat.find("(syncmgrd)") == std::string::npos) continue;
    int ppid = 0;
    char state = 0;
    std::sscanf(stat.c_str() + close + 2, "%c %d", &state, &ppid);
    if (ppid == parent && state != 'Z') ++n;
  }
  return n;
}

bool eventually(const std::function<bool()>& cond, std::chrono::milliseconds limit) {
  auto until = std::chrono::steady_clock::now() + limit;
  while (!cond()) {
    if (std::chrono::steady_clock::now() >= until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

}  // namespace

TEST_CASE("embedded: Manager::start() serves 8 fork()ed workers and leaves nothing behind") {
  TempDir runtime;
  UseBuild env(runtime);
  {
    Manager m = Manager::start();
    CHECK(daemons_of(::getpid()) == 1);
    auto dir = entries(runtime.path());
    REQUIRE(dir.size() == 1);
    struct stat st {};
    REQUIRE(::stat((runtime.path() + "/" + dir[0]).c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0700);
    auto jobs = m.Queue("jobs");
    auto results = m.dict("results");
    for (int i = 0; i < 100; ++i)
      jobs.put(i);
    std::vector<pid_t> workers;
    for (int w = 0; w < 8; ++w) {
      jobs.put(std::string("STOP"));
      workers.push_back(testsupport::spawn([&] {
        for (;;) {
          Value job = jobs.get<Value>();
          if (job.kind() == Value::Kind::string) return 0;  // the sentinel
          results.set(job.as_int(), job.as_int() * job.as_int());
        }
      }));
    }
    for (pid_t p : workers)
      CHECK(testsupport::join(p) == 0);
    CHECK(results.len() == 100);
    CHECK(results.get<int>(9) == 81);
  }
  // The Manager is gone: so are its daemon, its socket and its directory.
  CHECK(daemons_of(::getpid()) == 0);
  CHECK(entries(runtime.path()).empty());
}

TEST_CASE("embedded: the daemon exits with its owner, even SIGKILLed, removing its directory") {
  TempDir runtime;
  UseBuild env(runtime);
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  pid_t owner = testsupport::spawn([&] {
    Manager m = Manager::start();
    m.dict("d").set("k", 1);
    char ok = 'r';
    if (::write(fds[1], &ok, 1) != 1) return 2;
    ::pause();  // until killed
    return 0;
  });
  char got = 0;
  REQUIRE(::read(fds[0], &got, 1) == 1);
  REQUIRE(entries(runtime.path()).size() == 1);
  CHECK(daemons_of(owner) == 1);
  ::kill(owner, SIGKILL);
  testsupport::join(owner);
  // The orphaned daemon notices within its stop-check interval and cleans up after itself.
  CHECK(eventually([&] { return entries(runtime.path()).empty(); }, std::chrono::seconds(3)));
  ::close(fds[0]);
  ::close(fds[1]);
}

TEST_CASE("embedded: a child started with exec finds the daemon through export_environment") {
  TempDir runtime;
  UseBuild env(runtime);
  ::unsetenv("SYNCMGR_AUTHKEY_FILE");
  Manager m = Manager::start();
  m.Namespace("status").set("phase", std::string("running"));
  m.export_environment();
  std::string out, err;
  int code =
      testsupport::run_command(testsupport::binary("syncmgr") + " get status phase", &out, &err);
  INFO("stderr: " << err);
  CHECK(code == 0);
  CHECK(out.find("running") != std::string::npos);
  // Nothing secret on a command line or in a file: the key reached the daemon through a pipe.
  for (const auto& name : entries(runtime.path() + "/" + entries(runtime.path())[0]))
    CHECK((name == "sock" || name == "ready"));
  ::unsetenv("SYNCMGR_ENDPOINT");
  ::unsetenv("SYNCMGR_AUTHKEY");
  m.shutdown();
  CHECK(daemons_of(::getpid()) == 0);
}
