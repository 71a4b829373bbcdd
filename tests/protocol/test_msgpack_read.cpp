// The direct msgpack reader (protocol/msgpack_read.hpp) against msgpack-c: whatever it reads, it
// reads as msgpack-c and the Value adaptor do; what it declines, the general path decides.
#include <doctest/doctest.h>

#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "protocol/message.hpp"
#include "protocol/msgpack_read.hpp"
#include "syncmgr/value.hpp"

using syncmgr::Bytes;
using syncmgr::List;
using syncmgr::Map;
using syncmgr::Value;
namespace protocol = syncmgr::protocol;

namespace {

std::string packed(const Value& v) {
  msgpack::sbuffer buf;
  msgpack::pack(buf, v);
  return std::string(buf.data(), buf.size());
}

template <class F>
std::string pack_with(F f) {
  msgpack::sbuffer buf;
  msgpack::packer<msgpack::sbuffer> pk(buf);
  f(pk);
  return std::string(buf.data(), buf.size());
}

// The general path: msgpack-c with the daemon's limits, then the Value adaptor.
std::optional<Value> general(const std::string& bytes) {
  try {
    std::size_t off = 0;
    auto oh = msgpack::unpack(bytes.data(), bytes.size(), off, nullptr, nullptr,
                              protocol::unpack_limits(bytes.size()));
    if (off != bytes.size()) return std::nullopt;
    return oh.get().as<Value>();
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

std::optional<Value> direct(const std::string& bytes) {
  protocol::Cursor c(bytes);
  Value v;
  if (!protocol::read_value(c, v, protocol::kMaxValueDepth) || !c.at_end()) return std::nullopt;
  return v;
}

// Same value and same kinds throughout (Value's == says 1 == 1.0 == true): compared packed.
void check_same_as_general(const std::string& bytes) {
  auto d = direct(bytes);
  if (!d) return;  // declined: the general path decides
  auto g = general(bytes);
  REQUIRE(g.has_value());
  CHECK(packed(*d) == packed(*g));
}

Value random_value(std::mt19937_64& rng, int depth) {
  switch (rng() % (depth > 3 ? 7 : 9)) {
    case 0:
      return Value();
    case 1:
      return Value(rng() % 2 == 0);
    case 2:
      return Value(static_cast<std::int64_t>(rng()) >> (rng() % 64));
    case 3:
      return Value(rng() >> (rng() % 64));
    case 4:
      return Value(static_cast<double>(static_cast<std::int64_t>(rng())) / 1e6);
    case 5:
      return Value(std::string(rng() % 40, static_cast<char>('a' + rng() % 26)));
    case 6:
      return Value(Bytes{std::string(rng() % 300, static_cast<char>(rng()))});
    case 7: {
      List a(rng() % 20);
      for (auto& v : a)
        v = random_value(rng, depth + 1);
      return Value(std::move(a));
    }
    default: {
      Map m;
      std::size_t n = rng() % 5;
      for (std::size_t i = 0; i < n; ++i) {
        // Appended, not "k" + to_string(i): GCC 12 at -O3 reports a false -Wrestrict on that.
        std::string key = "k";
        key += std::to_string(i);
        m.emplace_back(Value(key), random_value(rng, depth + 1));
      }
      return Value(std::move(m));
    }
  }
}

}  // namespace

TEST_CASE("msgpack_read: every kind, in every width, reads as msgpack-c reads it") {
  std::vector<std::string> cases = {
      packed(Value()),
      packed(Value(true)),
      packed(Value(false)),
      packed(Value(0)),
      packed(Value(127)),
      packed(Value(128)),
      packed(Value(-1)),
      packed(Value(-32)),
      packed(Value(-33)),
      packed(Value(std::int64_t{INT64_MIN})),
      packed(Value(std::uint64_t{UINT64_MAX})),
      packed(Value(3.5)),
      packed(Value(std::string(31, 'x'))),
      packed(Value(std::string(32, 'x'))),
      packed(Value(std::string(70000, 'x'))),
      packed(Value(Bytes{std::string(300, '\0')})),
      packed(Value(List(16, Value(1)))),
      packed(Value(List(70000, Value(1)))),
      packed(Value(Map{{"a", 1}, {2, Value(List{})}})),
      pack_with([](auto& pk) { pk.pack_int8(5); }),
      pack_with([](auto& pk) { pk.pack_int16(-300); }),
      pack_with([](auto& pk) { pk.pack_int32(70000); }),
      pack_with([](auto& pk) { pk.pack_int64(-5); }),
      pack_with([](auto& pk) { pk.pack_uint64(7); }),  // a non-minimal width
      pack_with([](auto& pk) { pk.pack_float(1.5f); }),
  };
  for (const auto& bytes : cases) {
    CAPTURE(bytes.size());
    REQUIRE(direct(bytes).has_value());  // the reader takes every well-formed kind itself
    check_same_as_general(bytes);
  }
  CHECK(*direct(pack_with([](auto& pk) { pk.pack_int16(-300); })) == Value(-300));
  CHECK(direct(pack_with([](auto& pk) { pk.pack_float(1.5f); }))->kind() == Value::Kind::floating);
}

TEST_CASE("msgpack_read: what it declines, msgpack-c decides") {
  // An ext value, a map with duplicate keys, a count larger than the bytes, a truncated str,
  // the unused byte 0xc1: declined.
  CHECK_FALSE(direct(pack_with([](auto& pk) {
                pk.pack_ext(1, 7);
                pk.pack_ext_body("x", 1);
              })).has_value());
  CHECK_FALSE(direct(pack_with([](auto& pk) {
                pk.pack_map(2);
                pk.pack(1);
                pk.pack(1);
                pk.pack(1.0);
                pk.pack(2);
              })).has_value());
  CHECK_FALSE(direct(std::string("\xdd\xff\xff\xff\xff", 5)).has_value());
  CHECK_FALSE(direct(std::string("\xa5hi", 3)).has_value());
  CHECK_FALSE(direct(std::string("\xc1", 1)).has_value());
  // Nesting: kMaxValueDepth levels are read, one more is declined.
  auto nested = [](std::size_t levels) {
    return pack_with([levels](auto& pk) {
      for (std::size_t i = 0; i + 1 < levels; ++i)
        pk.pack_array(1);
      pk.pack_array(0);
    });
  };
  CHECK(direct(nested(protocol::kMaxValueDepth)).has_value());
  CHECK_FALSE(direct(nested(protocol::kMaxValueDepth + 1)).has_value());
}

TEST_CASE("msgpack_read: random values and their corruptions never read differently") {
  std::mt19937_64 rng(20261130);
  for (int i = 0; i < 3000; ++i) {
    std::string bytes = packed(random_value(rng, 0));
    REQUIRE(direct(bytes).has_value());
    check_same_as_general(bytes);
    // Damaged: a byte changed, or cut short.
    for (int k = 0; k < 4; ++k) {
      std::string bad = bytes;
      bad[rng() % bad.size()] = static_cast<char>(rng());
      check_same_as_general(bad);
      check_same_as_general(bytes.substr(0, rng() % bytes.size()));
    }
  }
}

TEST_CASE("read_request: a well-formed request is read, anything else is left where it was") {
  auto request = [](auto f) {
    return pack_with([&](auto& pk) {
      pk.pack_array(4);
      f(pk);
    });
  };
  std::vector<Value> args;
  std::string ok = request([](auto& pk) {
    pk.pack(9);
    pk.pack(std::string("dict.set"));
    pk.pack(std::string("d"));
    pk.pack_array(2);
    pk.pack(std::string("k"));
    pk.pack(Value(List{1, 2}));
  });
  std::string two = ok + ok;
  protocol::Cursor c(two);
  protocol::RequestView r;
  REQUIRE(protocol::read_request(c, r, args));
  CHECK(r.id == 9);
  CHECK(r.op == "dict.set");
  CHECK(r.target == "d");
  REQUIRE(args.size() == 2);
  CHECK(args[1] == Value(List{1, 2}));
  CHECK(c.remaining() == ok.size());

  auto declined = [&](const std::string& bytes) {
    protocol::Cursor d(bytes);
    bool read = protocol::read_request(d, r, args);
    return !read && d.remaining() == bytes.size();
  };
  CHECK(declined(request([](auto& pk) {  // id 0
    pk.pack(0);
    pk.pack(std::string("ping"));
    pk.pack_nil();
    pk.pack_array(0);
  })));
  CHECK(declined(request([](auto& pk) {  // an ext argument
    pk.pack(1);
    pk.pack(std::string("queue.put"));
    pk.pack(std::string("q"));
    pk.pack_array(1);
    pk.pack_ext(1, 7);
    pk.pack_ext_body("x", 1);
  })));
  CHECK(declined(pack_with([](auto& pk) {  // three fields
    pk.pack_array(3);
    pk.pack(1);
    pk.pack(std::string("ping"));
    pk.pack_nil();
  })));
  CHECK(declined(ok.substr(0, ok.size() - 1)));  // truncated
}
