// The `syncmgr` binary operating a live daemon: inspect, sessions, put/get on queues, set on
// Value/Event/Array, and watch. Real daemon, real client processes, the real CLI binary.
#include <doctest/doctest.h>

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "support/daemon.hpp"
#include "tools/cli_support.hpp"

using namespace std::chrono_literals;
using namespace clitest;
using syncmgr::Manager;
using testsupport::wait_parked;

namespace {

// A client process that does `how` through its own Manager on `endpoint`, sets the Event `ready`,
// and waits to be killed (SIGKILLed and reaped on destruction).
class Holder {
 public:
  Holder(const Daemon& d, const std::string& endpoint, const std::string& ready,
         std::function<void(Manager&)> how) {
    pid_ = testsupport::spawn([&d, endpoint, ready, how] {
      Manager child(d.options(endpoint));
      how(child);
      child.Event(ready).set();
      for (;;)
        pause();
      return 0;
    });
  }
  ~Holder() {
    ::kill(pid_, SIGKILL);
    testsupport::join(pid_);
  }
  Holder(const Holder&) = delete;
  Holder& operator=(const Holder&) = delete;
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_;
};

std::int64_t int_field(const Value& map, const std::string& key) {
  const Value* v = field(map, key);
  INFO("field " << key << " of " << syncmgr::tools::to_json(map));
  REQUIRE(v != nullptr);
  return v->as_int();
}

// syncmgr --json inspect ARGS..., which must succeed; its output parsed.
Value inspect(const Daemon& d, std::initializer_list<std::string> extra) {
  std::vector<std::string> args = {"--json", "inspect"};
  args.insert(args.end(), extra.begin(), extra.end());
  std::string cmd = std::string(kLimit) + quote(binary("syncmgr")) + " --connect " +
                    quote(d.tcp()) + " --authkey-file " + quote(d.key_file());
  for (const auto& a : args) {
    cmd += ' ';
    cmd += quote(a);
  }
  Result r = sh(cmd);
  INFO("stderr: " << r.err);
  REQUIRE(r.code == 0);
  return parse(r.out);
}

// The session entry of `server.sessions` output whose pid is `pid`, or nil.
Value session_of(const Value& sessions, pid_t pid) {
  for (const auto& s : sessions.as_list()) {
    const Value* p = field(s, "pid");
    if (p != nullptr && p->as_int() == pid) return s;
  }
  return Value();
}

}  // namespace

TEST_CASE("cli live: inspect a queue peeks its first items and shows waiters and items out") {
  Daemon d;
  Manager m(d.options());
  auto q = m.Queue("q", 5);
  for (int i = 1; i <= 3; ++i)
    q.put(i);

  Value v = inspect(d, {"q"});
  CHECK(field(v, "type")->as_string() == "queue");
  CHECK(int_field(v, "size") == 3);
  CHECK(int_field(v, "maxsize") == 5);
  REQUIRE(field(v, "items") != nullptr);
  CHECK(*field(v, "items") == Value(syncmgr::List{Value(1), Value(2), Value(3)}));
  CHECK(int_field(v, "getters") == 0);
  CHECK(q.qsize() == 3);  // peeked, not taken
  Value two = inspect(d, {"q", "--limit", "2"});
  CHECK(field(two, "items")->as_list().size() == 2);

  // The human form: one field a line.
  Result text = cli(d, {"inspect", "q"});
  CHECK(text.code == 0);
  CHECK(text.out.find("maxsize") != std::string::npos);
  CHECK(text.out.find("[1, 2, 3]") != std::string::npos);

  // A getter parked on an empty queue is counted.
  auto empty = m.Queue("empty");
  Holder getter(d, d.unix_socket(), "never", [](Manager& c) { c.Queue("empty").get(); });
  wait_parked(m, 1);
  Value e = inspect(d, {"empty"});
  CHECK(int_field(e, "getters") == 1);
  CHECK(int_field(e, "parked_calls") == 1);

  // A JoinableQueue: unfinished tasks, and the item a worker got and has not marked done, with
  // the worker's pid (a unix:// peer: SO_PEERCRED).
  auto jq = m.JoinableQueue("jobs");
  jq.put(std::string("a"));
  jq.put(std::string("b"));
  jq.put(std::string("c"));
  Holder worker(d, d.unix_socket(), "got",
                [](Manager& c) { CHECK(c.JoinableQueue("jobs").get<std::string>() == "a"); });
  REQUIRE(m.Event("got").wait(20s));
  Value j = inspect(d, {"jobs"});
  CHECK(int_field(j, "size") == 2);
  CHECK(int_field(j, "unfinished") == 3);
  CHECK(int_field(j, "joiners") == 0);
  const Value* out = field(j, "handed_out");
  REQUIRE(out != nullptr);
  REQUIRE(out->as_list().size() == 1);
  CHECK(int_field(out->as_list()[0], "pid") == worker.pid());
  CHECK(int_field(out->as_list()[0], "undone") == 1);

  CHECK(cli(d, {"inspect", "absent"}).code == 1);
  CHECK(cli(d, {"inspect"}).code == 2);
  CHECK(cli(d, {"inspect", "q", "--limit", "x"}).code == 2);
}

