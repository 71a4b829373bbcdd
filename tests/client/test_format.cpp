// include/syncmgr/format.hpp with fmt: a Value, every proxy and an element reference format as
// they print with operator<< / to_string. Built only when meson finds fmt.
#include <doctest/doctest.h>

#include <fmt/format.h>

#include <sstream>
#include <string>
#include <vector>

#include "support/daemon.hpp"
#include "syncmgr/format.hpp"
#include "syncmgr/syncmgr.hpp"

using namespace syncmgr;
using testsupport::Daemon;

namespace {
template <class T>
std::string streamed(const T& x) {
  std::ostringstream os;
  os << x;
  return os.str();
}
}  // namespace

// Every proxy class has a formatter (a new proxy class belongs in format.hpp's list and here).
static_assert(fmt::is_formattable<Value>::value);
static_assert(fmt::is_formattable<NamespaceProxy>::value);
static_assert(fmt::is_formattable<DictProxy>::value);
static_assert(fmt::is_formattable<ListProxy>::value);
static_assert(fmt::is_formattable<QueueProxy>::value);
static_assert(fmt::is_formattable<JoinableQueueProxy>::value);
static_assert(fmt::is_formattable<LockProxy>::value);
static_assert(fmt::is_formattable<RLockProxy>::value);
static_assert(fmt::is_formattable<SemaphoreProxy>::value);
static_assert(fmt::is_formattable<BoundedSemaphoreProxy>::value);
static_assert(fmt::is_formattable<ConditionProxy>::value);
static_assert(fmt::is_formattable<EventProxy>::value);
static_assert(fmt::is_formattable<BarrierProxy>::value);
static_assert(fmt::is_formattable<ValueProxy>::value);
static_assert(fmt::is_formattable<ArrayProxy>::value);

TEST_CASE("format: fmt::format of a Value is to_string, never cut; width and alignment apply") {
  const std::vector<Value> values{
      Value(),
      Value(true),
      Value(-7),
      Value(3.0),
      Value("STOP"),
      Value(Bytes{std::string("a\0'", 3)}),
      Value(List{"a", 1, Value(), List{1.5}}),
      Value(Map{{"k", List{false}}, {2, "v"}}),
      Value(List(500, Value("0123456789")))};  // far past repr()'s default 80 characters
  for (const auto& v : values) {
    CAPTURE(to_string(v));
    CHECK(fmt::format("{}", v) == to_string(v));
  }
  CHECK(fmt::format("[{:>6}]", Value(42)) == "[    42]");
  CHECK(fmt::format("[{:<8}]", Value(List{1, 2})) == "[[1, 2]  ]");
}

TEST_CASE("format: fmt::format of a proxy or an element is what operator<< prints") {
  Daemon d;
  Manager m(d.options());
  auto dict = m.dict("config");
  dict.set("host", "example.com");
  auto list = m.list("l", std::vector<int>{1, 2});
  auto q = m.Queue("jobs");
  auto jq = m.JoinableQueue("work");
  CHECK(fmt::format("{}", dict) == "<dict 'config'>");
  CHECK(fmt::format("{} {}", q, jq) == "<queue 'jobs'> <joinablequeue 'work'>");
  CHECK(fmt::format("{}", dict["host"]) == "example.com");
  CHECK(fmt::format("{}", list[1]) == "2");
  CHECK(fmt::format("{:>16}", list) == streamed(list).insert(0, 16 - streamed(list).size(), ' '));
  // One of each other kind, against operator<<.
  const std::vector<std::string> each{fmt::format("{}", m.Namespace("ns")),
                                      fmt::format("{}", m.Lock("L")),
                                      fmt::format("{}", m.RLock("R")),
                                      fmt::format("{}", m.Semaphore("s")),
                                      fmt::format("{}", m.BoundedSemaphore("bs")),
                                      fmt::format("{}", m.Condition("c")),
                                      fmt::format("{}", m.Event("e")),
                                      fmt::format("{}", m.Barrier("b", 2)),
                                      fmt::format("{}", m.Value("v", 1)),
                                      fmt::format("{}", m.Array("a", std::vector<int>{0}))};
  const std::vector<std::string> printed{streamed(m.Namespace("ns")),
                                         streamed(m.Lock("L")),
                                         streamed(m.RLock("R")),
                                         streamed(m.Semaphore("s")),
                                         streamed(m.BoundedSemaphore("bs")),
                                         streamed(m.Condition("c")),
                                         streamed(m.Event("e")),
                                         streamed(m.Barrier("b", 2)),
                                         streamed(m.Value("v", 1)),
                                         streamed(m.Array("a", std::vector<int>{0}))};
  CHECK(each == printed);
  CHECK(each[1] == "<lock 'L'>");
}
