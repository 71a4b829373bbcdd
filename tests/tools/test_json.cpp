// Unit tests of the command-line client's JSON <-> Value conversion (src/tools/json.cpp).
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

#include "tools/json.hpp"

using syncmgr::Bytes;
using syncmgr::List;
using syncmgr::Map;
using syncmgr::Value;
using syncmgr::tools::parse_json;
using syncmgr::tools::to_json;

namespace {

// Parses text that must be valid JSON.
Value parsed(const std::string& text) {
  auto v = parse_json(text);
  INFO("text: " << text);
  REQUIRE(v.has_value());
  return *v;
}

// The value of `key` in a map Value (keys compared as strings).
const Value& field(const Value& map, const std::string& key) {
  for (const auto& [k, v] : map.as_map())
    if (k.kind() == Value::Kind::string && k.as_string() == key) return v;
  FAIL("no key " << key << " in " << to_json(map));
  static Value none;
  return none;
}

}  // namespace

TEST_CASE("json: scalars parse to the right kinds") {
  CHECK(parsed("null").is_nil());
  CHECK(parsed("true").kind() == Value::Kind::boolean);
  CHECK(parsed("true").as_bool() == true);
  CHECK(parsed("false").as_bool() == false);

  Value i = parsed("42");
  CHECK(i.kind() == Value::Kind::integer);
  CHECK(i.as_int() == 42);
  Value n = parsed("-7");
  CHECK(n.kind() == Value::Kind::integer);
  CHECK(n.as_int() == -7);
  CHECK(parsed("0").as_int() == 0);
  CHECK(parsed("-0").kind() == Value::Kind::integer);

  Value f = parsed("2.5");
  CHECK(f.kind() == Value::Kind::floating);
  CHECK(f.as_double() == 2.5);
  CHECK(parsed("1e3").kind() == Value::Kind::floating);
  CHECK(parsed("1e3").as_double() == 1000.0);
  CHECK(parsed("-1.5E-2").as_double() == doctest::Approx(-0.015));
  CHECK(parsed("1.0").kind() == Value::Kind::floating);

  Value s = parsed("\"hello\"");
  CHECK(s.kind() == Value::Kind::string);
  CHECK(s.as_string() == "hello");
  CHECK(parsed("\"\"").as_string().empty());

  CHECK(parsed("  \t\n 17 \r\n").as_int() == 17);  // surrounding whitespace is allowed
}

TEST_CASE("json: scalars print as JSON") {
  CHECK(to_json(Value()) == "null");
  CHECK(to_json(Value(true)) == "true");
  CHECK(to_json(Value(false)) == "false");
  CHECK(to_json(Value(0)) == "0");
  CHECK(to_json(Value(8080)) == "8080");
  CHECK(to_json(Value(-42)) == "-42");
  CHECK(to_json(Value(std::numeric_limits<std::int64_t>::min())) == "-9223372036854775808");
  CHECK(to_json(Value("x y")) == "\"x y\"");
  CHECK(to_json(Value("")) == "\"\"");
}

TEST_CASE("json: floats always print as floats, with a '.' and shortest round trip") {
  CHECK(to_json(Value(1.0)) == "1.0");
  CHECK(to_json(Value(-3.0)) == "-3.0");
  CHECK(to_json(Value(100.0)) == "100.0");
  CHECK(to_json(Value(0.0)) == "0.0");
  CHECK(to_json(Value(2.5)) == "2.5");
  CHECK(to_json(Value(-0.5)) == "-0.5");
  // What a user typed comes back as typed (shortest representation that round-trips).
  CHECK(to_json(Value(0.1)) == "0.1");
  CHECK(to_json(Value(3.14)) == "3.14");

  // Whatever the notation, a float printed then parsed is a float again, and the same float.
  for (double d : {1.0, 0.1, 1e20, 1e300, -2.5e-300, 123456789.125, 1.0 / 3.0, 5e-324}) {
    std::string text = to_json(Value(d));
    INFO("printed " << d << " as " << text);
    CHECK(text.find_first_of(".e") != std::string::npos);
    Value back = parsed(text);
    CHECK(back.kind() == Value::Kind::floating);
    CHECK(back.as_double() == d);
  }

  // JSON has no NaN or infinity.
  CHECK(to_json(Value(std::nan(""))) == "null");
  CHECK(to_json(Value(std::numeric_limits<double>::infinity())) == "null");
}