TEST_CASE("cli live: inspect lists at most 64 KiB of items and counts the ones it leaves out") {
  Daemon d;
  Manager m(d.options());
  const std::string mib(1u << 20, 'x');
  auto q = m.Queue("big");
  for (int i = 0; i < 4; ++i)
    q.put(mib);
  Value v = inspect(d, {"big"});
  CHECK(int_field(v, "size") == 4);
  CHECK(field(v, "items")->as_list().empty());  // the first alone is past the cap
  CHECK(int_field(v, "omitted") == 4);
  CHECK(q.qsize() == 4);  // peeked, not taken
  Result text = cli(d, {"inspect", "big"});
  CHECK(text.code == 0);
  CHECK(text.out.size() < 4096);
  CHECK(text.out.find("omitted") != std::string::npos);

  // Items are listed in order while they fit: a prefix, never a later, smaller item.
  const std::string kib40(40u << 10, 'y');
  auto mixed = m.Queue("mixed");
  for (const Value& item : {Value(1), Value(kib40), Value(kib40), Value(2)})
    mixed.put(item);
  Value mv = inspect(d, {"mixed"});
  CHECK(*field(mv, "items") == Value(syncmgr::List{Value(1), Value(kib40)}));
  CHECK(int_field(mv, "omitted") == 2);
  CHECK(int_field(inspect(d, {"mixed", "--limit", "1"}), "omitted") == 0);  // limit comes first
  CHECK(int_field(inspect(d, {"mixed", "--limit", "3"}), "omitted") == 1);

  // The same cap for a dict's entries (key and value counted) and a list's items.
  auto dict = m.dict("bigd");
  dict.set("a", mib);
  dict.set("b", 1);
  Value dv = inspect(d, {"bigd"});
  CHECK(field(dv, "entries")->as_map().empty());
  CHECK(int_field(dv, "omitted") == 2);
  auto l = m.list("bigl", std::vector<std::string>{"small", mib});
  Value lv = inspect(d, {"bigl"});
  CHECK(*field(lv, "items") == Value(syncmgr::List{Value("small")}));
  CHECK(int_field(lv, "omitted") == 1);
}

TEST_CASE("cli live: inspect a lock names its holder's session and pid, token and waiters") {
  Daemon d;
  Manager m(d.options());
  m.Lock("L");
  m.RLock("R");
  // Held by a unix:// client and, the RLock, by an ipc:// one (ZeroMQ's Peer-Address has the pid).
  Holder unix_holder(d, d.unix_socket(), "held-L",
                     [](Manager& c) { REQUIRE(c.Lock("L").acquire()); });
  Holder ipc_holder(d, d.ipc(), "held-R", [](Manager& c) { REQUIRE(c.RLock("R").acquire()); });
  REQUIRE(m.Event("held-L").wait(20s));
  REQUIRE(m.Event("held-R").wait(20s));
  auto waiter = std::async(std::launch::async, [&] { return m.Lock("L").acquire(true, 60s); });
  wait_parked(m, 1);

  Value l = inspect(d, {"L"});
  CHECK(field(l, "locked")->as_bool());
  const Value* holder = field(l, "holder");
  REQUIRE(holder != nullptr);
  CHECK(int_field(*holder, "pid") == unix_holder.pid());
  CHECK(field(*holder, "id")->as_string().size() == 16);
  CHECK(int_field(l, "fence") > 0);
  CHECK(int_field(l, "waiters") == 1);

  Value r = inspect(d, {"R"});
  REQUIRE(field(r, "holder") != nullptr);
  CHECK(int_field(*field(r, "holder"), "pid") == ipc_holder.pid());
  CHECK(int_field(r, "count") == 1);

  Result text = cli(d, {"inspect", "L"});
  CHECK(text.out.find("pid " + std::to_string(unix_holder.pid())) != std::string::npos);

  // The holder dies: the waiter gets the lock, and inspect says so.
  ::kill(unix_holder.pid(), SIGKILL);
  CHECK(waiter.get());
  Value after = inspect(d, {"L"});
  CHECK(int_field(after, "waiters") == 0);
  CHECK(int_field(after, "fence") > int_field(l, "fence"));
  m.Lock("L").release();
}

