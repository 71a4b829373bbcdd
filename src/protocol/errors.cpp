// Mapping wire error kinds to the public exception classes.
#include "syncmgr/errors.hpp"

#include "syncmgr/value.hpp"

namespace syncmgr {

ConversionError::ConversionError(const std::string& message, Value value)
    : TypeError(message), value_(std::make_shared<const Value>(std::move(value))) {}

void throw_error(std::string_view kind, const std::string& message) {
  if (kind == "KeyError") throw KeyError(message);
  if (kind == "IndexError") throw IndexError(message);
  if (kind == "TypeError") throw TypeError(message);
  if (kind == "ValueError") throw ValueError(message);
  if (kind == "NameError") throw NameError(message);
  if (kind == "AttributeError") throw AttributeError(message);
  if (kind == "AuthenticationError") throw AuthenticationError(message);
  if (kind == "ConnectionError") throw ConnectionError(message);
  if (kind == "ProtocolError") throw ProtocolError(message);
  if (kind == "InternalError") throw InternalError(message);
  if (kind == "RuntimeError") throw RuntimeError(message);
  if (kind == "LockLost") throw LockLost(message);
  if (kind == "CancelledError") throw CancelledError(message);
  if (kind == "Empty") throw Empty(message);
  if (kind == "Full") throw Full(message);
  if (kind == "BrokenBarrierError") throw BrokenBarrierError(message);
  if (kind == "ShutDown") throw ShutDown(message);
  throw Error(std::string(kind), message);
}

}  // namespace syncmgr
