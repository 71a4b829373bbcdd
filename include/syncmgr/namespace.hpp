// NamespaceProxy: Python's Namespace across processes, with atomic operations.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "syncmgr/proxy.hpp"

namespace syncmgr {

class NamespaceProxy : public detail::ProxyBase {
 public:
  explicit NamespaceProxy(std::shared_ptr<detail::ObjectRef> ref) : ProxyBase(std::move(ref)) {}

  /// ns.attr = value
  template <class T>
  void set(std::string_view attr, const T& value) {
    invoke<void>("namespace.set", attr, value);
  }
  template <class T>
  Future<void> async_set(std::string_view attr, const T& value) {
    return invoke_async<void>("namespace.set", attr, value);
  }
  /// ns.attr. Throws AttributeError if absent, TypeError if it does not convert to T.
  template <class T = Value>
  T get(std::string_view attr) const {
    return invoke<T>("namespace.get", attr);
  }
  template <class T = Value>
  Future<T> async_get(std::string_view attr) const {
    return invoke_async<T>("namespace.get", attr);
  }
  /// getattr(ns, attr, fallback)
  template <class T>
  T get(std::string_view attr, const T& fallback) const {
    return invoke<T>("namespace.get", attr, fallback);
  }
  template <class T>
  Future<T> async_get(std::string_view attr, const T& fallback) const {
    return invoke_async<T>("namespace.get", attr, fallback);
  }
  /// hasattr(ns, attr)
  bool has(std::string_view attr) const { return invoke<bool>("namespace.has", attr); }
  Future<bool> async_has(std::string_view attr) const {
    return invoke_async<bool>("namespace.has", attr);
  }
  /// del ns.attr. Throws AttributeError if absent.
  void del(std::string_view attr) { invoke<void>("namespace.del", attr); }
  Future<void> async_del(std::string_view attr) {
    return invoke_async<void>("namespace.del", attr);
  }
  /// Attribute names in creation order.
  std::vector<std::string> attributes() const {
    return invoke<std::vector<std::string>>("namespace.attributes");
  }
  Future<std::vector<std::string>> async_attributes() const {
    return invoke_async<std::vector<std::string>>("namespace.attributes");
  }
  /// Every attribute, read at one instant.
  template <class T = Value>
  std::map<std::string, T> snapshot() const {
    return invoke<std::map<std::string, T>>("namespace.snapshot");
  }
  template <class T = Value>
  Future<std::map<std::string, T>> async_snapshot() const {
    return invoke_async<std::map<std::string, T>>("namespace.snapshot");
  }
  /// Atomically adds delta (absent counts as 0) and returns the new value. All or nothing: a new
  /// value T cannot hold (a float for an integer T, or outside T's range) throws TypeError or
  /// ValueError and changes nothing. Read a float with increment<double>, any number with
  /// increment<syncmgr::Value>.
  template <class T = std::int64_t>
  T increment(std::string_view attr, T delta = 1) {
    return invoke<T>("namespace.increment", attr, delta, detail::result_limits<T>());
  }
  template <class T = std::int64_t>
  Future<T> async_increment(std::string_view attr, T delta = 1) {
    return invoke_async<T>("namespace.increment", attr, delta, detail::result_limits<T>());
  }
  /// Atomically sets attr to desired if it currently equals expected. Returns whether it did.
  template <class E, class D>
  bool compare_and_set(std::string_view attr, const E& expected, const D& desired) {
    return invoke<bool>("namespace.compare_and_set", attr, expected, desired);
  }
  template <class E, class D>
  Future<bool> async_compare_and_set(std::string_view attr, const E& expected, const D& desired) {
    return invoke_async<bool>("namespace.compare_and_set", attr, expected, desired);
  }
  /// Atomically sets attr only if it is absent. Returns whether it did.
  template <class T>
  bool set_if_absent(std::string_view attr, const T& value) {
    return invoke<bool>("namespace.set_if_absent", attr, value);
  }
  template <class T>
  Future<bool> async_set_if_absent(std::string_view attr, const T& value) {
    return invoke_async<bool>("namespace.set_if_absent", attr, value);
  }
};

}  // namespace syncmgr