TEST_CASE("cli live: inspect semaphores, barriers, conditions, events, values and containers") {
  Daemon d;
  Manager m(d.options());
  auto s = m.Semaphore("s", 2);
  REQUIRE(s.acquire());
  Value sv = inspect(d, {"s"});
  CHECK(int_field(sv, "value") == 1);
  CHECK(int_field(sv, "waiters") == 0);

  auto b = m.Barrier("b", 3);
  Holder party(d, d.tcp(), "never", [](Manager& c) {
    try {
      c.Barrier("b", 3).wait();
    } catch (const syncmgr::BrokenBarrierError&) {  // the test aborts it
    }
  });
  wait_parked(m, 1);
  Value bv = inspect(d, {"b"});
  CHECK(int_field(bv, "parties") == 3);
  CHECK(int_field(bv, "waiting") == 1);
  CHECK_FALSE(field(bv, "broken")->as_bool());
  b.abort();
  CHECK(field(inspect(d, {"b"}), "broken")->as_bool());

  auto cond = m.Condition("c");
  Holder cwaiter(d, d.tcp(), "never", [](Manager& c) {
    auto cv = c.Condition("c");
    cv.acquire();
    cv.wait();
  });
  wait_parked(m, 1);
  Value cv = inspect(d, {"c"});
  CHECK(int_field(cv, "waiters") == 1);
  CHECK_FALSE(field(cv, "locked")->as_bool());  // wait released it

  auto ev = m.Event("e");
  CHECK_FALSE(field(inspect(d, {"e"}), "set")->as_bool());
  ev.set();
  CHECK(field(inspect(d, {"e"}), "set")->as_bool());

  m.Value("v", 42);
  CHECK(int_field(inspect(d, {"v"}), "value") == 42);
  m.Array("a", std::vector<double>{1.5, 2.5});
  CHECK(field(inspect(d, {"a"}), "items")->as_list().size() == 2);

  auto dict = m.dict("big");
  for (int i = 0; i < 20; ++i)
    dict.set(i, i * i);
  Value dv = inspect(d, {"big"});
  CHECK(int_field(dv, "size") == 20);
  CHECK(field(dv, "entries")->as_map().size() == 10);  // the first ten
  CHECK(field(inspect(d, {"big", "--limit", "0"}), "entries")->as_map().empty());
  auto ns = m.Namespace("ns");
  ns.set("x", 1);
  CHECK(field(inspect(d, {"ns"}), "entries")->as_map().size() == 1);
  auto l = m.list("l", std::vector<int>{7, 8, 9});
  CHECK(field(inspect(d, {"l"}), "items")->as_list().size() == 3);
}

TEST_CASE("cli live: sessions lists each client with its pid, age, holdings and parked calls") {
  Daemon d;
  Manager m(d.options());
  m.Lock("L");
  m.Queue("q");
  Holder h(d, d.unix_socket(), "never", [](Manager& c) {
    REQUIRE(c.Lock("L").acquire());
    c.Queue("q").get();  // parks: the queue stays empty
  });
  wait_parked(m, 1);

  Result r = cli(d, {"--json", "sessions"});
  INFO("stderr: " << r.err);
  REQUIRE(r.code == 0);
  Value all = parse(r.out);
  Value s = session_of(all, h.pid());
  REQUIRE_FALSE(s.is_nil());
  CHECK(int_field(s, "parked_calls") == 1);
  CHECK(field(s, "age_seconds")->as_double() >= 0);
  CHECK(field(s, "idle_seconds")->as_double() >= 0);
  const Value* holdings = field(s, "holdings");
  REQUIRE(holdings != nullptr);
  REQUIRE(holdings->as_list().size() == 1);
  CHECK(field(holdings->as_list()[0], "name")->as_string() == "L");
  CHECK(int_field(holdings->as_list()[0], "fence") > 0);
  CHECK_FALSE(field(s, "self")->as_bool());
  // The CLI's own session is there, marked.
  std::size_t selves = 0;
  for (const auto& x : all.as_list())
    selves += field(x, "self")->as_bool() ? 1 : 0;
  CHECK(selves == 1);
  CHECK(all.as_list().size() >= 3);  // m, the holder, the CLI

  Result text = cli(d, {"sessions"});
  CHECK(text.code == 0);
  CHECK(text.out.find("SESSION") != std::string::npos);
  CHECK(text.out.find(std::to_string(h.pid())) != std::string::npos);
  CHECK(text.out.find("lock L") != std::string::npos);
}

