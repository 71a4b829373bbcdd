// The seed programs of examples/ run as users run them (each starts its own daemon with
// Manager::start()), and their output is checked; and the API they needed (issue 13): Values
// converted to user types, printing, put(nullptr), created(), Condition::acquire_fenced.
#include <dirent.h>
#include <doctest/doctest.h>

#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "support/daemon.hpp"
#include "syncmgr/syncmgr.hpp"

using namespace syncmgr;
using testsupport::Daemon;
using testsupport::TempDir;

namespace {

struct Site {
  std::string url;
  int expected = 200;
  MSGPACK_DEFINE(url, expected)
};

// Runs examples/<name> with the built daemon; its private directories go to a fresh runtime dir,
// which must be empty again when the example has exited (the daemon went away with it).
int run_example(const std::string& args, std::string* out, std::string* err) {
  TempDir runtime;
  int rc = testsupport::run_command("SYNCMGR_DAEMON=" + testsupport::binary("syncmgrd") +
                                        " XDG_RUNTIME_DIR=" + runtime.path() + " " +
                                        testsupport::binary("examples/" + args),
                                    out, err);
  std::vector<std::string> left;
  if (DIR* d = ::opendir(runtime.path().c_str())) {
    while (dirent* e = ::readdir(d))
      if (std::string(e->d_name) != "." && std::string(e->d_name) != "..")
        left.push_back(e->d_name);
    ::closedir(d);
  }
  CHECK_MESSAGE(left.empty(), "left behind in the runtime dir: " << (left.empty() ? "" : left[0]));
  return rc;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    lines.push_back(line);
  return lines;
}

}  // namespace

TEST_CASE("api: a mixed-type queue reads back as Values, compared and converted in place") {
  Daemon d;
  Manager m(d.options());
  auto q = m.Queue("mixed");
  q.put(Site{"https://example.com/", 200});
  q.put("STOP");
  q.put(nullptr);  // Python's None
  Value first = q.get();
  CHECK(first != "STOP");
  CHECK(value_cast<Site>(first).url == "https://example.com/");
  CHECK(q.get() == "STOP");
  CHECK(q.get().is_nil());
  q.put(Site{"u", 1});
  try {
    (void)q.get<int>();
    FAIL("expected ConversionError");
  } catch (const ConversionError& e) {
    CHECK(e.value().as<Site>().url == "u");  // the item taken is not lost, and converts
  }
}

TEST_CASE("api: a conversion error names std::string as a user writes it") {
  Daemon d;
  Manager m(d.options());
  auto dict = m.dict("typed");
  dict.set("n", 1);
  try {
    (void)dict.get<std::string>("n");
    FAIL("expected TypeError");
  } catch (const TypeError& e) {
    std::string msg = e.what();
    CHECK_MESSAGE(msg.find("does not convert to std::string") != std::string::npos, msg);
    CHECK_MESSAGE(msg.find("basic_string") == std::string::npos, msg);
  }
}

TEST_CASE(
    "api: proxies print their type and name; created() tells a new object from a reopened one") {
  Daemon d;
  Manager m(d.options());
  auto q = m.Queue("jobs", 1);
  CHECK(q.created());
  CHECK(q.type() == "queue");
  std::ostringstream os;
  os << q << ' ' << m.JoinableQueue("work") << ' ' << m.Lock("stdout");
  CHECK(os.str() == "<queue 'jobs'> <joinablequeue 'work'> <lock 'stdout'>");
  auto again = m.Queue("jobs", 5);  // exists: the 5 is ignored, and created() says so
  CHECK_FALSE(again.created());
  CHECK(again.maxsize() == 1);
  auto b = m.Barrier("b", 3);
  CHECK(b.created());
  auto b2 = m.Barrier("b", 2);
  CHECK_FALSE(b2.created());
  CHECK(b2.parties() == 3);
  auto ns = m.Namespace("status");
  ns.set("phase", "loading");
  std::ostringstream shown;
  shown << ns << ' ' << ns.get("phase") << ' ' << Value(ns.snapshot().size());
  CHECK(shown.str() == "<namespace 'status'> loading 1");
}

TEST_CASE("api: Condition::acquire_fenced returns the grant's fencing token") {
  Daemon d;
  Manager m(d.options());
  auto c = m.Condition("cond");
  auto first = c.acquire_fenced();
  REQUIRE(first.has_value());
  c.release();
  auto second = c.acquire_fenced(false);
  REQUIRE(second.has_value());
  CHECK(*second > *first);
  c.release();
}

