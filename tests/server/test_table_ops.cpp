// Pure operations of dict and Namespace (and the shared atomic ops), against Python's semantics.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "protocol/message.hpp"
#include "server/types/dict.hpp"
#include "server/types/namespace.hpp"

using namespace syncmgr;
using namespace syncmgr::server;
namespace err = syncmgr::protocol::err;

TEST_CASE("dict: get, set, del, contains with Python key equality") {
  Table t;
  CHECK(dict_ops::set(t, Value(1), Value("one")).ok());
  CHECK(dict_ops::get(t, Value(1.0)).value() == Value("one"));  // 1 == 1.0
  CHECK(dict_ops::get(t, Value(true)).value() == Value("one"));
  auto missing = dict_ops::get(t, Value("1"));
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().kind == err::key);
  CHECK(dict_ops::get(t, Value("1"), Value(9)).value() == Value(9));
  CHECK(dict_ops::contains(t, Value(1)).value() == Value(true));
  CHECK(dict_ops::del(t, Value(1)).ok());
  CHECK(dict_ops::del(t, Value(1)).error().kind == err::key);
  CHECK(t.size() == 0);
}

TEST_CASE("dict: unhashable keys are a TypeError") {
  Table t;
  auto r = dict_ops::set(t, Value(Map{{"a", 1}}), Value(1));
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == err::type);
  CHECK(dict_ops::set(t, Value(List{1, "x"}), Value(1)).ok());  // arrays of hashables are fine
}

TEST_CASE("dict: a NaN key is refused, alone or inside an array key, and nothing is stored") {
  // NaN never equals itself: such an entry could never be found again, and 20,000 of them shared
  // one probe chain (seconds of daemon time).
  Table t;
  double nan = std::numeric_limits<double>::quiet_NaN();
  for (const Value& key : {Value(nan), Value(List{1, nan})}) {
    auto r = dict_ops::set(t, key, Value(1));
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == err::value);
    CHECK(r.error().message.find("NaN") != std::string::npos);
  }
  CHECK(t.size() == 0);
  CHECK(dict_ops::set(t, Value(1.5), Value(1)).ok());  // other floats are fine
}

TEST_CASE("dict: keys, values and items keep insertion order across deletes") {
  Table t;
  for (int i = 0; i < 100; ++i)
    dict_ops::set(t, Value(i), Value(i * 10));
  for (int i = 0; i < 100; i += 2)
    dict_ops::del(t, Value(i));
  dict_ops::set(t, Value(3), Value(-3));  // overwrite keeps position
  dict_ops::set(t, Value("new"), Value(0));
  auto keys = dict_ops::keys(t).value().as_list();
  REQUIRE(keys.size() == 51);
  CHECK(keys[0] == Value(1));
  CHECK(keys[1] == Value(3));
  CHECK(keys[49] == Value(99));
  CHECK(keys[50] == Value("new"));
  CHECK(dict_ops::values(t).value().as_list()[1] == Value(-3));
  auto items = dict_ops::items(t).value().as_list();
  CHECK(items[2] == Value(List{5, 50}));
}

TEST_CASE("dict: update from a map or pairs; a bad pair changes nothing") {
  Table t;
  CHECK(dict_ops::update(t, Value(Map{{"a", 1}, {"b", 2}})).ok());
  CHECK(dict_ops::update(t, Value(List{Value(List{"c", 3})})).ok());
  CHECK(t.size() == 3);
  auto bad = dict_ops::update(t, Value(List{Value(List{"d", 4}), Value(List{"e"})}));
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().kind == err::value);
  CHECK(t.size() == 3);
  CHECK(dict_ops::update(t, Value(5)).error().kind == err::type);
}

