"""Proxies with the method names and exceptions of Python's own types and managers.

Every method is one request to the daemon (docs/PROTOCOL.md, "Operations"). Timeouts are seconds
as in Python; the daemon enforces them. Values are msgpack: None, bool, int (int64/uint64), float,
str, bytes, lists (tuples are sent as lists) and dicts; a dict key that is an array reads back as
a tuple.
"""

import threading

from ._wire import _hashable as _key
from .errors import make_error

_MASK63 = (1 << 63) - 1


def _thread_id():
    # The owner of a lock is (session, thread): a non-negative int stable per thread.
    return threading.get_ident() & _MASK63


def _slice_args(s):
    return [s.start, s.stop, s.step]


class BaseProxy:
    """A named object on the daemon. `name` passes it to another process."""

    _type = None

    def __init__(self, manager, name):
        object.__setattr__(self, "_manager", manager)
        object.__setattr__(self, "_name", name)

    @property
    def name(self):
        return self._name

    def _call(self, op, *args):
        return self._manager._call("%s.%s" % (self._type, op), self._name, list(args))

    def _call_blocking(self, op, block, timeout, *args):
        return self._manager._call_blocking("%s.%s" % (self._type, op), self._name,
                                            list(args) + [bool(block), timeout], timeout)

    def __repr__(self):
        return "<%s %r>" % (type(self).__name__, self._name)

    def __reduce__(self):
        # A proxy travels to another process as its name and type; the receiver opens it with its
        # own Manager (Manager.proxy).
        raise TypeError("syncmgr proxies do not pickle: pass %r and open it in the other process"
                        % self._name)


class DictProxy(BaseProxy):
    _type = "dict"

    def __getitem__(self, key):
        return self._lookup("get", key)

    def _lookup(self, op, key, *rest):
        try:
            return self._call(op, key, *rest)
        except KeyError:
            raise KeyError(key) from None  # as d[key] raises it

    def __setitem__(self, key, value):
        self._call("set", key, value)

    def __delitem__(self, key):
        self._lookup("del", key)

    def __contains__(self, key):
        return self._call("contains", key)

    def __len__(self):
        return self._call("len")

    # Keys that are arrays come back as tuples, so that they can be used as keys again.
    def __iter__(self):
        return iter(self.keys())

    def get(self, key, default=None):
        return self._call("get", key, default)

    def get_many(self, keys, default=None):
        return self._call("get_many", list(keys), default)

    def keys(self):
        return [_key(k) for k in self._call("keys")]

    def values(self):
        return self._call("values")

    def items(self):
        return [(_key(k), v) for k, v in self._call("items")]

    def update(self, other=(), **kwargs):
        if hasattr(other, "keys"):
            pairs = [[k, other[k]] for k in other.keys()]
        else:
            pairs = [list(kv) for kv in other]
        pairs.extend([k, v] for k, v in kwargs.items())
        self._call("update", pairs)

    _missing = object()

    def pop(self, key, default=_missing):
        if default is DictProxy._missing:
            return self._lookup("pop", key)
        return self._call("pop", key, default)

    def popitem(self):
        k, v = self._call("popitem")
        return _key(k), v

    def setdefault(self, key, default=None):
        return self._call("setdefault", key, default)

    def clear(self):
        self._call("clear")

    def copy(self):
        return self._call("copy")

    def increment(self, key, delta=1):
        """Atomic d[key] += delta (an absent key counts as 0); returns the new value."""
        return self._call("increment", key, delta)

    def compare_and_set(self, key, expected, desired):
        return self._call("compare_and_set", key, expected, desired)


class ListProxy(BaseProxy):
    _type = "list"

    def __getitem__(self, index):
        if isinstance(index, slice):
            return self._call("get_slice", *_slice_args(index))
        return self._call("get", index)

    def __setitem__(self, index, value):
        if isinstance(index, slice):
            self._call("set_slice", *_slice_args(index), list(value))
        else:
            self._call("set", index, value)

    def __delitem__(self, index):
        if isinstance(index, slice):
            self._call("del_slice", *_slice_args(index))
        else:
            self._call("del", index)

    def __len__(self):
        return self._call("len")

    def __contains__(self, item):
        return self._call("contains", item)

    def __iter__(self):
        return iter(self._call("copy"))

    def __iadd__(self, items):
        self.extend(items)
        return self

    def append(self, item):
        self._call("append", item)

    def extend(self, items):
        self._call("extend", list(items))

    def insert(self, index, item):
        self._call("insert", index, item)

    def pop(self, index=-1):
        return self._call("pop", index)

    def remove(self, item):
        self._call("remove", item)

    def index(self, item, *bounds):
        return self._call("index", item, *bounds)

    def count(self, item):
        return self._call("count", item)

    def reverse(self):
        self._call("reverse")

    def sort(self, *, key=None, reverse=False):
        if key is not None:
            raise TypeError("sort(key=...) cannot run on the daemon; sort a copy() locally")
        self._call("sort", bool(reverse))

    def clear(self):
        self._call("clear")

    def copy(self):
        return self._call("copy")


