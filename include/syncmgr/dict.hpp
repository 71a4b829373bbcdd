// DictProxy: Python's dict proxy across processes. Keys and values are any msgpack-able type.
#pragma once

#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "syncmgr/proxy.hpp"

namespace syncmgr {

class DictProxy : public detail::ProxyBase {
 public:
  explicit DictProxy(std::shared_ptr<detail::ObjectRef> ref) : ProxyBase(std::move(ref)) {}

  /// d[key]: reads and assignments go to the daemon at once (see detail::ElementRef).
  template <class K>
  detail::ElementRef<DictProxy, Value> operator[](const K& key) const {
    return {*this, Value::from(key)};
  }
  /// `for (const auto& [key, value] : d)`: the items of one snapshot, taken in one call when the
  /// loop starts (Python iterates the live dict and fails if it changes size; a snapshot cannot).
  detail::SnapshotIterator<std::pair<Value, Value>> begin() const {
    return detail::SnapshotIterator<std::pair<Value, Value>>(items());
  }
  std::default_sentinel_t end() const { return {}; }

  /// d[key] = value
  template <class K, class V>
  void set(const K& key, const V& value) {
    invoke<void>("dict.set", key, value);
  }
  template <class K, class V>
  Future<void> async_set(const K& key, const V& value) {
    return invoke_async<void>("dict.set", key, value);
  }
  /// d[key]. Throws KeyError if absent, TypeError if the value does not convert to T.
  template <class T = Value, class K>
  T get(const K& key) const {
    return invoke<T>("dict.get", key);
  }
  template <class T = Value, class K>
  Future<T> async_get(const K& key) const {
    return invoke_async<T>("dict.get", key);
  }
  /// d.get(key, fallback). For Python's d.get(key) use get(key, std::optional<T>{}).
  template <class T, class K>
  T get(const K& key, const T& fallback) const {
    return invoke<T>("dict.get", key, fallback);
  }
  template <class T, class K>
  Future<T> async_get(const K& key, const T& fallback) const {
    return invoke_async<T>("dict.get", key, fallback);
  }
  /// Many keys in one round trip (Python has no such call): for each key its value, or none when
  /// absent. TypeError if a present value does not convert to T.
  template <class T = Value, class K>
  std::vector<std::optional<T>> get_many(const std::vector<K>& keys) const {
    return invoke<std::vector<std::optional<T>>>("dict.get_many", keys);
  }
  template <class T = Value, class K>
  Future<std::vector<std::optional<T>>> async_get_many(const std::vector<K>& keys) const {
    return invoke_async<std::vector<std::optional<T>>>("dict.get_many", keys);
  }
  /// Many pairs in one round trip: the same as update(), named for symmetry with get_many.
  template <class M>
  void set_many(const M& pairs) {
    update(pairs);
  }
  template <class M>
  Future<void> async_set_many(const M& pairs) {
    return async_update(pairs);
  }
  /// del d[key]. Throws KeyError if absent.
  template <class K>
  void del(const K& key) {
    invoke<void>("dict.del", key);
  }
  template <class K>
  Future<void> async_del(const K& key) {
    return invoke_async<void>("dict.del", key);
  }
  /// key in d
  template <class K>
  bool contains(const K& key) const {
    return invoke<bool>("dict.contains", key);
  }
  template <class K>
  Future<bool> async_contains(const K& key) const {
    return invoke_async<bool>("dict.contains", key);
  }
  /// len(d)
  std::size_t len() const { return invoke<std::size_t>("dict.len"); }
  Future<std::size_t> async_len() const { return invoke_async<std::size_t>("dict.len"); }
  /// Keys in insertion order.
  template <class K = Value>
  std::vector<K> keys() const {
    return invoke<std::vector<K>>("dict.keys");
  }
  template <class K = Value>
  Future<std::vector<K>> async_keys() const {
    return invoke_async<std::vector<K>>("dict.keys");
  }
  template <class V = Value>
  std::vector<V> values() const {
    return invoke<std::vector<V>>("dict.values");
  }
  template <class V = Value>
  Future<std::vector<V>> async_values() const {
    return invoke_async<std::vector<V>>("dict.values");
  }
  template <class K = Value, class V = Value>
  std::vector<std::pair<K, V>> items() const {
    return invoke<std::vector<std::pair<K, V>>>("dict.items");
  }
  template <class K = Value, class V = Value>
  Future<std::vector<std::pair<K, V>>> async_items() const {
    return invoke_async<std::vector<std::pair<K, V>>>("dict.items");
  }
  /// d.update(other): other is a map (std::map, std::unordered_map) or a sequence of pairs.
  template <class M>
  void update(const M& other) {
    invoke<void>("dict.update", other);
  }
  template <class M>
  Future<void> async_update(const M& other) {
    return invoke_async<void>("dict.update", other);
  }
  /// d.pop(key). Throws KeyError if absent; ConversionError (holding the value removed) when it
  /// does not convert to T.
  template <class T = Value, class K>
  T pop(const K& key) {
    return invoke<T>("dict.pop", key);
  }
  template <class T = Value, class K>
  Future<T> async_pop(const K& key) {
    return invoke_async<T>("dict.pop", key);
  }
  /// d.pop(key, fallback)
  template <class T, class K>
  T pop(const K& key, const T& fallback) {
    return invoke<T>("dict.pop", key, fallback);
  }
  template <class T, class K>
  Future<T> async_pop(const K& key, const T& fallback) {
    return invoke_async<T>("dict.pop", key, fallback);
  }
  /// d.popitem(): the last inserted pair. Throws KeyError if empty; ConversionError (holding the
  /// pair removed, an array [key, value]) when it does not convert.
  template <class K = Value, class V = Value>
  std::pair<K, V> popitem() {
    return invoke<std::pair<K, V>>("dict.popitem");
  }
  template <class K = Value, class V = Value>
  Future<std::pair<K, V>> async_popitem() {
    return invoke_async<std::pair<K, V>>("dict.popitem");
  }
  /// d.setdefault(key, fallback): the value at key, inserting fallback first if absent.
  template <class T, class K>
  T setdefault(const K& key, const T& fallback) {
    return invoke<T>("dict.setdefault", key, fallback);
  }
  template <class T, class K>
  Future<T> async_setdefault(const K& key, const T& fallback) {
    return invoke_async<T>("dict.setdefault", key, fallback);
  }
  void clear() { invoke<void>("dict.clear"); }
  Future<void> async_clear() { return invoke_async<void>("dict.clear"); }
  /// A local copy, e.g. copy<std::map<std::string, int>>().
  template <class M>
  M copy() const {
    return invoke<M>("dict.copy");
  }
  template <class M>
  Future<M> async_copy() const {
    return invoke_async<M>("dict.copy");
  }
  /// Atomically adds delta to d[key] (absent counts as 0) and returns the new value. All or
  /// nothing: a new value T cannot hold (a float for an integer T, or outside T's range) throws
  /// TypeError or ValueError and changes nothing. Read a float with increment<double>, any number
  /// with increment<syncmgr::Value>.
  template <class T = std::int64_t, class K>
  T increment(const K& key, T delta = 1) {
    return invoke<T>("dict.increment", key, delta, detail::result_limits<T>());
  }
  template <class T = std::int64_t, class K>
  Future<T> async_increment(const K& key, T delta = 1) {
    return invoke_async<T>("dict.increment", key, delta, detail::result_limits<T>());
  }
  /// Atomically sets d[key] = desired if d[key] == expected. Returns whether it did.
  template <class K, class E, class D>
  bool compare_and_set(const K& key, const E& expected, const D& desired) {
    return invoke<bool>("dict.compare_and_set", key, expected, desired);
  }
  template <class K, class E, class D>
  Future<bool> async_compare_and_set(const K& key, const E& expected, const D& desired) {
    return invoke_async<bool>("dict.compare_and_set", key, expected, desired);
  }
};

}  // namespace syncmgr