TEST_CASE("dict: pop, popitem (LIFO), setdefault, copy") {
  Table t;
  dict_ops::set(t, Value("a"), Value(1));
  dict_ops::set(t, Value("b"), Value(2));
  dict_ops::set(t, Value("c"), Value(3));
  CHECK(dict_ops::pop(t, Value("a")).value() == Value(1));
  CHECK(dict_ops::pop(t, Value("a")).error().kind == err::key);
  CHECK(dict_ops::pop(t, Value("a"), Value()).value().is_nil());
  CHECK(dict_ops::popitem(t).value() == Value(List{"c", 3}));
  CHECK(dict_ops::setdefault(t, Value("b"), Value(20)).value() == Value(2));
  CHECK(dict_ops::setdefault(t, Value("z"), Value(26)).value() == Value(26));
  CHECK(dict_ops::copy(t).value() == Value(Map{{"b", 2}, {"z", 26}}));
  dict_ops::popitem(t);
  dict_ops::popitem(t);
  auto empty = dict_ops::popitem(t);
  REQUIRE_FALSE(empty.ok());
  CHECK(empty.error().kind == err::key);
  CHECK(empty.error().message.find("empty") != std::string::npos);
}

TEST_CASE("increment: ints stay ints, floats spread, absent is zero, overflow is an error") {
  Table t;
  CHECK(table_ops::increment(t, Value("n"), Value(5)).value() == Value(5));
  auto r = table_ops::increment(t, Value("n"), Value(-7));
  CHECK(r.value() == Value(-2));
  CHECK(r.value().kind() == Value::Kind::integer);
  auto f = table_ops::increment(t, Value("n"), Value(0.5));
  CHECK(f.value() == Value(-1.5));
  CHECK(f.value().kind() == Value::Kind::floating);
  dict_ops::set(t, Value("big"), Value(std::numeric_limits<std::int64_t>::max()));
  auto above = table_ops::increment(t, Value("big"), Value(1));
  CHECK(above.value() == Value(std::uint64_t{1} << 63));  // grows into uint64 like a Python int
  dict_ops::set(t, Value("max"), Value(std::numeric_limits<std::uint64_t>::max()));
  CHECK(table_ops::increment(t, Value("max"), Value(1)).error().kind == err::value);
  dict_ops::set(t, Value("min"), Value(std::numeric_limits<std::int64_t>::min()));
  CHECK(table_ops::increment(t, Value("min"), Value(-1)).error().kind == err::value);
  dict_ops::set(t, Value("s"), Value("text"));
  auto bad = table_ops::increment(t, Value("s"), Value(1));
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().kind == err::type);
  CHECK(bad.error().message.find("str") != std::string::npos);
  CHECK(table_ops::increment(t, Value("n"), Value("1")).error().kind == err::type);
}

TEST_CASE("increment: a result outside the caller's limits is refused and nothing changes") {
  Table t;
  const Value int64{List{Value(std::numeric_limits<std::int64_t>::min()),
                         Value(std::numeric_limits<std::int64_t>::max())}};
  dict_ops::set(t, Value("x"), Value(1.5));
  auto f = table_ops::increment(t, Value("x"), Value(1), int64);
  REQUIRE_FALSE(f.ok());
  CHECK(f.error().kind == err::type);
  CHECK(f.error().message.find("nothing was changed") != std::string::npos);
  CHECK(dict_ops::get(t, Value("x")).value() == Value(1.5));
  dict_ops::set(t, Value("big"), Value(std::numeric_limits<std::int64_t>::max()));
  CHECK(table_ops::increment(t, Value("big"), Value(1), int64).error().kind == err::value);
  CHECK(dict_ops::get(t, Value("big")).value() == Value(std::numeric_limits<std::int64_t>::max()));
  const Value byte{List{Value(0), Value(255)}};
  CHECK(table_ops::increment(t, Value("b"), Value(255), byte).value() == Value(255));
  CHECK(table_ops::increment(t, Value("b"), Value(1), byte).error().kind == err::value);
  CHECK(table_ops::increment(t, Value("b"), Value(-256), byte).error().kind == err::value);
  CHECK(dict_ops::get(t, Value("b")).value() == Value(255));
  CHECK(table_ops::increment(t, Value("b"), Value(1), Value("int")).error().kind == err::type);
  CHECK(table_ops::increment(t, Value("b"), Value(1), Value(List{Value(0)})).error().kind ==
        err::type);
  CHECK(table_ops::increment(t, Value("b"), Value(1)).value() == Value(256));  // nil: any
}

