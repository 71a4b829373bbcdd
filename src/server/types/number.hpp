// Atomic arithmetic shared by namespace.increment, dict.increment and value.add: one copy of
// Python's numeric rules within msgpack's int range, and the check of the caller's result limits
// that keeps an add all-or-nothing (a result the caller cannot read is never stored).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "server/object.hpp"
#include "syncmgr/value.hpp"

namespace syncmgr::server::number_ops {

/// What an add is to, as its errors name it: a phrase ("the value"), or a key, quoted only when
/// an error needs it (an increment that succeeds renders nothing).
struct Target {
  std::string_view phrase;
  const Value* key = nullptr;
  std::string name() const {
    return key != nullptr ? key->repr(Value::kShortRepr) : std::string(phrase);
  }
};

/// base + delta: int + int stays int (a sum above INT64_MAX within uint64 is kept, beyond that or
/// below INT64_MIN is a ValueError "integer overflow <what>"); a float on either side gives a
/// float. A delta or base that is not an int or float (bool included) is a TypeError.
OpResult<Value> add(const Value& base, const Value& delta, const Target& what);

/// Checks an add's result against the caller's limits, the optional last argument of the atomic
/// adds: nil accepts any result; [lo, hi] (two ints) requires an int within [lo, hi] (TypeError
/// for a float, ValueError outside the range), so a client that reads the result as a C++ integer
/// type learns of a mismatch before anything is stored. A malformed limits value is a TypeError.
std::optional<Err> check_limits(const Value& result, const Value& limits, const Target& what);

}  // namespace syncmgr::server::number_ops