TEST_CASE("examples: worker_pool reports every host, deterministically, across its workers") {
  std::string out, err, again;
  REQUIRE_MESSAGE(run_example("worker_pool --workers 3", &out, &err) == 0, err);
  auto lines = lines_of(out);
  REQUIRE(lines.size() == 10);
  std::vector<std::string> hosts;
  std::regex up(R"(([a-z.]+) +up +[0-9]+\.[0-9] ms)"), down(R"(([a-z.]+) +down)");
  for (std::size_t i = 0; i < 9; ++i) {
    std::smatch m;
    if (std::regex_match(lines[i], m, up)) {
      CHECK_FALSE(m[1].str().ends_with(".invalid"));
    } else {
      REQUIRE_MESSAGE(std::regex_match(lines[i], m, down), lines[i]);
      CHECK(m[1].str().ends_with(".invalid"));
    }
    hosts.push_back(m[1]);
  }
  CHECK(std::is_sorted(hosts.begin(), hosts.end()));
  CHECK(std::set<std::string>(hosts.begin(), hosts.end()).size() == 9);
  CHECK(lines[9].starts_with("9 hosts checked by 3 workers"));
  REQUIRE(run_example("worker_pool --workers 2", &again, &err) == 0);
  CHECK(lines_of(again).size() == 10);
  for (std::size_t i = 0; i < 9; ++i)
    CHECK(lines_of(again)[i] == lines[i]);  // the same "pings" with another number of workers
}

TEST_CASE("examples: site_checker collects every result and every worker's STOP") {
  std::string out, err;
  REQUIRE_MESSAGE(run_example("site_checker --workers 3", &out, &err) == 0, err);
  CHECK(out ==
        "https://example.com/             200 ok\n"
        "https://example.com/missing      404 ok\n"
        "https://example.com/old          301 ok\n"
        "https://example.net/broken       500 UNEXPECTED\n"
        "https://example.org/about        200 ok\n"
        "https://example.org/old          301 UNEXPECTED\n"
        "6 sites checked, 2 unexpected, 3 workers stopped\n");
}

TEST_CASE("examples: shared_namespace loses no increment") {
  std::string out, err;
  REQUIRE_MESSAGE(run_example("shared_namespace --workers 4 --increments 200", &out, &err) == 0,
                  err);
  CHECK(out ==
        "hits = 800\n"
        "hits.local = 800\n"
        "max_seen = 800\n"
        "started_by = local\n"
        "worker_seconds = 2.0\n"
        "no update lost\n");
}

TEST_CASE("examples: print_lock's lines never interleave") {
  std::string out, err;
  REQUIRE_MESSAGE(run_example("print_lock --workers 4 --lines 25", &out, &err) == 0, err);
  auto lines = lines_of(out);
  REQUIRE(lines.size() == 101);
  std::regex line(R"(worker ([0-3]) \(pid [0-9]+\) ticket ([0-9]+) line ([0-9]+) of 25)");
  std::map<std::string, int> next;  // each worker's lines arrive whole and in order
  for (std::size_t i = 0; i < 100; ++i) {
    std::smatch m;
    REQUIRE_MESSAGE(std::regex_match(lines[i], m, line), "mixed line: " << lines[i]);
    CHECK(std::stoul(m[2]) == i + 1);  // the ticket was taken with the line's lock held
    CHECK(std::stoi(m[3]) == next[m[1]]++);
  }
  CHECK(lines[100] == "100 lines printed by 4 processes");
}

TEST_CASE("examples: hash_workers' digests match SHA-256 of each file") {
  TempDir dir;
  std::ofstream(dir.file("empty"));
  std::ofstream(dir.file("abc")) << "abc";
  std::ofstream(dir.file("big")) << std::string(200000, 'a');
  std::string out, err;
  std::string files = dir.file("abc") + " " + dir.file("big") + " " + dir.file("empty");
  REQUIRE_MESSAGE(run_example("hash_workers --workers 2 " + files, &out, &err) == 0, err);
  std::string expected_out, cmd_err;
  REQUIRE(testsupport::run_command("sha256sum " + files, &expected_out, &cmd_err) == 0);
  CHECK(out == expected_out);
  CHECK(out.find("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") !=
        std::string::npos);  // FIPS 180-2's "abc"
  // A file that cannot be read is reported, and the exit status says so.
  CHECK(run_example("hash_workers " + dir.file("absent"), &out, &err) == 1);
  CHECK(out.find("error: No such file or directory") != std::string::npos);
}