TEST_CASE("compare_and_set and set_if_absent") {
  Table t;
  CHECK(table_ops::compare_and_set(t, Value("k"), Value(), Value(1)).value() == Value(false));
  CHECK(table_ops::set_if_absent(t, Value("k"), Value(1)).value() == Value(true));
  CHECK(table_ops::set_if_absent(t, Value("k"), Value(2)).value() == Value(false));
  CHECK(table_ops::compare_and_set(t, Value("k"), Value(2), Value(3)).value() == Value(false));
  CHECK(table_ops::compare_and_set(t, Value("k"), Value(1.0), Value(3)).value() == Value(true));
  CHECK(dict_ops::get(t, Value("k")).value() == Value(3));
}

TEST_CASE("namespace: attributes are non-empty strings; missing ones are AttributeError") {
  Table t;
  CHECK(namespace_ops::set(t, Value("x"), Value(1)).ok());
  CHECK(namespace_ops::set(t, Value(1), Value(1)).error().kind == err::type);
  CHECK(namespace_ops::set(t, Value(""), Value(1)).error().kind == err::value);
  CHECK(namespace_ops::get(t, Value("y")).error().kind == err::attribute);
  CHECK(namespace_ops::get(t, Value("y"), Value(7)).value() == Value(7));
  CHECK(namespace_ops::del(t, Value("y")).error().kind == err::attribute);
  namespace_ops::set(t, Value("a"), Value(2));
  CHECK(namespace_ops::attributes(t).value() == Value(List{"x", "a"}));
  CHECK(namespace_ops::snapshot(t).value() == Value(Map{{"x", 1}, {"a", 2}}));
}

TEST_CASE("factories: creation parameters are checked") {
  CHECK(make_dict(Value()).ok());
  auto d = make_dict(Value(Map{{"items", Map{{"a", 1}}}}));
  REQUIRE(d.ok());
  CHECK(d.value()->size() == 1);
  CHECK(make_dict(Value(Map{{"bogus", 1}})).error().kind == err::type);
  CHECK(make_namespace(Value(3)).error().kind == err::type);
}

