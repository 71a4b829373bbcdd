// Cell, the 16-byte storage of a table's keys and values: every kind round-trips, and equality and
// hashing agree with Value's (a table that stores cells must find what Value equality finds).
#include <doctest/doctest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "server/types/cell.hpp"

using namespace syncmgr;
using syncmgr::server::Cell;

namespace {
std::vector<Value> samples() {
  return {Value(),
          Value(true),
          Value(false),
          Value(0),
          Value(-7),
          Value(std::numeric_limits<std::int64_t>::min()),
          Value(std::numeric_limits<std::uint64_t>::max()),
          Value(2.5),
          Value(3.0),
          Value(""),
          Value("fourteen bytes"),        // the longest kept inline
          Value("fifteen bytes!!"),       // the shortest kept on the heap
          Value(std::string(4095, 'y')),  // the longest copied into the cell's own block
          Value(std::string(4096, 'y')),  // the shortest kept as its moved Value
          Value(std::string(100000, 'z')),
          Value(Bytes{std::string(5000, '\x02')}),
          Value(std::string("nul\0inside", 10)),
          Value(Bytes{"ab"}),
          Value(Bytes{std::string(40, '\x01')}),
          Value(List{1, "two", List{3.5}}),
          Value(Map{{"k", 1}, {2, Bytes{"v"}}})};
}
}  // namespace

TEST_CASE("cell: every kind of value round-trips, compares and hashes as the Value does") {
  auto all = samples();
  for (const auto& v : all) {
    CAPTURE(v.repr());
    Cell c(v);
    Value back = c.get();
    CHECK(back == v);
    CHECK(back.kind() == v.kind());
    CHECK(c.equals(v));
    if (v.hashable()) CHECK(c.hash() == v.hash());
    c.visit([&](const Value& seen) { CHECK(seen == v); });
    for (const auto& other : all) {
      CAPTURE(other.repr());
      CHECK(c.equals(other) == (v == other));
    }
  }
}

TEST_CASE("cell: Python's cross-type equality and str/bin separation hold in place") {
  CHECK(Cell(Value(1)).equals(Value(1.0)));
  CHECK(Cell(Value(1.0)).equals(Value(true)));
  CHECK(Cell(Value(1)).hash() == Value(1.0).hash());
  CHECK_FALSE(Cell(Value("abc")).equals(Value(Bytes{"abc"})));
  CHECK_FALSE(Cell(Value(Bytes{std::string(20, 'a')})).equals(Value(std::string(20, 'a'))));
  CHECK_FALSE(Cell(Value("1")).equals(Value(1)));
}

TEST_CASE("cell: take moves the value out and leaves the cell nil") {
  for (const auto& v : samples()) {
    CAPTURE(v.repr());
    Cell c(v);
    CHECK(c.take() == v);
    CHECK(c.get().is_nil());
  }
}

TEST_CASE("cell: moves leave the source empty and the value intact") {
  Cell a(Value(std::string(64, 'q')));
  Cell b(std::move(a));
  CHECK(b.get() == Value(std::string(64, 'q')));
  CHECK(a.get().is_nil());  // NOLINT(bugprone-use-after-move): moved-from is nil by contract
  Cell c(Value(Map{{"x", 1}}));
  c = std::move(b);
  CHECK(c.get() == Value(std::string(64, 'q')));
  c = Cell(Value(5));
  CHECK(c.get() == Value(5));
}
