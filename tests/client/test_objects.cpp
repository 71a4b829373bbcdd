// Namespace, dict and list through real proxies against a real syncmgrd, over tcp and ipc, with
// values crossing process boundaries.
#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "support/daemon.hpp"
#include "syncmgr/syncmgr.hpp"

using namespace syncmgr;
using testsupport::Daemon;
using testsupport::in_child;

namespace {

struct Point {
  int x = 0;
  double y = 0;
  std::string label;
  bool operator==(const Point& o) const { return x == o.x && y == o.y && label == o.label; }
  MSGPACK_DEFINE(x, y, label);
};

std::vector<std::string> transports(const Daemon& d) {
  return {d.tcp(), d.ipc(), d.unix_socket()};
}

}  // namespace

TEST_CASE("objects: values set in one process are seen in another, over tcp and ipc") {
  Daemon d;
  for (const auto& ep : transports(d)) {
    CAPTURE(ep);
    Manager m(d.options(ep));
    auto ns = m.Namespace("shared-" + ep.substr(0, 3));
    int rc = in_child([&] {
      Manager child(d.options(ep));
      auto cns = child.Namespace("shared-" + ep.substr(0, 3));
      cns.set("from_child", std::string("hello"));
      cns.set("point", Point{3, 4.5, "p"});
      cns.set("bytes", Bytes{std::string("\0\xff", 2)});
      return 0;
    });
    REQUIRE(rc == 0);
    CHECK(ns.get<std::string>("from_child") == "hello");
    CHECK(ns.get<Point>("point") == Point{3, 4.5, "p"});
    CHECK(ns.get<Bytes>("bytes").data == std::string("\0\xff", 2));
    ns.set("from_parent", std::vector<int>{1, 2, 3});
    rc = in_child([&] {
      Manager child(d.options(ep));
      auto v = child.Namespace("shared-" + ep.substr(0, 3)).get<std::vector<int>>("from_parent");
      return v == std::vector<int>{1, 2, 3} ? 0 : 1;
    });
    CHECK(rc == 0);
  }
}

TEST_CASE("objects: Namespace surface and atomic operations") {
  Daemon d;
  Manager m(d.options());
  auto ns = m.Namespace("ns");
  ns.set("a", 1);
  ns.set("b", std::string("two"));
  CHECK(ns.has("a"));
  CHECK_FALSE(ns.has("zzz"));
  CHECK(ns.get<int>("a") == 1);
  CHECK(ns.get<int>("missing", 42) == 42);
  CHECK_THROWS_AS(ns.get<int>("missing"), AttributeError);
  CHECK(ns.attributes() == std::vector<std::string>{"a", "b"});
  auto snap = ns.snapshot();
  CHECK(snap.size() == 2);
  CHECK(snap.at("b") == Value("two"));
  CHECK(ns.increment("a") == 2);
  CHECK(ns.increment("a", std::int64_t{-5}) == -3);
  CHECK(ns.increment("f", 0.25) == doctest::Approx(0.25));
  CHECK(ns.compare_and_set("a", -3, 10));
  CHECK_FALSE(ns.compare_and_set("a", -3, 11));
  CHECK(ns.get<int>("a") == 10);
  CHECK(ns.set_if_absent("c", 1));
  CHECK_FALSE(ns.set_if_absent("c", 2));
  ns.del("c");
  CHECK_THROWS_AS(ns.del("c"), AttributeError);
  CHECK(ns.get<Value>("b") == Value("two"));
}

