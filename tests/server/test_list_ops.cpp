// Unit tests for the pure list operations: each expectation is what Python's list does.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

#include "protocol/message.hpp"
#include "server/types/list.hpp"

using namespace syncmgr;
using namespace syncmgr::server;
namespace ops = syncmgr::server::list_ops;
namespace err = syncmgr::protocol::err;

namespace {

ops::Items range(std::int64_t n) {
  ops::Items v;
  for (std::int64_t i = 0; i < n; ++i)
    v.emplace_back(i);
  return v;
}

// JSON-like rendering, so failed checks print both sides readably.
std::string show(const ops::Items& items) {
  return Value(List(items)).repr(100000);
}
std::string show(const Value& v) {
  return v.repr(100000);
}

}  // namespace

// Checks that an op failed with the given kind and message.
#define CHECK_ERR(expr, kind_, message_)     \
  do {                                       \
    auto r_ = (expr);                        \
    REQUIRE_FALSE(r_.ok());                  \
    CHECK(r_.error().kind == (kind_));       \
    CHECK(r_.error().message == (message_)); \
  } while (0)

TEST_CASE("list.get_slice follows Python's slice rules") {
  const auto a = range(10);
  auto slice = [&](ops::Bound start, ops::Bound stop, ops::Bound step) {
    auto r = ops::get_slice(a, start, stop, step);
    REQUIRE(r.ok());
    return show(r.value());
  };
  CHECK(slice(-3, {}, {}) == "[7, 8, 9]");                         // a[-3:]
  CHECK(slice({}, {}, -2) == "[9, 7, 5, 3, 1]");                   // a[::-2]
  CHECK(slice({}, {}, 2) == "[0, 2, 4, 6, 8]");                    // a[::2]
  CHECK(slice(1, 8, 3) == "[1, 4, 7]");                            // a[1:8:3]
  CHECK(slice(8, 1, -3) == "[8, 5, 2]");                           // a[8:1:-3]
  CHECK(slice(-100, 100, {}) == show(a));                          // a[-100:100]
  CHECK(slice(100, {}, {}) == "[]");                               // a[100:]
  CHECK(slice(5, 2, {}) == "[]");                                  // a[5:2]
  CHECK(slice(2, 5, 1) == "[2, 3, 4]");                            // a[2:5:1]
  CHECK(slice({}, -100, -1) == "[9, 8, 7, 6, 5, 4, 3, 2, 1, 0]");  // a[:-100:-1]
  CHECK(slice(-1, -100, -4) == "[9, 5, 1]");                       // a[-1:-100:-4]
  CHECK(slice(3, {}, -1) == "[3, 2, 1, 0]");                       // a[3::-1]
  CHECK(slice(10, {}, -1) == "[9, 8, 7, 6, 5, 4, 3, 2, 1, 0]");    // a[10::-1]
  CHECK(slice(-1, -1, -1) == "[]");                                // a[-1:-1:-1]
  CHECK(slice({}, -1, {}) == "[0, 1, 2, 3, 4, 5, 6, 7, 8]");       // a[:-1]
  constexpr auto lo = std::numeric_limits<std::int64_t>::min();
  constexpr auto hi = std::numeric_limits<std::int64_t>::max();
  CHECK(slice(lo, hi, {}) == show(a));
  CHECK(slice({}, {}, lo) == "[9]");  // a[::-2**63]
  CHECK(slice({}, {}, hi) == "[0]");
  CHECK(show(ops::get_slice({}, {}, {}, -1).value()) == "[]");
  CHECK_ERR(ops::get_slice(a, {}, {}, 0), err::value, "slice step cannot be zero");
}

TEST_CASE("list.del_slice") {
  auto del = [](ops::Bound start, ops::Bound stop, ops::Bound step) {
    auto a = range(10);
    REQUIRE(ops::del_slice(a, start, stop, step).ok());
    return show(a);
  };
  CHECK(del(1, 8, 3) == "[0, 2, 3, 5, 6, 8, 9]");  // removes indices 1, 4, 7
  CHECK(del({}, {}, -3) == "[1, 2, 4, 5, 7, 8]");  // removes 9, 6, 3, 0
  CHECK(del(2, 5, {}) == "[0, 1, 5, 6, 7, 8, 9]");
  CHECK(del(5, 2, {}) == show(range(10)));
  CHECK(del({}, {}, 2) == "[1, 3, 5, 7, 9]");
  CHECK(del(8, 1, -3) == "[0, 1, 3, 4, 6, 7, 9]");  // removes 8, 5, 2
  CHECK(del(-2, {}, {}) == "[0, 1, 2, 3, 4, 5, 6, 7]");
  CHECK(del({}, {}, {}) == "[]");
  CHECK(del(3, 3, 2) == show(range(10)));
  auto a = range(3);
  CHECK_ERR(ops::del_slice(a, {}, {}, 0), err::value, "slice step cannot be zero");
  CHECK(show(a) == "[0, 1, 2]");
}

