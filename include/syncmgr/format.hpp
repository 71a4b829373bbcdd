// Formatters: `fmt::format("{}", x)` and `std::format("{}", x)` print what `std::cout << x`
// prints, for a syncmgr::Value (to_string: Python's str()), every proxy (`<dict 'name'>`) and a
// dict/list element reference (`d["k"]`: the element, fetched). Width and alignment work as for a
// string (`{:>20}`).
//
// Opt-in: include this header where you format. The fmt formatters are declared when
// <fmt/format.h> can be included (link fmt as usual), the std ones when the standard library has
// std::format (__cpp_lib_format). Both are the one macro below, so the std branch is the same text
// the fmt tests compile. Each type gets a full specialization, not one constrained on ProxyBase:
// dict and list proxies are ranges, and a partial specialization would be ambiguous with fmt's and
// C++23's range formatters.
#pragma once

#include <sstream>
#include <string>
#include <string_view>
#include <version>

#include "syncmgr/dict.hpp"
#include "syncmgr/list.hpp"
#include "syncmgr/lock.hpp"
#include "syncmgr/namespace.hpp"
#include "syncmgr/proxy.hpp"
#include "syncmgr/queue.hpp"
#include "syncmgr/shared_value.hpp"
#include "syncmgr/sync.hpp"
#include "syncmgr/value.hpp"

namespace syncmgr::detail {
/// The text both formatters print: to_string for a Value, what operator<< writes for the rest.
inline std::string display_string(const Value& v) {
  return to_string(v);
}
template <class T>
std::string display_string(const T& x) {
  std::ostringstream os;
  os << x;
  return std::move(os).str();
}
}  // namespace syncmgr::detail

// NS is fmt or std. Formats display_string(x) with NS's string formatter, which parses the spec.
#define SYNCMGR_DETAIL_FORMATTER_BASE(NS)                                     \
  namespace syncmgr::detail {                                                 \
  template <class T>                                                          \
  struct NS##_formatter : NS::formatter<std::string_view> {                   \
    template <class Context>                                                  \
    auto format(const T& x, Context& ctx) const {                             \
      return NS::formatter<std::string_view>::format(display_string(x), ctx); \
    }                                                                         \
  };                                                                          \
  }                                                                           \
  template <class P, class K>                                                 \
  struct NS::formatter<syncmgr::detail::ElementRef<P, K>>                     \
      : syncmgr::detail::NS##_formatter<syncmgr::detail::ElementRef<P, K>> {};
#define SYNCMGR_DETAIL_FORMATTER(NS, T) \
  template <>                           \
  struct NS::formatter<T> : syncmgr::detail::NS##_formatter<T> {};
// Value and every proxy class (the types of detail::proxy_type in manager.hpp).
#define SYNCMGR_DETAIL_FORMATTERS(NS)                          \
  SYNCMGR_DETAIL_FORMATTER_BASE(NS)                            \
  SYNCMGR_DETAIL_FORMATTER(NS, syncmgr::Value)                 \
  SYNCMGR_DETAIL_FORMATTER(NS, syncmgr::NamespaceProxy)        \
  SYNCMGR_DETAIL_FORMATTER(NS, syncmgr::DictProxy)             \
  SYNCMGR_DETAIL_FORMATTER(NS, syncmgr::ListProxy)             \
  SYNCMGR_DETAIL_FORMATTER(NS, syncmgr::QueueProxy)            \
  SYNCMGR_DETAIL_FORMATTER(NS, syncmgr::JoinableQueueProxy)    \
  SYNCMGR_DETAIL_FORMATTER(NS, syncmgr::LockProxy)             \
  SYNCMGR_DETAIL_FORMATTER(NS, syncmgr::RLockProxy)            \
  SYNCMGR_DETAIL_FORMATTER(NS, syncmgr::SemaphoreProxy)        \
  SYNCMGR_DETAIL_FORMATTER(NS, syncmgr::BoundedSemaphoreProxy) \
  SYNCMGR_DETAIL_FORMATTER(NS, syncmgr::ConditionProxy)        \
  SYNCMGR_DETAIL_FORMATTER(NS, syncmgr::EventProxy)            \
  SYNCMGR_DETAIL_FORMATTER(NS, syncmgr::BarrierProxy)          \
  SYNCMGR_DETAIL_FORMATTER(NS, syncmgr::ValueProxy)            \
  SYNCMGR_DETAIL_FORMATTER(NS, syncmgr::ArrayProxy)

#if __has_include(<fmt/format.h>)
#include <fmt/format.h>
SYNCMGR_DETAIL_FORMATTERS(fmt)
#endif

#if defined(__cpp_lib_format)
#include <format>
SYNCMGR_DETAIL_FORMATTERS(std)
#endif

#undef SYNCMGR_DETAIL_FORMATTERS
#undef SYNCMGR_DETAIL_FORMATTER
#undef SYNCMGR_DETAIL_FORMATTER_BASE