TEST_CASE("objects: dict surface matches Python's dict") {
  Daemon d;
  Manager m(d.options());
  auto dict = m.dict("config");
  dict.set("port", 8080);
  dict.set(7, std::string("int key"));
  dict.set(std::vector<int>{1, 2}, std::string("array key"));
  CHECK(dict.get<int>("port") == 8080);
  CHECK(dict.get<std::string>(7.0) == "int key");  // 7 == 7.0, as in Python
  CHECK(dict.get<std::string>(std::vector<int>{1, 2}) == "array key");
  CHECK_THROWS_AS(dict.get<int>("nope"), KeyError);
  CHECK(dict.get("nope", std::optional<int>{}) == std::nullopt);
  CHECK(dict.get<int>("nope", -1) == -1);
  CHECK(dict.contains("port"));
  CHECK(dict.len() == 3);
  CHECK(dict.keys()[0] == Value("port"));
  CHECK(dict.values()[1] == Value("int key"));
  dict.del(7);
  CHECK_THROWS_AS(dict.del(7), KeyError);
  dict.update(std::map<std::string, int>{{"a", 1}, {"b", 2}});
  dict.update(std::vector<std::pair<std::string, int>>{{"c", 3}});
  CHECK(dict.len() == 5);
  auto items = dict.items<Value, Value>();
  CHECK(items.back() == std::make_pair(Value("c"), Value(3)));
  CHECK(dict.pop<int>("a") == 1);
  CHECK_THROWS_AS(dict.pop<int>("a"), KeyError);
  CHECK(dict.pop("a", 0) == 0);
  auto [k, v] = dict.popitem<std::string, int>();
  CHECK(k == "c");
  CHECK(v == 3);
  CHECK(dict.setdefault("b", 100) == 2);
  CHECK(dict.setdefault("n", 100) == 100);
  CHECK(dict.increment("n") == 101);
  CHECK(dict.increment("hits", 2.5) == doctest::Approx(2.5));
  CHECK(dict.compare_and_set("n", 101, 0));
  CHECK_FALSE(dict.compare_and_set("n", 101, 1));
  auto copy = dict.copy<Value>();  // keys of mixed types: str and array
  CHECK(copy.as_map().size() == dict.len());
  dict.del(std::vector<int>{1, 2});
  CHECK(dict.copy<std::map<std::string, double>>().at("hits") == doctest::Approx(2.5));
  dict.clear();
  CHECK(dict.len() == 0);
  CHECK_THROWS_AS((dict.popitem<Value, Value>()), KeyError);
}

TEST_CASE("objects: list surface matches Python's list") {
  Daemon d;
  Manager m(d.options(d.ipc()));
  auto l = m.list("items");
  for (int i = 0; i < 5; ++i)
    l.append(i);
  l.extend(std::vector<int>{5, 6, 7, 8, 9});
  CHECK(l.len() == 10);
  CHECK(l.get<int>(-1) == 9);
  CHECK_THROWS_AS(l.get<int>(10), IndexError);
  CHECK(l.get_slice<int>({7, std::nullopt, std::nullopt}) == std::vector<int>{7, 8, 9});
  CHECK(l.get_slice<int>({std::nullopt, std::nullopt, -3}) == std::vector<int>{9, 6, 3, 0});
  l.set_slice({0, 3, std::nullopt}, std::vector<std::string>{"a"});
  CHECK(l.len() == 8);
  CHECK(l.get<std::string>(0) == "a");
  CHECK_THROWS_AS(l.set_slice({0, 8, 2}, std::vector<int>{1}), ValueError);
  l.del_slice({0, 1, std::nullopt});
  CHECK(l.copy<int>() == std::vector<int>{3, 4, 5, 6, 7, 8, 9});
  l.insert(0, 100);
  l.insert(-100, -1);
  l.insert(1000, 1000);
  CHECK(l.get<int>(0) == -1);
  CHECK(l.get<int>(-1) == 1000);
  CHECK(l.pop<int>() == 1000);
  CHECK(l.pop<int>(0) == -1);
  CHECK_THROWS_AS(l.pop<int>(50), IndexError);
  l.remove(100);
  CHECK_THROWS_AS(l.remove(100), ValueError);
  CHECK(l.index(5) == 2);
  CHECK(l.index(5.0, 1) == 2);
  CHECK_THROWS_AS(l.index(5, 3), ValueError);
  l.append(5);
  CHECK(l.count(5) == 2);
  CHECK(l.contains(9));
  CHECK_FALSE(l.contains(99));
  l.set(0, 42);
  CHECK(l.get<int>(0) == 42);
  CHECK_THROWS_AS(l.set(99, 1), IndexError);
  l.del(0);
  l.reverse();
  CHECK(l.get<int>(0) == 5);
  l.sort();
  CHECK(l.copy<int>() == std::vector<int>{4, 5, 5, 6, 7, 8, 9});
  l.sort(true);
  CHECK(l.get<int>(0) == 9);
  l.append(std::string("str"));
  CHECK_THROWS_AS(l.sort(), TypeError);
  CHECK(l.get<int>(0) == 9);  // a failed sort leaves the list as it was
  l.clear();
  CHECK(l.len() == 0);
  CHECK_THROWS_AS(l.pop(), IndexError);
}

