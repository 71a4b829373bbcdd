// ReplyReader (src/client/reply_reader.hpp): the hand-read replies must be exactly what msgpack-c
// would have built, for every scalar kind and width; other results go to msgpack-c; a truncated
// or malformed payload throws rather than yield a reply.
#include <doctest/doctest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include <msgpack.hpp>

#include "client/reply_reader.hpp"

using syncmgr::detail::Reply;
using syncmgr::detail::ReplyReader;

namespace {

template <class T>
std::string ok_reply(std::uint64_t id, const T& result) {
  msgpack::sbuffer b;
  msgpack::packer<msgpack::sbuffer> pk(b);
  pk.pack_array(3);
  pk.pack(id);
  pk.pack(0);
  pk.pack(result);
  return std::string(b.data(), b.size());
}

std::string error_reply(std::uint64_t id, std::string_view kind, std::string_view message) {
  msgpack::sbuffer b;
  msgpack::packer<msgpack::sbuffer> pk(b);
  pk.pack_array(4);
  pk.pack(id);
  pk.pack(1);
  pk.pack(kind);
  pk.pack(message);
  return std::string(b.data(), b.size());
}

// What msgpack-c makes of the reply's result. (Kept in the reply's own handle: a deep copy of
// an empty str makes msgpack-c memcpy from a null pointer, which UBSan reports.)
struct Expected {
  msgpack::object_handle reply;
  const msgpack::object& get() const { return reply.get().via.array.ptr[2]; }
};
Expected expected_result(const std::string& reply) {
  return Expected{msgpack::unpack(reply.data(), reply.size())};
}

// Reads one ok reply, and checks that it was read by hand (or not) and equals msgpack-c's.
void check_scalar(const std::string& reply, bool by_hand = true) {
  CAPTURE(reply.size());
  ReplyReader reader(reply, nullptr, false);
  Reply r;
  REQUIRE(reader.next(r));
  CHECK(r.ok);
  CHECK(r.id == 77);
  auto want = expected_result(reply);
  CHECK(r.result.type == want.get().type);
  if (want.get().type == msgpack::type::STR || want.get().type == msgpack::type::BIN) {
    // Compared as views: msgpack-c's operator== memcmp's an empty str's null pointer (UBSan).
    auto view = [](const msgpack::object& o) {
      return o.type == msgpack::type::STR ? std::string_view(o.via.str.ptr, o.via.str.size)
                                          : std::string_view(o.via.bin.ptr, o.via.bin.size);
    };
    CHECK(view(r.result) == view(want.get()));
  } else {
    CHECK(r.result == want.get());
  }
  CHECK(reader.fallbacks() == (by_hand ? 0u : 1u));
  CHECK_FALSE(reader.next(r));
}

}  // namespace

TEST_CASE("ReplyReader: every scalar kind and width is read by hand as msgpack-c reads it") {
  check_scalar(ok_reply(77, msgpack::type::nil_t()));
  check_scalar(ok_reply(77, true));
  check_scalar(ok_reply(77, false));
  for (std::uint64_t v :
       {std::uint64_t{0}, std::uint64_t{127}, std::uint64_t{128}, std::uint64_t{255},
        std::uint64_t{256}, std::uint64_t{65535}, std::uint64_t{65536}, std::uint64_t{0xffffffff},
        std::uint64_t{0x100000000}, std::numeric_limits<std::uint64_t>::max()})
    check_scalar(ok_reply(77, v));
  for (std::int64_t v :
       {std::int64_t{-1}, std::int64_t{-32}, std::int64_t{-33}, std::int64_t{-128},
        std::int64_t{-129}, std::int64_t{-32768}, std::int64_t{-32769}, std::int64_t{-2147483648LL},
        std::int64_t{-2147483649LL}, std::numeric_limits<std::int64_t>::min()})
    check_scalar(ok_reply(77, v));
  // Signed formats holding non-negative values (other packers use them): POSITIVE_INTEGER.
  for (unsigned char fmt : {0xd0, 0xd1, 0xd2, 0xd3}) {
    std::string r = ok_reply(77, msgpack::type::nil_t());
    r.pop_back();
    r += static_cast<char>(fmt);
    r.append((std::size_t{1} << (fmt - 0xd0)) - 1, '\0');
    r += '\x05';
    check_scalar(r);
  }
  check_scalar(ok_reply(77, 1.5f));
  check_scalar(ok_reply(77, -2.25));
  check_scalar(ok_reply(77, std::numeric_limits<double>::infinity()));
  check_scalar(ok_reply(77, std::string("")));
  check_scalar(ok_reply(77, std::string("sixteen bytes!!!")));
  check_scalar(ok_reply(77, std::string(300, 'x')));       // str 16
  check_scalar(ok_reply(77, std::string(70000, 'y')));     // str 32
  check_scalar(ok_reply(77, std::vector<char>{1, 2, 3}));  // bin 8
}

TEST_CASE("ReplyReader: an id in any width, as the daemon may pack it") {
  for (std::uint64_t id :
       {std::uint64_t{1}, std::uint64_t{200}, std::uint64_t{70000}, std::uint64_t{1} << 40}) {
    std::string payload = ok_reply(id, 5);
    ReplyReader reader(payload, nullptr, false);
    Reply r;
    REQUIRE(reader.next(r));
    CHECK(r.id == id);
  }
  std::string wide = "\x93\xcf" + std::string(7, '\0') + std::string("\x09\x00\xc0", 3);
  ReplyReader reader(wide, nullptr, false);
  Reply r;
  REQUIRE(reader.next(r));
  CHECK(r.id == 9);
  CHECK(reader.fallbacks() == 0);
}