TEST_CASE("list.set_slice") {
  auto set = [](ops::Bound start, ops::Bound stop, ops::Bound step, List values) {
    auto a = range(10);
    auto r = ops::set_slice(a, start, stop, step, Value(std::move(values)));
    REQUIRE(r.ok());
    return show(a);
  };
  SUBCASE("a simple slice takes any number of values") {
    CHECK(set(2, 5, {}, {"a"}) == R"([0, 1, "a", 5, 6, 7, 8, 9])");
    CHECK(set(5, 2, {}, {"x", "y"}) == R"([0, 1, 2, 3, 4, "x", "y", 5, 6, 7, 8, 9])");
    CHECK(set(100, {}, {}, {10}) == "[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]");
    CHECK(set({}, 0, {}, {-1}) == "[-1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9]");
    CHECK(set(0, 10, 1, {}) == "[]");  // an explicit step 1 is a simple slice
    CHECK(set(-2, {}, {}, {"a", "b", "c"}) == R"([0, 1, 2, 3, 4, 5, 6, 7, "a", "b", "c"])");
  }
  SUBCASE("an extended slice needs exactly as many values") {
    CHECK(set({}, {}, 2, {"a", "b", "c", "d", "e"}) ==
          R"(["a", 1, "b", 3, "c", 5, "d", 7, "e", 9])");
    CHECK(set({}, {}, -1, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9}) == "[9, 8, 7, 6, 5, 4, 3, 2, 1, 0]");
    CHECK(set(8, 1, -3, {"a", "b", "c"}) == R"([0, 1, "c", 3, 4, "b", 6, 7, "a", 9])");
    CHECK(set(1, 1, 2, {}) == show(range(10)));
    auto a = range(10);
    CHECK_ERR(ops::set_slice(a, {}, {}, 2, Value(List{1, 2})), err::value,
              "attempt to assign sequence of size 2 to extended slice of size 5");
    CHECK_ERR(ops::set_slice(a, 1, 1, 2, Value(List{5})), err::value,
              "attempt to assign sequence of size 1 to extended slice of size 0");
    CHECK(show(a) == show(range(10)));
  }
  SUBCASE("errors") {
    auto a = range(3);
    CHECK_ERR(ops::set_slice(a, {}, {}, 0, Value(List{})), err::value, "slice step cannot be zero");
    auto r = ops::set_slice(a, 0, 1, {}, Value(5));
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == err::type);
    CHECK(show(a) == "[0, 1, 2]");
  }
}

TEST_CASE("list.append, list.extend") {
  ops::Items a{1};
  REQUIRE(ops::append(a, Value("x")).ok());
  REQUIRE(ops::extend(a, Value(List{2, 3})).ok());
  REQUIRE(ops::extend(a, Value(List{})).ok());
  CHECK(show(a) == R"([1, "x", 2, 3])");
  auto r = ops::extend(a, Value(5));
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == err::type);
  CHECK(show(a) == R"([1, "x", 2, 3])");
}

TEST_CASE("list.insert clamps like Python") {
  auto insert = [](std::int64_t index) {
    ops::Items a{1, 2, 3};
    REQUIRE(ops::insert(a, index, Value("x")).ok());
    return show(a);
  };
  CHECK(insert(0) == R"(["x", 1, 2, 3])");
  CHECK(insert(1) == R"([1, "x", 2, 3])");
  CHECK(insert(3) == R"([1, 2, 3, "x"])");
  CHECK(insert(100) == R"([1, 2, 3, "x"])");  // beyond the end appends
  CHECK(insert(-1) == R"([1, 2, "x", 3])");
  CHECK(insert(-3) == R"(["x", 1, 2, 3])");
  CHECK(insert(-100) == R"(["x", 1, 2, 3])");  // very negative prepends
  CHECK(insert(std::numeric_limits<std::int64_t>::min()) == R"(["x", 1, 2, 3])");
  ops::Items empty;
  REQUIRE(ops::insert(empty, 5, Value(1)).ok());
  CHECK(show(empty) == "[1]");
}

TEST_CASE("list.pop") {
  ops::Items empty;
  CHECK_ERR(ops::pop(empty), err::index, "pop from empty list");
  CHECK_ERR(ops::pop(empty, 0), err::index, "pop from empty list");

  ops::Items a{1, 2, 3};
  CHECK(ops::pop(a).value().as_int() == 3);
  CHECK(show(a) == "[1, 2]");
  CHECK_ERR(ops::pop(a, 10), err::index, "pop index out of range");
  CHECK_ERR(ops::pop(a, 2), err::index, "pop index out of range");
  CHECK_ERR(ops::pop(a, -3), err::index, "pop index out of range");
  CHECK(show(a) == "[1, 2]");
  CHECK(ops::pop(a, -2).value().as_int() == 1);
  CHECK(ops::pop(a, 0).value().as_int() == 2);
  CHECK(a.empty());
}