TEST_CASE("cli live: put and get on queues") {
  Daemon d;
  Manager m(d.options());
  auto q = m.Queue("q", 1);
  Result put = cli(d, {"put", "q", "5"});
  INFO("stderr: " << put.err);
  CHECK(put.code == 0);
  CHECK(q.qsize() == 1);
  // Full: answered at once by default (no --wait), an error, nothing changed.
  Result full = cli(d, {"put", "q", "6"});
  CHECK(full.code == 1);
  CHECK(full.err.find("Full") != std::string::npos);
  CHECK(q.qsize() == 1);

  Result get = cli(d, {"get", "q"});
  CHECK(get.code == 0);
  CHECK(trim(get.out) == "5");
  CHECK(q.qsize() == 0);  // taken for good: the CLI's session acknowledged it before it ended
  Result empty = cli(d, {"get", "q"});
  CHECK(empty.code == 1);
  CHECK(empty.err.find("Empty") != std::string::npos);
  CHECK(cli(d, {"get", "q", "--wait", "0.2"}).code == 1);

  // --wait: a get that waits is served by a later put.
  std::thread putter([&] {
    try {
      wait_parked(m, 1);
      q.put(std::string("late"));
    } catch (const std::exception&) {  // the CLI never parked: the checks below fail
    }
  });
  Result waited = cli(d, {"get", "q", "--wait", "60"});
  putter.join();
  CHECK(waited.code == 0);
  CHECK(trim(waited.out) == "\"late\"");

  // A JoinableQueue's item is taken and marked done: join() does not wait for it, and it does not
  // come back when the CLI's session ends.
  auto jq = m.JoinableQueue("jobs");
  CHECK(cli(d, {"put", "jobs", R"({"task": 1})"}).code == 0);
  Result job = cli(d, {"--json", "get", "jobs"});
  CHECK(job.code == 0);
  CHECK(field(parse(job.out), "task") != nullptr);
  CHECK(jq.qsize() == 0);
  CHECK(int_field(inspect(d, {"jobs"}), "unfinished") == 0);

  // Usage errors: exit 2 with a message that says what fits.
  m.dict("cfg");
  Result on_dict = cli(d, {"put", "cfg", "1"});
  CHECK(on_dict.code == 2);
  CHECK(on_dict.err.find("queue") != std::string::npos);
  CHECK(cli(d, {"get", "q", "0"}).code == 2);
  CHECK(cli(d, {"get", "q", "--wait", "-1"}).code == 2);
}

TEST_CASE("cli live: set on a Value, an Event and an Array") {
  Daemon d;
  Manager m(d.options());
  auto v = m.Value("c.value", 1);
  Result set = cli(d, {"set", "c.value", "4"});
  INFO("stderr: " << set.err);
  CHECK(set.code == 0);
  CHECK(v.get<std::int64_t>() == 4);
  CHECK(cli(d, {"set", "c.value", "k", "5"}).code == 2);
  CHECK(v.get<std::int64_t>() == 4);

  auto ev = m.Event("ev");
  CHECK(cli(d, {"set", "ev", "true"}).code == 0);
  CHECK(ev.is_set());
  CHECK(trim(cli(d, {"get", "ev"}).out) == "true");
  CHECK(cli(d, {"set", "ev", "false"}).code == 0);
  CHECK_FALSE(ev.is_set());
  Result maybe = cli(d, {"set", "ev", "maybe"});
  CHECK(maybe.code == 2);
  CHECK(maybe.err.find("true or false") != std::string::npos);
  Result old_form = cli(d, {"set", "ev", "0", "false"});
  CHECK(old_form.code == 2);
  CHECK(old_form.err.find("takes 0 arguments") == std::string::npos);
  CHECK_FALSE(ev.is_set());

  auto arr = m.Array("arr", std::vector<double>{0, 0, 0, 0});
  CHECK(cli(d, {"set", "arr", "3", "1.5"}).code == 0);
  CHECK(arr.get<double>(3) == 1.5);
  CHECK(cli(d, {"set", "arr", "x", "1"}).code == 2);
  Result out_of_range = cli(d, {"set", "arr", "9", "1"});
  CHECK(out_of_range.code == 1);
  CHECK(out_of_range.err.find("IndexError") != std::string::npos);

  m.Queue("q");
  Result on_queue = cli(d, {"set", "q", "1"});
  CHECK(on_queue.code == 2);
  CHECK(on_queue.err.find("put") != std::string::npos);
  m.Lock("L");
  CHECK(cli(d, {"set", "L", "true"}).code == 2);
}