class NamespaceProxy(BaseProxy):
    """Attribute access as Python's Namespace: ns.x, ns.x = 1, del ns.x.

    Names starting with '_' and the method names below stay local; reach such an attribute on the
    daemon with get/set (ns.set('name', 1)). `ns.x += 1` is a read then a write: use increment.
    """

    _type = "namespace"

    # A Namespace's attribute "name" is common: here it is the daemon's (the object's own name is
    # ns._name).
    name = property(lambda self: self._call("get", "name"),
                    lambda self, v: self._call("set", "name", v),
                    lambda self: self._call("del", "name"))

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        return self._call("get", name)

    def __setattr__(self, name, value):
        if name == "name":
            return object.__setattr__(self, name, value)  # the property above
        if name.startswith("_") or hasattr(type(self), name):
            raise AttributeError("%r is a method of the Namespace proxy (or private); use "
                                 "ns.set(%r, value)" % (name, name))
        self._call("set", name, value)

    def __delattr__(self, name):
        if name == "name":
            return object.__delattr__(self, name)
        if name.startswith("_") or hasattr(type(self), name):
            raise AttributeError("%r is a method of the Namespace proxy; use ns.delete(%r)"
                                 % (name, name))
        self._call("del", name)

    _missing = object()

    def get(self, name, default=_missing):
        if default is NamespaceProxy._missing:
            return self._call("get", name)
        return self._call("get", name, default)

    def set(self, name, value):
        self._call("set", name, value)

    def delete(self, name):
        self._call("del", name)

    def has(self, name):
        return self._call("has", name)

    def attributes(self):
        return self._call("attributes")

    def snapshot(self):
        return self._call("snapshot")

    def increment(self, name, delta=1):
        """Atomic ns.name += delta (absent counts as 0); returns the new value."""
        return self._call("increment", name, delta)

    def compare_and_set(self, name, expected, desired):
        return self._call("compare_and_set", name, expected, desired)

    def set_if_absent(self, name, value):
        return self._call("set_if_absent", name, value)


class QueueProxy(BaseProxy):
    _type = "queue"

    def put(self, item, block=True, timeout=None):
        self._call_blocking("put", block, timeout, item)

    def put_nowait(self, item):
        self.put(item, False)

    def get(self, block=True, timeout=None):
        return self._call_blocking("get", block, timeout)

    def get_nowait(self):
        return self.get(False)

    def put_many(self, items, block=True, timeout=None):
        self._call_blocking("put_many", block, timeout, list(items))

    def get_many(self, n, block=True, timeout=None):
        return self._call_blocking("get_many", block, timeout, n)

    def qsize(self):
        return self._call("qsize")

    def empty(self):
        return self._call("empty")

    def full(self):
        return self._call("full")

    @property
    def maxsize(self):
        return self._call("maxsize")

    def shutdown(self, immediate=False):
        self._call("shutdown", bool(immediate))

    def is_shutdown(self):
        return self._call("is_shutdown")


class JoinableQueueProxy(QueueProxy):
    _type = "joinablequeue"

    def task_done(self):
        self._call("task_done")

    def join(self, timeout=None):
        """Blocks until every item put was marked done. With a timeout: False if it passed."""
        done = self._call_blocking("join", True, timeout)
        return None if timeout is None else done


class _Acquirable(BaseProxy):
    def __enter__(self):
        self.acquire()
        return self

    def __exit__(self, *exc):
        self.release()


def _lock_timeout(blocking, timeout):
    # threading.Lock.acquire's rules: timeout -1 waits forever; a timeout needs blocking.
    if timeout is None or timeout == -1:
        return None
    if not blocking:
        raise ValueError("can't specify a timeout for a non-blocking call")
    if timeout < 0:
        raise ValueError("timeout value must be a non-negative number")
    return timeout