TEST_CASE("json: big integers stay integers") {
  Value max_u = parsed("18446744073709551615");
  CHECK(max_u.kind() == Value::Kind::integer);
  CHECK(max_u.as_uint() == std::numeric_limits<std::uint64_t>::max());
  CHECK(to_json(max_u) == "18446744073709551615");

  Value max_i = parsed("9223372036854775807");
  CHECK(max_i.kind() == Value::Kind::integer);
  CHECK(max_i.as_int() == std::numeric_limits<std::int64_t>::max());
  CHECK(to_json(max_i) == "9223372036854775807");

  Value above_i = parsed("9223372036854775808");
  CHECK(above_i.kind() == Value::Kind::integer);
  CHECK(above_i.as_uint() == 9223372036854775808ull);
  CHECK(to_json(above_i) == "9223372036854775808");

  Value min_i = parsed("-9223372036854775808");
  CHECK(min_i.kind() == Value::Kind::integer);
  CHECK(min_i.as_int() == std::numeric_limits<std::int64_t>::min());
  CHECK(to_json(min_i) == "-9223372036854775808");

  // Beyond 64 bits a number can only be a float.
  Value huge = parsed("18446744073709551616");
  CHECK(huge.kind() == Value::Kind::floating);
  CHECK(huge.as_double() == 18446744073709551616.0);
  CHECK(parsed("-9223372036854775809").kind() == Value::Kind::floating);
}

TEST_CASE("json: nested arrays and objects") {
  Value v = parsed(R"({"a": [1, 2.5, "x", [true, null]], "b": {"c": {}, "d": []}})");
  REQUIRE(v.kind() == Value::Kind::map);
  REQUIRE(v.as_map().size() == 2);
  // Insertion order is kept.
  CHECK(v.as_map()[0].first.as_string() == "a");
  CHECK(v.as_map()[1].first.as_string() == "b");

  const Value& a = field(v, "a");
  REQUIRE(a.kind() == Value::Kind::array);
  REQUIRE(a.as_list().size() == 4);
  CHECK(a.as_list()[0].as_int() == 1);
  CHECK(a.as_list()[1].as_double() == 2.5);
  CHECK(a.as_list()[2].as_string() == "x");
  REQUIRE(a.as_list()[3].as_list().size() == 2);
  CHECK(a.as_list()[3].as_list()[0].as_bool());
  CHECK(a.as_list()[3].as_list()[1].is_nil());

  const Value& b = field(v, "b");
  CHECK(field(b, "c").kind() == Value::Kind::map);
  CHECK(field(b, "c").as_map().empty());
  CHECK(field(b, "d").kind() == Value::Kind::array);
  CHECK(field(b, "d").as_list().empty());

  // Printing uses ", " and ": " and round-trips.
  std::string text = to_json(v);
  CHECK(text == R"({"a": [1, 2.5, "x", [true, null]], "b": {"c": {}, "d": []}})");
  CHECK(to_json(parsed(text)) == text);

  CHECK(to_json(Value(List{})) == "[]");
  CHECK(to_json(Value(Map{})) == "{}");
  CHECK(to_json(Value(List{Value(1), Value(List{Value("y")})})) == R"([1, ["y"]])");

  // Compact input is accepted too.
  CHECK(to_json(parsed(R"({"k":[1,{"z":false}]})")) == R"({"k": [1, {"z": false}]})");

  // Deep but reasonable nesting parses; absurd nesting is refused rather than overflowing.
  CHECK(parse_json(std::string(20, '[') + std::string(20, ']')).has_value());
  CHECK_FALSE(parse_json(std::string(100000, '[') + std::string(100000, ']')).has_value());
}