TEST_CASE("cli live: --help lists the commands for a live daemon and their options") {
  Result help = sh(std::string(kLimit) + quote(binary("syncmgr")) + " --help");
  CHECK(help.code == 0);
  for (const char* word : {"inspect NAME", "sessions", "watch [NAME]", "put NAME VALUE",
                           "set NAME VALUE", "--wait SECS", "--limit N", "--count N", "--interval"})
    CHECK_MESSAGE(help.out.find(word) != std::string::npos, word);
}

TEST_CASE("cli live: watch refreshes a view of the objects and ends after --count or Ctrl-C") {
  Daemon d;
  Manager m(d.options());
  auto q = m.Queue("q");
  q.put(1);
  q.put(2);
  m.Queue("empty");
  Holder getter(d, d.tcp(), "never", [](Manager& c) { c.Queue("empty").get(); });
  wait_parked(m, 1);
  // Calls on q all along, so its ops/s between two refreshes is above zero.
  std::atomic<bool> done{false};
  std::thread busy([&] {
    Manager b(d.options());
    auto bq = b.Queue("q");
    while (!done)
      bq.qsize();
  });

  Result json = cli(d, {"--json", "watch", "--count", "2", "--interval", "0.3"});
  done = true;
  busy.join();
  INFO("stdout: " << json.out << "stderr: " << json.err);
  REQUIRE(json.code == 0);
  std::vector<Value> frames;
  std::size_t start = 0;
  while (start < json.out.size()) {
    std::size_t end = json.out.find('\n', start);
    frames.push_back(parse(json.out.substr(start, end - start)));
    start = end == std::string::npos ? json.out.size() : end + 1;
  }
  REQUIRE(frames.size() == 2);
  auto object = [](const Value& frame, const std::string& name) {
    for (const auto& o : field(frame, "objects")->as_list())
      if (field(o, "name")->as_string() == name) return o;
    return Value();
  };
  CHECK(int_field(object(frames[0], "q"), "size") == 2);
  CHECK(int_field(object(frames[0], "empty"), "parked_calls") == 1);
  CHECK(field(object(frames[0], "q"), "ops_per_second")->is_nil());  // nothing to compare yet
  CHECK(field(object(frames[1], "q"), "ops_per_second")->as_double() > 0);
  CHECK(field(frames[1], "stats") != nullptr);

  Result text = cli(d, {"watch", "--count", "2", "--interval", "0.1"});
  CHECK(text.code == 0);
  std::size_t headers = 0;
  for (std::size_t p = text.out.find("syncmgr watch"); p != std::string::npos;
       p = text.out.find("syncmgr watch", p + 1))
    ++headers;
  CHECK(headers == 2);
  CHECK(text.out.find("\nq ") != std::string::npos);

  Result one = cli(d, {"watch", "q", "--count", "1"});
  CHECK(one.code == 0);
  CHECK(one.out.find("[1, 2]") != std::string::npos);
  CHECK(cli(d, {"watch", "absent", "--count", "1"}).code == 1);
  CHECK(cli(d, {"watch", "--count", "0"}).code == 2);

  // Ctrl-C ends it cleanly (exit 0), whenever it comes.
  Result interrupted =
      sh(std::string(kLimit) + "timeout --preserve-status -s INT 4 " + quote(binary("syncmgr")) +
         " --connect " + quote(d.tcp()) + " --authkey-file " + quote(d.key_file()) + " watch");
  CHECK(interrupted.code == 0);
}