TEST_CASE("objects: reading a value as the wrong type names the stored type") {
  Daemon d;
  Manager m(d.options());
  auto dict = m.dict("typed");
  dict.set("s", std::string("text"));
  try {
    (void)dict.get<int>("s");
    FAIL("expected TypeError");
  } catch (const TypeError& e) {
    std::string msg = e.what();
    CHECK(msg.find("str") != std::string::npos);
    CHECK(msg.find("int") != std::string::npos);
    CHECK(msg.find("typed") != std::string::npos);
  }
  CHECK(dict.get<Value>("s") == Value("text"));  // the dynamic type reads anything
}

TEST_CASE("objects: opening a name as another type is a TypeError naming both types") {
  Daemon d;
  Manager m(d.options());
  m.dict("thing");
  try {
    m.list("thing");
    FAIL("expected TypeError");
  } catch (const TypeError& e) {
    std::string msg = e.what();
    CHECK(msg.find("dict") != std::string::npos);
    CHECK(msg.find("list") != std::string::npos);
  }
  m.remove("thing");
  CHECK_THROWS_AS(m.remove("thing"), NameError);
  m.list("thing");  // the name is free again
}

TEST_CASE("objects: unnamed objects get unique names, are shareable, and are freed") {
  Daemon d;
  std::string name;
  {
    Manager m(d.options());
    auto a = m.dict();
    auto b = m.dict();
    CHECK(a.name() != b.name());
    CHECK(a.name()[0] == '~');
    a.set("k", 1);
    name = a.name();
    int rc = in_child([&] {
      Manager child(d.options());
      return child.dict(name).get<int>("k") == 1 ? 0 : 1;
    });
    CHECK(rc == 0);
    // Dropping the last proxy releases b.
    std::string bname = b.name();
    b = m.dict();
    auto names = [&] {
      std::vector<std::string> out;
      for (const auto& o : m.objects())
        out.push_back(o.name);
      return out;
    };
    auto listed = names();
    CHECK(std::find(listed.begin(), listed.end(), bname) == listed.end());
    CHECK(std::find(listed.begin(), listed.end(), name) != listed.end());
  }
  // The session that held it closed: nothing is left.
  Manager m(d.options());
  for (int i = 0; i < 100 && !m.objects().empty(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  CHECK(m.objects().empty());
}

TEST_CASE("objects: one Manager used from many threads at once") {
  Daemon d;
  Manager m(d.options());
  auto ns = m.Namespace("threads");
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      auto mine = m.dict("per-thread");
      for (int i = 0; i < 250; ++i) {
        ns.increment("count");
        mine.set(t * 1000 + i, i);
      }
    });
  }
  for (auto& th : threads)
    th.join();
  CHECK(ns.get<int>("count") == 2000);
  CHECK(m.dict("per-thread").len() == 2000);
}

TEST_CASE("objects: names and ops of every msgpack str width reach the daemon as sent") {
  // The client writes a request's envelope itself (begin_request in src/client/proxy.cpp):
  // fixstr up to 31 bytes, str8 up to 255, str16 beyond; names are at most 256 bytes.
  Daemon d;
  Manager m(d.options());
  for (std::size_t n : {1, 31, 32, 255, 256}) {
    CAPTURE(n);
    std::string name(n, 'n');
    auto dict = m.dict(name);
    CHECK(dict.name() == name);
    dict.set("k", static_cast<int>(n));
    CHECK(m.dict(name).get<int>("k") == static_cast<int>(n));
    CHECK(m.call<int>("dict.get", name, std::string("k")) == static_cast<int>(n));
  }
  std::string op = "dict." + std::string(300, 'x');
  try {
    m.call(op, "n");
    FAIL("an unknown op was accepted");
  } catch (const AttributeError& e) {
    CHECK(std::string(e.what()).find(op) != std::string::npos);
  }
}