TEST_CASE("list.remove removes the first equal item") {
  ops::Items a{1, 2, 1};
  REQUIRE(ops::remove(a, Value(1)).ok());
  CHECK(show(a) == "[2, 1]");

  ops::Items b{true, 1};
  REQUIRE(ops::remove(b, Value(1.0)).ok());  // 1.0 == True
  REQUIRE(b.size() == 1);
  CHECK(b[0].kind() == Value::Kind::integer);

  ops::Items c{1, 2};
  CHECK_ERR(ops::remove(c, Value(3)), err::value, "list.remove(x): x not in list");
  CHECK_ERR(ops::remove(c, Value("1")), err::value, "list.remove(x): x not in list");
  CHECK(show(c) == "[1, 2]");
}

TEST_CASE("list.index") {
  const ops::Items a{1, 2, 3, 2};
  auto index = [&](const Value& v, std::int64_t start = 0,
                   std::int64_t stop = std::numeric_limits<std::int64_t>::max()) {
    auto r = ops::index(a, v, start, stop);
    REQUIRE(r.ok());
    return r.value().as_int();
  };
  CHECK(index(Value(2)) == 1);
  CHECK(index(Value(2.0)) == 1);
  CHECK(index(Value(2), 2) == 3);
  CHECK(index(Value(2), -2) == 3);    // start counts from the end
  CHECK(index(Value(1), -100) == 0);  // and clamps at 0
  CHECK(index(Value(3), 0, -1) == 2);
  CHECK(index(Value(2), 1, 2) == 1);
  CHECK(index(Value(2), 0, 100) == 1);
  CHECK_ERR(ops::index(a, Value(2), 2, 3), err::value, "2 is not in list");
  CHECK_ERR(ops::index(a, Value(2), 0, -3), err::value, "2 is not in list");
  CHECK_ERR(ops::index(a, Value(2), 10), err::value, "2 is not in list");
  CHECK_ERR(ops::index(a, Value("x")), err::value, Value("x").repr() + " is not in list");
  CHECK_ERR(ops::index({}, Value(5)), err::value, "5 is not in list");
}

TEST_CASE("list.count and list.contains use Python equality") {
  const ops::Items a{1, 1.0, true, "1", 2, List{1}, 0, false, 0.0, nullptr};
  auto count = [&](const Value& v) { return ops::count(a, v).value().as_int(); };
  CHECK(count(Value(1)) == 3);  // 1 == 1.0 == True
  CHECK(count(Value(true)) == 3);
  CHECK(count(Value("1")) == 1);
  CHECK(count(Value(List{1.0})) == 1);
  CHECK(count(Value(0)) == 3);  // None is not 0
  CHECK(count(Value(nullptr)) == 1);
  CHECK(count(Value(7)) == 0);

  CHECK(ops::contains(a, Value(2.0)).value().as_bool());
  CHECK_FALSE(ops::contains(a, Value("2")).value().as_bool());
  CHECK_FALSE(ops::contains({}, Value(nullptr)).value().as_bool());
}

TEST_CASE("list.get, list.set, list.del index like Python") {
  ops::Items a = range(5);
  CHECK(ops::get(a, -1).value().as_int() == 4);
  CHECK(ops::get(a, 0).value().as_int() == 0);
  CHECK(ops::get(a, -5).value().as_int() == 0);
  CHECK_ERR(ops::get(a, 5), err::index, "list index out of range");
  CHECK_ERR(ops::get(a, -6), err::index, "list index out of range");
  CHECK_ERR(ops::get({}, 0), err::index, "list index out of range");
  CHECK_ERR(ops::get(a, std::numeric_limits<std::int64_t>::min()), err::index,
            "list index out of range");

  REQUIRE(ops::set(a, -1, Value("x")).ok());
  REQUIRE(ops::set(a, 0, Value("y")).ok());
  CHECK(show(a) == R"(["y", 1, 2, 3, "x"])");
  CHECK_ERR(ops::set(a, 5, Value(0)), err::index, "list assignment index out of range");
  CHECK_ERR(ops::set(a, -6, Value(0)), err::index, "list assignment index out of range");

  REQUIRE(ops::del(a, -1).ok());
  REQUIRE(ops::del(a, 1).ok());
  CHECK(show(a) == R"(["y", 2, 3])");
  CHECK_ERR(ops::del(a, 3), err::index, "list assignment index out of range");
  CHECK_ERR(ops::del(a, -4), err::index, "list assignment index out of range");
  CHECK(show(a) == R"(["y", 2, 3])");
}