TEST_CASE("ReplyReader: arrays, maps and exts go to msgpack-c, which builds them in the zone") {
  check_scalar(ok_reply(77, std::vector<int>{1, 2, 3}), false);
  check_scalar(ok_reply(77, std::map<std::string, int>{{"a", 1}}), false);
  check_scalar(ok_reply(77, msgpack::type::ext(5, "abc", 3)), false);
  // A success reply of another shape (4 elements) is msgpack-c's too: the result is its third.
  msgpack::sbuffer b;
  msgpack::packer<msgpack::sbuffer> pk(b);
  pk.pack_array(4);
  pk.pack(77);
  pk.pack(0);
  pk.pack(8);
  pk.pack(9);
  check_scalar(std::string(b.data(), b.size()), false);
}

TEST_CASE("ReplyReader: error replies, by hand and malformed") {
  std::string payload = error_reply(3, "KeyError", "'k'") + error_reply(4, "Oops", "");
  ReplyReader reader(payload, nullptr, false);
  Reply r;
  REQUIRE(reader.next(r));
  CHECK_FALSE(r.ok);
  CHECK(r.id == 3);
  CHECK(r.kind == "KeyError");
  CHECK(r.message == "'k'");
  REQUIRE(reader.next(r));
  CHECK(r.id == 4);
  CHECK(r.kind == "Oops");
  CHECK(reader.fallbacks() == 0);
  // [id, 1, 5]: still an error for its call, a ProtocolError.
  msgpack::sbuffer b;
  msgpack::packer<msgpack::sbuffer> pk(b);
  pk.pack_array(3);
  pk.pack(6);
  pk.pack(1);
  pk.pack(5);
  ReplyReader odd(std::string_view(b.data(), b.size()), nullptr, false);
  REQUIRE(odd.next(r));
  CHECK_FALSE(r.ok);
  CHECK(r.id == 6);
  CHECK(r.kind == "ProtocolError");
}

TEST_CASE("ReplyReader: replies back to back, elements that are not replies skipped") {
  msgpack::sbuffer junk;
  msgpack::packer<msgpack::sbuffer> pk(junk);
  pk.pack(42);                                       // not an array
  pk.pack(std::vector<int>{1, 2});                   // too short
  pk.pack(std::vector<std::string>{"a", "b", "c"});  // id not an int
  std::string payload = ok_reply(1, 10) + std::string(junk.data(), junk.size()) +
                        ok_reply(2, std::vector<int>{7}) + ok_reply(3, std::string("v")) +
                        error_reply(4, "KeyError", "x");
  ReplyReader reader(payload, nullptr, false);
  std::vector<std::uint64_t> ids;
  Reply r;
  while (reader.next(r))
    ids.push_back(r.id);
  CHECK(ids == std::vector<std::uint64_t>{1, 2, 3, 4});
}

TEST_CASE("ReplyReader: a truncated reply throws, at every cut, and never yields a reply") {
  for (const std::string& whole :
       {ok_reply(1234, std::string("abcdef")),
        ok_reply(9, std::numeric_limits<std::uint64_t>::max()), ok_reply(9, -2.25),
        ok_reply(9, std::vector<int>{1, 2}), error_reply(5, "KeyError", "k")}) {
    for (std::size_t cut = 1; cut < whole.size(); ++cut) {
      CAPTURE(cut);
      std::string prefix = ok_reply(1, 1);
      std::string payload = prefix + whole.substr(0, cut);
      ReplyReader reader(payload, nullptr, false);
      Reply r;
      REQUIRE(reader.next(r));
      CHECK(r.id == 1);
      CHECK_THROWS_AS(reader.next(r), msgpack::unpack_error);
    }
  }
}

TEST_CASE(
    "ReplyReader: str results point into a zone that owns them, never into a borrowed buffer") {
  std::string payload = ok_reply(1, std::string("hello"));
  {
    ReplyReader reader(payload, nullptr, false);  // the payload is borrowed: copied into the zone
    Reply r;
    REQUIRE(reader.next(r));
    REQUIRE(reader.zone() != nullptr);
    CHECK(std::string_view(r.result.via.str.ptr, r.result.via.str.size) == "hello");
    CHECK((r.result.via.str.ptr < payload.data() ||
           r.result.via.str.ptr >= payload.data() + payload.size()));
  }
  {
    auto zone = std::make_shared<msgpack::zone>();  // owns the payload (a large frame)
    ReplyReader reader(payload, zone, true);
    Reply r;
    REQUIRE(reader.next(r));
    CHECK(r.result.via.str.ptr >= payload.data());
    CHECK(r.result.via.str.ptr < payload.data() + payload.size());
  }
  {
    // A scalar needs no memory: no zone is made.
    std::string scalar = ok_reply(1, 5);
    ReplyReader reader(scalar, nullptr, false);
    Reply r;
    REQUIRE(reader.next(r));
    CHECK(reader.zone() == nullptr);
  }
}
