// Numeric rules of the atomic adds (see number.hpp). Pure functions: callers compute, check the
// limits, and only then store, so a failing add changes nothing.
#include "server/types/number.hpp"

#include <cstdint>
#include <string>

#include "protocol/message.hpp"

namespace syncmgr::server::number_ops {

namespace err = protocol::err;

namespace {

bool plain_number(const Value& v) {
  return v.is_number() && v.kind() != Value::Kind::boolean;
}

// Every msgpack int fits: int64 and uint64 side by side, with room for their sum.
__int128 wide(const Value& v) {
  return std::holds_alternative<std::uint64_t>(v.variant()) ? static_cast<__int128>(v.as_uint())
                                                            : static_cast<__int128>(v.as_int());
}

std::string show(__int128 n) {
  return n < 0 ? std::to_string(static_cast<std::int64_t>(n))
               : std::to_string(static_cast<std::uint64_t>(n));
}

}  // namespace

OpResult<Value> add(const Value& base, const Value& delta, const Target& what) {
  if (!plain_number(delta))
    return Err{err::type, "delta must be an int or float, not " + std::string(delta.type_name())};
  if (!plain_number(base))
    return Err{err::type, "cannot add to " + what.name() + ": it holds a " +
                              std::string(base.type_name()) + ", not a number"};
  if (base.kind() == Value::Kind::integer && delta.kind() == Value::Kind::integer) {
    __int128 r = wide(base) + wide(delta);
    if (r > static_cast<__int128>(UINT64_MAX) || r < static_cast<__int128>(INT64_MIN))
      return Err{err::value, "integer overflow adding to " + what.name()};
    return r >= 0 ? Value(static_cast<std::uint64_t>(r)) : Value(static_cast<std::int64_t>(r));
  }
  return Value(base.as_double() + delta.as_double());
}

std::optional<Err> check_limits(const Value& result, const Value& limits, const Target& what) {
  if (limits.is_nil()) return std::nullopt;
  if (limits.kind() != Value::Kind::array || limits.as_list().size() != 2 ||
      !limits.as_list()[0].is_integer() || !limits.as_list()[1].is_integer())
    return Err{err::type, "result limits must be nil or [lo, hi] (two ints), not " +
                              limits.repr(Value::kShortRepr)};
  const __int128 lo = wide(limits.as_list()[0]);
  const __int128 hi = wide(limits.as_list()[1]);
  if (result.kind() != Value::Kind::integer)
    return Err{err::type, "adding to " + what.name() + " would give a " +
                              std::string(result.type_name()) + " (" +
                              result.repr(Value::kShortRepr) +
                              "), and the caller reads the result as an int; nothing was changed"};
  const __int128 r = wide(result);
  if (r < lo || r > hi)
    return Err{err::value, "adding to " + what.name() + " would give " + show(r) +
                               ", outside the caller's int range [" + show(lo) + ", " + show(hi) +
                               "]; nothing was changed"};
  return std::nullopt;
}

}  // namespace syncmgr::server::number_ops