class LockProxy(_Acquirable):
    _type = "lock"

    def acquire(self, blocking=True, timeout=-1):
        return self.acquire_fenced(blocking, timeout) is not None

    def acquire_fenced(self, blocking=True, timeout=-1):
        """Like acquire; returns the grant's fencing token (an int that grows with every grant),
        or None when not acquired."""
        t = _lock_timeout(blocking, timeout)
        return self._call_blocking("acquire", blocking, t, _thread_id())

    def release(self):
        self._call("release", _thread_id())

    def locked(self):
        return self._call("locked")

    def owned(self):
        """Held by this thread of this process."""
        return self._call("owned", _thread_id())


class RLockProxy(LockProxy):
    _type = "rlock"


class SemaphoreProxy(_Acquirable):
    _type = "semaphore"

    def acquire(self, blocking=True, timeout=None):
        if not blocking and timeout is not None:
            raise ValueError("can't specify timeout for non-blocking acquire")
        return self._call_blocking("acquire", blocking, timeout)

    def release(self, n=1):
        self._call("release", n)

    def get_value(self):
        return self._call("get_value")


class BoundedSemaphoreProxy(SemaphoreProxy):
    _type = "boundedsemaphore"


class ConditionProxy(_Acquirable):
    _type = "condition"

    def acquire(self, blocking=True, timeout=-1):
        t = _lock_timeout(blocking, timeout)
        return self._call_blocking("acquire", blocking, t, _thread_id()) is not None

    def release(self):
        self._call("release", _thread_id())

    def wait(self, timeout=None):
        return self._call_blocking("wait", True, timeout, _thread_id())

    def wait_for(self, predicate, timeout=None):
        import time
        end = None if timeout is None else time.monotonic() + timeout
        result = predicate()
        while not result:
            left = None
            if end is not None:
                left = end - time.monotonic()
                if left <= 0:
                    break
            self.wait(left)
            result = predicate()
        return result

    def notify(self, n=1):
        self._call("notify", _thread_id(), n)

    def notify_all(self):
        self._call("notify_all", _thread_id())


class EventProxy(BaseProxy):
    _type = "event"

    def set(self):
        self._call("set")

    def clear(self):
        self._call("clear")

    def is_set(self):
        return self._call("is_set")

    def wait(self, timeout=None):
        return self._call_blocking("wait", True, timeout)


class BarrierProxy(BaseProxy):
    _type = "barrier"

    def __init__(self, manager, name, action=None):
        super().__init__(manager, name)
        object.__setattr__(self, "_action", action)

    def wait(self, timeout=None):
        index, run_action = self._call_blocking("wait", True, timeout)
        if run_action:
            # The last party to arrive runs the action here (the daemon cannot run our code); the
            # others wait until it says how it went.
            try:
                if self._action is not None:
                    self._action()
            except BaseException:
                self._call("action_done", False)
                raise
            self._call("action_done", True)
        return index

    def abort(self):
        self._call("abort")

    def reset(self):
        self._call("reset")

    @property
    def parties(self):
        return self._call("parties")

    @property
    def n_waiting(self):
        return self._call("n_waiting")

    @property
    def broken(self):
        return self._call("broken")


class ValueProxy(BaseProxy):
    _type = "value"

    def get(self):
        return self._call("get")

    def set(self, value):
        self._call("set", value)

    value = property(get, set)

    def add(self, delta=1):
        """Atomic value += delta (None counts as 0); returns the new value."""
        return self._call("add", delta)

    def compare_and_set(self, expected, desired):
        return self._call("compare_and_set", expected, desired)


class ArrayProxy(BaseProxy):
    _type = "array"

    def __len__(self):
        return self._call("len")

    def __getitem__(self, index):
        if isinstance(index, slice):
            return self._call("get_slice", *_slice_args(index))
        return self._call("get", index)

    def __setitem__(self, index, value):
        if isinstance(index, slice):
            self._call("set_slice", *_slice_args(index), list(value))
        else:
            self._call("set", index, value)

    def __iter__(self):
        return iter(self[:])

    def tolist(self):
        return self[:]


PROXIES = {
    "namespace": NamespaceProxy, "dict": DictProxy, "list": ListProxy, "queue": QueueProxy,
    "joinablequeue": JoinableQueueProxy, "lock": LockProxy, "rlock": RLockProxy,
    "semaphore": SemaphoreProxy, "boundedsemaphore": BoundedSemaphoreProxy,
    "condition": ConditionProxy, "event": EventProxy, "barrier": BarrierProxy,
    "value": ValueProxy, "array": ArrayProxy,
}

__all__ = [c.__name__ for c in PROXIES.values()] + ["BaseProxy", "make_error"]
