// ValueProxy and ArrayProxy: Python's manager Value and Array, with atomic add and compare-and-set.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "syncmgr/list.hpp"
#include "syncmgr/proxy.hpp"

namespace syncmgr {

class ValueProxy : public detail::ProxyBase {
 public:
  explicit ValueProxy(std::shared_ptr<detail::ObjectRef> ref) : ProxyBase(std::move(ref)) {}
  template <class T = syncmgr::Value>
  T get() const {
    return invoke<T>("value.get");
  }
  template <class T = syncmgr::Value>
  Future<T> async_get() const {
    return invoke_async<T>("value.get");
  }
  template <class T>
  void set(const T& v) {
    invoke<void>("value.set", v);
  }
  template <class T>
  Future<void> async_set(const T& v) {
    return invoke_async<void>("value.set", v);
  }
  /// Atomically adds delta and returns the new value (int stays int; a float makes a float). All
  /// or nothing: a new value T cannot hold (a float for an integer T, or outside T's range)
  /// throws TypeError or ValueError and changes nothing; add<syncmgr::Value> reads any number.
  template <class T = std::int64_t>
  T add(T delta) {
    return invoke<T>("value.add", delta, detail::result_limits<T>());
  }
  template <class T = std::int64_t>
  Future<T> async_add(T delta) {
    return invoke_async<T>("value.add", delta, detail::result_limits<T>());
  }
  /// Atomically sets desired if the value equals expected; returns whether it did.
  template <class E, class D>
  bool compare_and_set(const E& expected, const D& desired) {
    return invoke<bool>("value.compare_and_set", expected, desired);
  }
  template <class E, class D>
  Future<bool> async_compare_and_set(const E& expected, const D& desired) {
    return invoke_async<bool>("value.compare_and_set", expected, desired);
  }
};

/// A fixed-length array. Out-of-range indices are IndexError; slice assignment must keep the
/// length.
class ArrayProxy : public detail::ProxyBase {
 public:
  explicit ArrayProxy(std::shared_ptr<detail::ObjectRef> ref) : ProxyBase(std::move(ref)) {}
  std::size_t len() const { return invoke<std::size_t>("array.len"); }
  Future<std::size_t> async_len() const { return invoke_async<std::size_t>("array.len"); }
  template <class T = syncmgr::Value>
  T get(std::int64_t index) const {
    return invoke<T>("array.get", index);
  }
  template <class T = syncmgr::Value>
  Future<T> async_get(std::int64_t index) const {
    return invoke_async<T>("array.get", index);
  }
  template <class T>
  void set(std::int64_t index, const T& v) {
    invoke<void>("array.set", index, v);
  }
  template <class T>
  Future<void> async_set(std::int64_t index, const T& v) {
    return invoke_async<void>("array.set", index, v);
  }
  template <class T = syncmgr::Value>
  std::vector<T> get_slice(const Slice& s) const {
    return invoke<std::vector<T>>("array.get_slice", s.start, s.stop, s.step);
  }
  template <class T = syncmgr::Value>
  Future<std::vector<T>> async_get_slice(const Slice& s) const {
    return invoke_async<std::vector<T>>("array.get_slice", s.start, s.stop, s.step);
  }
  template <class C>
  void set_slice(const Slice& s, const C& items) {
    invoke<void>("array.set_slice", s.start, s.stop, s.step, items);
  }
  template <class C>
  Future<void> async_set_slice(const Slice& s, const C& items) {
    return invoke_async<void>("array.set_slice", s.start, s.stop, s.step, items);
  }
};

}  // namespace syncmgr
