// The exception hierarchy of syncmgr. Names follow Python's where a Python equivalent exists, so
// that code ported from multiprocessing.managers catches what it caught before.
#pragma once

#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

namespace syncmgr {

class Value;

/// Base of every error syncmgr throws. kind() is the error's name as sent on the wire ("KeyError").
class Error : public std::runtime_error {
 public:
  Error(std::string kind, const std::string& message)
      : std::runtime_error(kind + ": " + message), kind_(std::move(kind)) {}
  const std::string& kind() const noexcept { return kind_; }

 private:
  std::string kind_;
};

#define SYNCMGR_DEFINE_ERROR(Name, Base)                                                   \
  class Name : public Base {                                                               \
   public:                                                                                 \
    explicit Name(const std::string& message) : Base(#Name, message) {}                    \
                                                                                           \
   protected:                                                                              \
    Name(std::string kind, const std::string& message) : Base(std::move(kind), message) {} \
  };

/// Python's LookupError: base of KeyError and IndexError.
SYNCMGR_DEFINE_ERROR(LookupError, Error)
/// A missing key (dict) or attribute (Namespace).
SYNCMGR_DEFINE_ERROR(KeyError, LookupError)
/// An index out of range (list).
SYNCMGR_DEFINE_ERROR(IndexError, LookupError)
/// A value of the wrong type: stored value read as another type, unorderable values, wrong arity.
SYNCMGR_DEFINE_ERROR(TypeError, Error)
/// A value of the right type but an unacceptable value (list.remove of an absent item, overflow).
SYNCMGR_DEFINE_ERROR(ValueError, Error)
/// No object with that name exists on the daemon.
SYNCMGR_DEFINE_ERROR(NameError, Error)
/// The daemon does not know the method (operation) called.
SYNCMGR_DEFINE_ERROR(AttributeError, Error)
/// The key was refused, or the daemon failed to prove it knows the key.
SYNCMGR_DEFINE_ERROR(AuthenticationError, Error)
/// The daemon is unreachable or gone, or a call passed its deadline.
SYNCMGR_DEFINE_ERROR(ConnectionError, Error)
/// A malformed, oversize or out-of-sequence message, or a protocol version mismatch.
SYNCMGR_DEFINE_ERROR(ProtocolError, Error)
/// A failure inside the daemon that is not the caller's fault.
SYNCMGR_DEFINE_ERROR(InternalError, Error)
/// Misuse of a synchronisation object, as Python's RuntimeError: releasing an unlocked Lock, an
/// RLock not owned by the caller, waiting on a Condition without holding its lock.
SYNCMGR_DEFINE_ERROR(RuntimeError, Error)
/// A lock grant this process held was revoked: the session that received it ended (the process
/// stalled or was cut off past the session timeout, or the daemon restarted), so the lock was
/// released and may now be held by another process. Thrown by release()/unlock() (and by
/// acquire()) of the thread that held it, instead of releasing anyone else's grant.
SYNCMGR_DEFINE_ERROR(LockLost, RuntimeError)
/// A parked call was cancelled (its caller gave up) before it was served.
SYNCMGR_DEFINE_ERROR(CancelledError, Error)
/// Queue.get without blocking (or past its timeout) on an empty queue, as Python's queue.Empty.
SYNCMGR_DEFINE_ERROR(Empty, Error)
/// Queue.put without blocking (or past its timeout) on a full queue, as Python's queue.Full.
SYNCMGR_DEFINE_ERROR(Full, Error)
/// A Barrier was broken (reset, aborted, a timeout, or a party's session ended).
SYNCMGR_DEFINE_ERROR(BrokenBarrierError, Error)

/// Queue.put after Queue.shutdown(), or Queue.get on a shut-down queue once it is empty, as Python
/// 3.13's queue.ShutDown. Blocked putters and getters are woken with it.
SYNCMGR_DEFINE_ERROR(ShutDown, Error)

#undef SYNCMGR_DEFINE_ERROR

/// A reply that does not convert to the type the caller asked for (get<std::string> of an int). The
/// call itself ran; value() is its result as received, so a call that consumes what it returns
/// (Queue.get/get_many, dict.pop/popitem, list.pop) never loses it: handle it, or put it back.
/// kind() is "TypeError".
class ConversionError : public TypeError {
 public:
  ConversionError(const std::string& message, Value value);
  /// The result the daemon sent (for get_many, every item taken).
  const Value& value() const noexcept { return *value_; }

 private:
  std::shared_ptr<const Value> value_;  // shared: exceptions are copied, and must copy noexcept
};

/// Throws the exception class whose name is `kind` (unknown kinds become syncmgr::Error).
[[noreturn]] void throw_error(std::string_view kind, const std::string& message);

}  // namespace syncmgr
