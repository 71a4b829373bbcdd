// ListProxy: Python's list proxy across processes, with Python's indexing and slicing rules.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "syncmgr/proxy.hpp"

namespace syncmgr {

/// A Python slice: l[start:stop:step]; an empty optional is an omitted bound.
struct Slice {
  std::optional<std::int64_t> start;
  std::optional<std::int64_t> stop;
  std::optional<std::int64_t> step;
};

class ListProxy : public detail::ProxyBase {
 public:
  explicit ListProxy(std::shared_ptr<detail::ObjectRef> ref) : ProxyBase(std::move(ref)) {}

  /// l[index] (negative counts from the end): reads and assignments go to the daemon at once (see
  /// detail::ElementRef). IndexError when out of range.
  detail::ElementRef<ListProxy, std::int64_t> operator[](std::int64_t index) const {
    return {*this, index};
  }
  /// `for (const auto& item : l)`: the items of one snapshot, taken in one call when the loop
  /// starts.
  detail::SnapshotIterator<Value> begin() const { return detail::SnapshotIterator<Value>(copy()); }
  std::default_sentinel_t end() const { return {}; }

  template <class T>
  void append(const T& item) {
    invoke<void>("list.append", item);
  }
  template <class T>
  Future<void> async_append(const T& item) {
    return invoke_async<void>("list.append", item);
  }
  /// Appends every element of a container.
  template <class C>
  void extend(const C& items) {
    invoke<void>("list.extend", items);
  }
  template <class C>
  Future<void> async_extend(const C& items) {
    return invoke_async<void>("list.extend", items);
  }
  template <class T>
  void insert(std::int64_t index, const T& item) {
    invoke<void>("list.insert", index, item);
  }
  template <class T>
  Future<void> async_insert(std::int64_t index, const T& item) {
    return invoke_async<void>("list.insert", index, item);
  }
  /// Removes and returns the item at index (default last). Throws IndexError; ConversionError
  /// (holding the item removed) when it does not convert to T.
  template <class T = Value>
  T pop(std::int64_t index = -1) {
    return invoke<T>("list.pop", index);
  }
  template <class T = Value>
  Future<T> async_pop(std::int64_t index = -1) {
    return invoke_async<T>("list.pop", index);
  }
  /// Removes the first item equal to `item`. Throws ValueError if there is none.
  template <class T>
  void remove(const T& item) {
    invoke<void>("list.remove", item);
  }
  template <class T>
  Future<void> async_remove(const T& item) {
    return invoke_async<void>("list.remove", item);
  }
  /// Index of the first item equal to `item` in [start, stop). Throws ValueError if there is none.
  template <class T>
  std::int64_t index(const T& item, std::optional<std::int64_t> start = {},
                     std::optional<std::int64_t> stop = {}) const {
    return invoke<std::int64_t>("list.index", item, start, stop);
  }
  template <class T>
  Future<std::int64_t> async_index(const T& item, std::optional<std::int64_t> start = {},
                                   std::optional<std::int64_t> stop = {}) const {
    return invoke_async<std::int64_t>("list.index", item, start, stop);
  }
  template <class T>
  std::size_t count(const T& item) const {
    return invoke<std::size_t>("list.count", item);
  }
  template <class T>
  Future<std::size_t> async_count(const T& item) const {
    return invoke_async<std::size_t>("list.count", item);
  }
  std::size_t len() const { return invoke<std::size_t>("list.len"); }
  Future<std::size_t> async_len() const { return invoke_async<std::size_t>("list.len"); }
  /// l[index]; negative indices count from the end. Throws IndexError.
  template <class T = Value>
  T get(std::int64_t index) const {
    return invoke<T>("list.get", index);
  }
  template <class T = Value>
  Future<T> async_get(std::int64_t index) const {
    return invoke_async<T>("list.get", index);
  }
  /// l[index] = item. Throws IndexError.
  template <class T>
  void set(std::int64_t index, const T& item) {
    invoke<void>("list.set", index, item);
  }
  template <class T>
  Future<void> async_set(std::int64_t index, const T& item) {
    return invoke_async<void>("list.set", index, item);
  }
  /// del l[index]. Throws IndexError.
  void del(std::int64_t index) { invoke<void>("list.del", index); }
  Future<void> async_del(std::int64_t index) { return invoke_async<void>("list.del", index); }
  /// l[start:stop:step]
  template <class T = Value>
  std::vector<T> get_slice(const Slice& s) const {
    return invoke<std::vector<T>>("list.get_slice", s.start, s.stop, s.step);
  }
  template <class T = Value>
  Future<std::vector<T>> async_get_slice(const Slice& s) const {
    return invoke_async<std::vector<T>>("list.get_slice", s.start, s.stop, s.step);
  }
  /// l[start:stop:step] = items (an extended slice needs as many items as it selects).
  template <class C>
  void set_slice(const Slice& s, const C& items) {
    invoke<void>("list.set_slice", s.start, s.stop, s.step, items);
  }
  template <class C>
  Future<void> async_set_slice(const Slice& s, const C& items) {
    return invoke_async<void>("list.set_slice", s.start, s.stop, s.step, items);
  }
  /// del l[start:stop:step]
  void del_slice(const Slice& s) { invoke<void>("list.del_slice", s.start, s.stop, s.step); }
  Future<void> async_del_slice(const Slice& s) {
    return invoke_async<void>("list.del_slice", s.start, s.stop, s.step);
  }
  void reverse() { invoke<void>("list.reverse"); }
  Future<void> async_reverse() { return invoke_async<void>("list.reverse"); }
  /// Stable sort. Throws TypeError if the items are not mutually orderable (e.g. ints and strs).
  void sort(bool reverse = false) { invoke<void>("list.sort", reverse); }
  Future<void> async_sort(bool reverse = false) { return invoke_async<void>("list.sort", reverse); }
  void clear() { invoke<void>("list.clear"); }
  Future<void> async_clear() { return invoke_async<void>("list.clear"); }
  /// A local copy of every item.
  template <class T = Value>
  std::vector<T> copy() const {
    return invoke<std::vector<T>>("list.copy");
  }
  template <class T = Value>
  Future<std::vector<T>> async_copy() const {
    return invoke_async<std::vector<T>>("list.copy");
  }
  template <class T>
  bool contains(const T& item) const {
    return invoke<bool>("list.contains", item);
  }
  template <class T>
  Future<bool> async_contains(const T& item) const {
    return invoke_async<bool>("list.contains", item);
  }
};

}  // namespace syncmgr