TEST_CASE("api: a Barrier without a name is a temporary one, as the other factories make") {
  Daemon d;
  Manager m(d.options());
  auto b = m.Barrier(2);
  CHECK(b.name().rfind('~', 0) == 0);  // a generated name, to hand to the other parties
  CHECK(b.parties() == 2);
  CHECK(b.type() == "barrier");
  pid_t other = testsupport::spawn([&] {
    Manager child(d.options());
    child.Barrier(b.name(), 2).wait();  // the other party, in another process
    return 0;
  });
  b.wait(std::chrono::seconds(60));
  CHECK(testsupport::join(other) == 0);
}

TEST_CASE("api: dict and list element access and snapshot iteration") {
  Daemon d;
  Manager m(d.options());
  auto dict = m.dict("config", std::vector<std::pair<std::string, int>>{{"port", 8080}});
  CHECK(dict.created());
  CHECK(dict.get<int>("port") == 8080);
  dict["host"] = "example.com";  // a set, now
  CHECK(dict.get<std::string>("host") == "example.com");
  CHECK(dict["port"].get<int>() == 8080);
  Value port = dict["port"];
  CHECK(port == 8080);
  CHECK(dict["port"] == 8080);
  dict["copy"] = dict["port"];  // a get, then a set
  CHECK(dict.get<int>("copy") == 8080);
  CHECK_THROWS_AS((void)dict["absent"].get(), KeyError);
  std::ostringstream os;
  os << dict["host"];
  CHECK(os.str() == "example.com");

  std::map<std::string, int> seen;
  for (const auto& [k, v] : dict) {
    dict.set("added-" + k.as<std::string>(), 0);  // the loop iterates its snapshot
    seen[k.as<std::string>()] = v.is<int>() ? v.as<int>() : -1;
  }
  CHECK(seen == std::map<std::string, int>{{"copy", 8080}, {"host", -1}, {"port", 8080}});
  CHECK(dict.len() == 6);

  auto list = m.list("numbers", std::vector<int>{0, 1, 2, 3, 4});
  CHECK(list.created());
  CHECK(list.len() == 5);
  list[0] = 10;
  CHECK(list[-1].get<int>() == 4);
  CHECK(list.get<int>(0) == 10);
  CHECK_THROWS_AS((void)list[5].get(), IndexError);
  std::vector<int> items;
  for (const auto& item : list)
    items.push_back(item.as<int>());
  CHECK(items == std::vector<int>{10, 1, 2, 3, 4});
  auto reopened = m.list("numbers", std::vector<int>{7});  // exists: opened as it is
  CHECK_FALSE(reopened.created());
  CHECK(reopened.len() == 5);
  auto temp = m.list("", std::vector<std::string>{"a"});  // no name: a temporary
  CHECK(temp.name().rfind('~', 0) == 0);
  CHECK(temp.get<std::string>(0) == "a");
}

TEST_CASE("api: a proxy put into a queue or a Namespace reopens in another process") {
  Daemon d;
  Manager m(d.options());
  auto inbox = m.Queue("inbox");
  auto results = m.dict();  // a temporary, held by this process while the child uses it
  auto named = m.list("log");
  inbox.put(results);
  m.Namespace("where").set("log", named);
  CHECK(Value::from(results).as<ProxyRef>() == ProxyRef{"dict", results.name()});
  CHECK(testsupport::in_child([&] {
          Manager child(d.options());
          auto box = child.Queue("inbox");
          Value item = box.get();
          if (!item.is<ProxyRef>()) return 1;
          auto dict = child.open<DictProxy>(item);
          dict.set("answer", 42);
          auto log = child.open<ListProxy>(child.Namespace("where").get("log"));
          log.append("child was here");
          try {
            (void)child.open<ListProxy>(item);  // the reference is to a dict
            return 2;
          } catch (const TypeError&) {
          }
          try {
            (void)child.open<ListProxy>(Value("not a reference"));
            return 3;
          } catch (const TypeError&) {
          }
          return 0;
        }) == 0);
  CHECK(results.get<int>("answer") == 42);
  CHECK(named.get<std::string>(0) == "child was here");
}