TEST_CASE("table: a random mix of set, erase, pop_last and clear matches a reference model") {
  // The reference: insertion-ordered (key, value) pairs, searched linearly with Python equality.
  std::vector<std::pair<Value, Value>> model;
  auto model_find = [&](const Value& k) {
    return std::find_if(model.begin(), model.end(), [&](const auto& p) { return p.first == k; });
  };
  Table t;
  std::uint64_t rng = 12345;
  auto next = [&](std::uint64_t n) {
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    return (rng >> 33) % n;
  };
  // prefix + number, built by append: GCC 12 at -O3 reports a false -Wrestrict on
  // `"literal" + std::string` (its inlined insert-at-front memcpy; GCC bug 105329).
  auto numbered = [](const char* prefix, std::int64_t n) {
    return std::string(prefix).append(std::to_string(n));
  };
  // Ints, the floats equal to them (1 == 1.0: the same key), short strings (stored inline), long
  // ones and bytes (on the heap) and arrays, from a small key space so that keys are overwritten,
  // erased and re-inserted (tombstones, compaction, growth).
  auto key = [&]() -> Value {
    auto n = static_cast<std::int64_t>(next(3000));
    switch (next(6)) {
      case 0:
        return Value(n);
      case 1:
        return Value(static_cast<double>(n));
      case 2:
        return Value(numbered("k", n));
      case 3:
        return Value(numbered("a longer key, on the heap: ", n));
      case 4:
        return Value(Bytes{numbered("b", n % 50)});
      default:
        return Value(List{n % 40, "x"});
    }
  };
  // Values of every storage kind.
  auto value = [&](int step) -> Value {
    switch (step % 5) {
      case 0:
        return Value(static_cast<std::int64_t>(step));
      case 1:
        return Value(numbered("value number ", step).append(" is long"));
      case 2:
        return Value(Map{{"step", step}});
      case 3:
        return Value(Bytes{std::to_string(step)});
      default:
        return Value(static_cast<double>(step) / 4);
    }
  };
  for (int step = 0; step < 60000; ++step) {
    auto op = next(100);
    if (op < 55) {
      Value k = key();
      Value v = value(step);
      auto it = model_find(k);
      bool fresh = it == model.end();
      if (fresh) {
        model.emplace_back(k, v);
      } else {
        it->second = v;
      }
      REQUIRE(t.set(k, v) == fresh);
    } else if (op < 95) {
      Value k = key();
      auto it = model_find(k);
      auto got = t.erase(k);
      REQUIRE(got.has_value() == (it != model.end()));
      if (got) {
        CHECK(*got == it->second);
        model.erase(it);
      }
    } else if (op < 99) {
      auto got = t.pop_last();
      REQUIRE(got.has_value() == !model.empty());
      if (got) {
        CHECK(got->first == model.back().first);
        model.pop_back();
      }
    } else if (next(20) == 0) {
      t.clear();
      model.clear();
    }
    REQUIRE(t.size() == model.size());
    if (step % 5000 == 0) {
      std::vector<std::pair<Value, Value>> seen;
      t.for_each([&](const Value& k, const Value& v) { seen.emplace_back(k, v); });
      REQUIRE(seen.size() == model.size());
      for (std::size_t i = 0; i < seen.size(); ++i) {
        CHECK(seen[i].first == model[i].first);  // insertion order kept
        CHECK(seen[i].second == model[i].second);
      }
      for (const auto& [k, v] : model) {
        REQUIRE(t.get(k).has_value());
        CHECK(*t.get(k) == v);
      }
    }
  }
}

TEST_CASE("table: keys that are not equal to themselves (NaN) can be popped without harm") {
  // NaN != NaN, as in Python: each set adds an entry that no lookup finds again, but popitem must
  // still remove exactly that entry from the index (it used to look it up by key and miss).
  Table t;
  double nan = std::numeric_limits<double>::quiet_NaN();
  for (int round = 0; round < 2000; ++round) {
    REQUIRE(t.set(Value(nan), Value(round)));
    REQUIRE(t.set(Value(List{nan}), Value(-round)));
    auto last = t.pop_last();
    REQUIRE(last);
    CHECK(last->second == Value(-round));
    last = t.pop_last();
    REQUIRE(last);
    CHECK(last->second == Value(round));
    REQUIRE(t.size() == 0);
  }
  CHECK(t.set(Value(1), Value("one")));  // the index still works
  CHECK(*t.get(Value(1)) == Value("one"));
  CHECK_FALSE(t.get(Value(nan)).has_value());
}

TEST_CASE("table: large values leave by pop, popitem and compare_and_set intact") {
  Table t;
  Value big(std::string(100000, 'b'));
  Value big2(Bytes{std::string(50000, 'c')});
  t.set(Value("k"), big);
  CHECK(t.compare_and_set(Value("k"), big, big2));
  CHECK_FALSE(t.compare_and_set(Value("k"), big, Value(1)));
  CHECK(*t.get(Value("k")) == big2);
  auto popped = t.erase(Value("k"));
  REQUIRE(popped);
  CHECK(*popped == big2);
  t.set(Value("m"), big);
  auto item = t.pop_last();
  REQUIRE(item);
  CHECK(item->first == Value("m"));
  CHECK(item->second == big);
  CHECK(t.size() == 0);
}
