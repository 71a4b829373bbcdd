// All-or-nothing: a call either changes state and succeeds, or fails and changes nothing. Typed
// reads that consume (queue get, pop) hand the item they could not convert to the caller in the
// exception, and atomic adds never store a result the caller's type cannot hold.
#include <doctest/doctest.h>

#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "support/daemon.hpp"
#include "syncmgr/syncmgr.hpp"

using namespace syncmgr;
using testsupport::Daemon;

namespace {

/// Runs `call`, which must throw ConversionError (a TypeError), and returns the value it carries.
template <class F>
syncmgr::Value conversion_error_value(F&& call) {
  try {
    call();
  } catch (const ConversionError& e) {
    CHECK(e.kind() == "TypeError");
    return e.value();
  }
  FAIL("no ConversionError");
  return {};
}

}  // namespace

TEST_CASE("atomicity: a typed queue get that cannot convert the item does not lose it") {
  Daemon d;
  Manager m(d.options());
  auto q = m.Queue("q");
  q.put(42);
  auto item = conversion_error_value([&] { q.get<std::string>(); });
  CHECK(item == syncmgr::Value(42));
  CHECK(q.qsize() == 0);  // the item travelled to the caller, in the exception
}

TEST_CASE("atomicity: every consuming typed call hands over what it could not convert") {
  Daemon d;
  Manager m(d.options());
  auto q = m.Queue("q");
  q.put(1);
  CHECK(conversion_error_value([&] { q.get_nowait<std::string>(); }) == syncmgr::Value(1));
  q.put(2);
  auto fut = q.async_get<std::vector<int>>();
  CHECK(conversion_error_value([&] { fut.get(); }) == syncmgr::Value(2));
  q.put_many(std::vector<syncmgr::Value>{syncmgr::Value(3), syncmgr::Value("four")});
  // get_many: every item taken travels in the exception, the convertible ones too.
  CHECK(conversion_error_value([&] { q.get_many<int>(5); }) ==
        syncmgr::Value(List{syncmgr::Value(3), syncmgr::Value("four")}));
  CHECK(q.qsize() == 0);

  auto dict = m.dict("d");
  dict.set("k", 1.5);
  CHECK(conversion_error_value([&] { dict.pop<std::string>("k"); }) == syncmgr::Value(1.5));
  dict.set("k", 2.5);
  auto pair = conversion_error_value([&] { dict.popitem<std::string, std::string>(); });
  CHECK(pair == syncmgr::Value(List{syncmgr::Value("k"), syncmgr::Value(2.5)}));

  auto list = m.list("l");
  list.append(std::string("s"));
  CHECK(conversion_error_value([&] { list.pop<int>(); }) == syncmgr::Value("s"));
  CHECK(list.len() == 0);
}

TEST_CASE("atomicity: increment of a float attribute with an int result type changes nothing") {
  Daemon d;
  Manager m(d.options());
  auto ns = m.Namespace("ns");
  ns.set("x", 1.5);
  CHECK_THROWS_AS(ns.increment("x"), TypeError);
  CHECK(ns.get<double>("x") == 1.5);
  CHECK(ns.increment<double>("x") == 2.5);  // a float result type takes it
  CHECK(ns.increment<syncmgr::Value>("x", 1) == syncmgr::Value(3.5));
  CHECK(ns.increment("n") == 1);  // the int case stays simple
  CHECK(ns.increment<syncmgr::Value>("n", 2) == syncmgr::Value(3));
  CHECK(ns.async_increment("n").get() == 4);
  CHECK_THROWS_AS(ns.async_increment("x").get(), TypeError);
  CHECK(ns.get<double>("x") == 3.5);
}

TEST_CASE("atomicity: increment past the caller's int range changes nothing") {
  Daemon d;
  Manager m(d.options());
  auto cfg = m.dict("cfg");
  const auto top = std::numeric_limits<std::int64_t>::max();
  cfg.set("n", top);
  CHECK_THROWS_AS(cfg.increment("n"), ValueError);
  CHECK(cfg.get<std::int64_t>("n") == top);
  CHECK(cfg.increment<std::uint64_t>("n", 1) == static_cast<std::uint64_t>(top) + 1);
  cfg.set("small", std::numeric_limits<std::int32_t>::max());
  CHECK_THROWS_AS(cfg.increment<std::int32_t>("small"), ValueError);
  CHECK(cfg.get<std::int64_t>("small") == std::numeric_limits<std::int32_t>::max());
  cfg.set("f", 0.5);
  CHECK_THROWS_AS(cfg.increment("f"), TypeError);
  CHECK(cfg.get<double>("f") == 0.5);
  CHECK(cfg.increment("f", 1.0) == 1.5);

  auto v = m.Value("v", 2.5);
  CHECK_THROWS_AS(v.add(1), TypeError);
  CHECK(v.get<double>() == 2.5);
  CHECK(v.add(0.5) == 3.0);
  CHECK(v.add<syncmgr::Value>(1) == syncmgr::Value(4.0));
  v.set(std::numeric_limits<std::uint8_t>::max());
  CHECK_THROWS_AS(v.add<std::uint8_t>(1), ValueError);
  CHECK(v.get<int>() == 255);
  CHECK(v.add(1) == 256);
}

TEST_CASE("atomicity: the daemon checks the result limits of increment and add") {
  Daemon d;
  Manager m(d.options());
  auto ns = m.Namespace("ns");
  ns.set("x", 1);
  syncmgr::Value int8{List{syncmgr::Value(-128), syncmgr::Value(127)}};
  CHECK(m.call<int>("namespace.increment", "ns", "x", 126, int8) == 127);
  CHECK_THROWS_AS(m.call<int>("namespace.increment", "ns", "x", 1, int8), ValueError);
  CHECK_THROWS_AS(m.call("namespace.increment", "ns", "x", 1, std::string("int")), TypeError);
  CHECK(ns.get<int>("x") == 127);
  CHECK(m.call<int>("namespace.increment", "ns", "x", 1, msgpack::type::nil_t()) ==
        128);  // nil: any result
}