TEST_CASE("json: string escapes are decoded") {
  CHECK(parsed(R"("a\"b")").as_string() == "a\"b");
  CHECK(parsed(R"("a\\b")").as_string() == "a\\b");
  CHECK(parsed(R"("a\/b")").as_string() == "a/b");
  CHECK(parsed(R"("\b\f\n\r\t")").as_string() == "\b\f\n\r\t");
  CHECK(parsed(R"("\u0041")").as_string() == "A");
  CHECK(parsed(R"("caf\u00e9")").as_string() == "caf\xc3\xa9");  // é as UTF-8
  CHECK(parsed(R"("\u00E9")").as_string() == "\xc3\xa9");        // upper-case hex
  CHECK(parsed(R"("\u20ac")").as_string() == "\xe2\x82\xac");    // euro sign, 3 bytes
  // A surrogate pair is one code point: U+1F600, four bytes of UTF-8.
  CHECK(parsed(R"("\ud83d\ude00")").as_string() == "\xf0\x9f\x98\x80");
  CHECK(parsed(R"("x\uD83D\uDE00y")").as_string() == "x\xf0\x9f\x98\x80y");
  // Raw UTF-8 passes through unchanged.
  CHECK(parsed("\"caf\xc3\xa9\"").as_string() == "caf\xc3\xa9");

  // Invalid escapes and broken surrogates are not JSON (and must not produce invalid UTF-8).
  CHECK_FALSE(parse_json(R"("\x41")").has_value());
  CHECK_FALSE(parse_json(R"("\u00g1")").has_value());
  CHECK_FALSE(parse_json(R"("\u00")").has_value());
  CHECK_FALSE(parse_json(R"("\ud83d\u0041")").has_value());  // high surrogate, then not a low one
  CHECK_FALSE(parse_json(R"("\ud83d")").has_value());        // lone high surrogate
  CHECK_FALSE(parse_json(R"("\ud83dx")").has_value());
  CHECK_FALSE(parse_json(R"("\ude00")").has_value());  // lone low surrogate
  CHECK_FALSE(parse_json("\"a\nb\"").has_value());     // raw control character
}

TEST_CASE("json: strings print with escapes") {
  CHECK(to_json(Value("a\"b\\c")) == R"("a\"b\\c")");
  CHECK(to_json(Value("l1\nl2\r\t")) == R"("l1\nl2\r\t")");
  CHECK(to_json(Value(std::string("\x01\x1f", 2))) == R"("\u0001\u001f")");
  CHECK(to_json(Value(std::string("nul\0byte", 8))) == R"("nul\u0000byte")");
  CHECK(to_json(Value("caf\xc3\xa9")) == "\"caf\xc3\xa9\"");
  // Whatever is printed parses back to the same string.
  std::string tricky("q\"b\\s/\b\f\n\r\t\x01\x7f\xc3\xa9\xf0\x9f\x98\x80", 18);
  CHECK(parsed(to_json(Value(tricky))).as_string() == tricky);
}

TEST_CASE("json: invalid documents give nullopt") {
  const char* bad[] = {
      "",
      "   ",
      "[1, 2] x",     // trailing garbage
      "{\"a\": 1}}",  // trailing garbage
      "1 2",          // two documents
      "\"abc",        // unterminated string
      "\"abc\\",      // unterminated escape
      "hello",        // bare word
      "fast",         // bare word starting like a literal
      "tru",          // truncated literal
      "nullx",        // literal with trailing garbage
      "True",         // Python, not JSON
      "None",
      "nan",
      "Infinity",
      "[1, 2",  // unterminated array
      "[1,]",   // trailing comma
      "[,1]",
      "{\"a\": 1,}",  // trailing comma
      "{\"a\" 1}",    // missing colon
      "{a: 1}",       // unquoted key
      "{1: 2}",       // non-string key
      "{\"a\"}",
      "'single'",
      "+1",
      "1.",
      ".5",
      "-",
      "1e",
      "1e+",
      "01",  // leading zeros are not JSON
      "-01",
      "007",
      "0x10",
  };
  for (const char* text : bad) {
    INFO("text: '" << std::string(text) << "'");
    CHECK_FALSE(parse_json(text).has_value());
  }
}