TEST_CASE("list.sort") {
  SUBCASE("numbers, ints and floats together") {
    ops::Items a{3, 1.5, 2, 0.5, -2, true};
    REQUIRE(ops::sort(a).ok());
    CHECK(show(a) == "[-2, 0.5, true, 1.5, 2, 3]");
  }
  SUBCASE("reverse") {
    ops::Items a{3, 1, 2};
    REQUIRE(ops::sort(a, true).ok());
    CHECK(show(a) == "[3, 2, 1]");
  }
  SUBCASE("strings and nested arrays") {
    ops::Items s{"b", "a", "c", "ab"};
    REQUIRE(ops::sort(s).ok());
    CHECK(show(s) == R"(["a", "ab", "b", "c"])");
    ops::Items n{List{2}, List{1, 2}, List{1}, List{}};
    REQUIRE(ops::sort(n).ok());
    CHECK(show(n) == "[[], [1], [1, 2], [2]]");
  }
  SUBCASE("stable: equal items keep their order, also when reversed") {
    ops::Items a{1.0, 2, 1, 0, true};
    REQUIRE(ops::sort(a).ok());
    REQUIRE(a.size() == 5);
    CHECK(a[0].as_int() == 0);
    CHECK(a[1].kind() == Value::Kind::floating);
    CHECK(a[2].kind() == Value::Kind::integer);
    CHECK(a[3].kind() == Value::Kind::boolean);
    CHECK(a[4].as_int() == 2);

    ops::Items b{1.0, 2, 1, 0, true};
    REQUIRE(ops::sort(b, true).ok());  // Python: [2, 1.0, 1, True, 0]
    CHECK(b[0].as_int() == 2);
    CHECK(b[1].kind() == Value::Kind::floating);
    CHECK(b[2].kind() == Value::Kind::integer);
    CHECK(b[3].kind() == Value::Kind::boolean);
    CHECK(b[4].as_int() == 0);
  }
  SUBCASE("unorderable items: TypeError, list unchanged") {
    ops::Items a{3, 2, 1, "a", 0};
    auto r = ops::sort(a);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == err::type);
    CHECK(r.error().message.rfind("'<' not supported between instances of '", 0) == 0);
    CHECK(show(a) == R"([3, 2, 1, "a", 0])");

    ops::Items b{1, "a"};
    CHECK(ops::sort(b, true).error().kind == err::type);
    CHECK(show(b) == R"([1, "a"])");

    ops::Items c{nullptr, nullptr};
    CHECK_ERR(ops::sort(c), err::type, "'<' not supported between instances of 'nil' and 'nil'");
  }
  SUBCASE("nothing to compare: any single item sorts") {
    ops::Items a{Map{}};
    CHECK(ops::sort(a).ok());
    ops::Items empty;
    CHECK(ops::sort(empty).ok());
  }
  SUBCASE("NaN sorts after the other numbers instead of failing") {
    ops::Items a{std::nan(""), 1, 0};
    REQUIRE(ops::sort(a).ok());
    CHECK(a[0].as_int() == 0);
    CHECK(a[1].as_int() == 1);
    CHECK(std::isnan(a[2].as_double()));
  }
}

TEST_CASE("list.reverse, list.clear, list.copy, list.len") {
  ops::Items a{1, "two", 3.5};
  REQUIRE(ops::reverse(a).ok());
  CHECK(show(a) == R"([3.5, "two", 1])");
  CHECK(show(ops::copy(a).value()) == R"([3.5, "two", 1])");
  CHECK(ops::len(a).value().as_int() == 3);
  REQUIRE(ops::clear(a).ok());
  CHECK(a.empty());
  CHECK(ops::len(a).value().as_int() == 0);
  CHECK(show(ops::copy(a).value()) == "[]");
}

TEST_CASE("make_list") {
  auto made = make_list(Value());
  REQUIRE(made.ok());
  CHECK(made.value()->type() == "list");
  CHECK(made.value()->size() == 0);

  auto with = make_list(Value(Map{{Value("items"), Value(List{1, "a"})}}));
  REQUIRE(with.ok());
  CHECK(show(static_cast<ListObject&>(*with.value()).items) == R"([1, "a"])");
  CHECK(make_list(Value(Map{})).ok());

  CHECK(make_list(Value(5)).error().kind == err::type);
  CHECK(make_list(Value(Map{{Value("items"), Value(3)}})).error().kind == err::type);
  CHECK(make_list(Value(Map{{Value("other"), Value(List{})}})).error().kind == err::type);
}