TEST_CASE("json: bin prints as {\"$bin\": base64}") {
  CHECK(to_json(Value(Bytes{std::string("\x00\x01\x02", 3)})) == R"({"$bin": "AAEC"})");
  CHECK(to_json(Value(Bytes{"ab"})) == R"({"$bin": "YWI="})");
  CHECK(to_json(Value(Bytes{"a"})) == R"({"$bin": "YQ=="})");
  CHECK(to_json(Value(Bytes{""})) == R"({"$bin": ""})");
  CHECK(to_json(Value(Bytes{"abc"})) == R"({"$bin": "YWJj"})");
  CHECK(to_json(Value(Bytes{std::string("\xff\xfe\xfd\xfc", 4)})) == R"({"$bin": "//79/A=="})");
  CHECK(to_json(Value(List{Value(Bytes{"ab"})})) == R"([{"$bin": "YWI="}])");
  // ...and reads back as bytes (issue 13: `set ... '{"$bin":"AAH/"}'` stored a map).
  CHECK(parsed(to_json(Value(Bytes{"ab"}))) == Value(Bytes{"ab"}));
  CHECK(parsed(R"({"$bin":"AAH/"})") == Value(Bytes{std::string("\x00\x01\xff", 3)}));
}

TEST_CASE("json: $bin and $map read back as what was printed") {
  for (std::size_t n = 0; n < 8; ++n) {
    std::string raw;
    for (std::size_t i = 0; i < n; ++i)
      raw += static_cast<char>(0xfd + i * 37);
    Value v(Bytes{raw});
    INFO("json: " << to_json(v));
    CHECK(parsed(to_json(v)) == v);
  }
  Value keyed(Map{{Value(1), Value("one")}, {Value(Bytes{"k"}), Value(Map{{"x", 1.5}})}});
  CHECK(parsed(to_json(keyed)) == keyed);
  // A map whose only key is a tag prints as a $map, so it too reads back as itself.
  for (const char* tag : {"$bin", "$map"}) {
    Value tricky(Map{{Value(tag), Value("AAAA")}});
    INFO("json: " << to_json(tricky));
    CHECK(parsed(to_json(tricky)) == tricky);
  }
  // Two keys: not a tag.
  CHECK(parsed(R"({"$bin": "YQ==", "x": 1})").kind() == Value::Kind::map);
  // A malformed tag is invalid input, not a map that happens to hold the tag.
  for (const char* bad : {R"({"$bin": 1})", R"({"$bin": "YQ="})", R"({"$bin": "Y*=="})",
                          R"({"$bin": "Y=Q="})", R"({"$map": {}})", R"({"$map": [[1]]})"}) {
    INFO("text: " << bad);
    CHECK_FALSE(parse_json(bad).has_value());
  }
}

TEST_CASE("json: maps with non-string keys print as {\"$map\": [[k, v], ...]}") {
  Value m(Map{{Value(1), Value("one")}, {Value("two"), Value(2)}});
  CHECK(to_json(m) == R"({"$map": [[1, "one"], ["two", 2]]})");

  Value keyed_by_array(Map{{Value(List{Value(1), Value(2)}), Value(true)}});
  CHECK(to_json(keyed_by_array) == R"({"$map": [[[1, 2], true]]})");

  Value keyed_by_nil(Map{{Value(), Value(2.5)}});
  CHECK(to_json(keyed_by_nil) == R"({"$map": [[null, 2.5]]})");

  Value keyed_by_bin(Map{{Value(Bytes{"ab"}), Value(1)}});
  CHECK(to_json(keyed_by_bin) == R"({"$map": [[{"$bin": "YWI="}, 1]]})");

  // Nested: an outer map with string keys holding one that has int keys.
  Value nested(Map{{Value("inner"), m}});
  CHECK(to_json(nested) == R"({"inner": {"$map": [[1, "one"], ["two", 2]]}})");

  // Only string keys: a plain object.
  CHECK(to_json(Value(Map{{Value("a"), Value(1)}})) == R"({"a": 1})");

  // The output is valid JSON, read back as the same map.
  CHECK(parsed(to_json(m)) == m);
}
