"""syncmgr from Python: the objects of a syncmgrd daemon, shared with C++ and Python processes.

    import syncmgr
    mgr = syncmgr.Manager("tcp://host:50000", authkey_file="/run/app/syncmgr.key")
    jobs = mgr.Queue("jobs")
    with mgr.Lock("stdout"):
        print(jobs.get(timeout=5))

The names and exceptions are Python's (multiprocessing managers, queue, threading); the wire is
docs/PROTOCOL.md.
"""

import os
import threading
import weakref

from . import _connection, _wire
from ._proxies import (ArrayProxy, BarrierProxy, BaseProxy, BoundedSemaphoreProxy,
                       ConditionProxy, DictProxy, EventProxy, JoinableQueueProxy, ListProxy,
                       LockProxy, NamespaceProxy, QueueProxy, RLockProxy, SemaphoreProxy,
                       ValueProxy)
from .errors import (AuthenticationError, CancelledError, InternalError, LockLost, ProtocolError,
                     ShutDown)

__version__ = "0.1.0"

DEFAULT_ENDPOINT = "tcp://127.0.0.1:50000"

__all__ = ["Manager", "AuthenticationError", "ProtocolError", "InternalError", "CancelledError",
           "LockLost", "ShutDown", "ArrayProxy", "BarrierProxy", "BaseProxy", "BoundedSemaphoreProxy",
           "ConditionProxy", "DictProxy", "EventProxy", "JoinableQueueProxy", "ListProxy",
           "LockProxy", "NamespaceProxy", "QueueProxy", "RLockProxy", "SemaphoreProxy",
           "ValueProxy"]


def _endpoint(address):
    if address is None:
        address = os.environ.get("SYNCMGR_ENDPOINT") or DEFAULT_ENDPOINT
    if isinstance(address, tuple):  # (host, port), as multiprocessing's managers take it
        return "tcp://%s:%d" % address
    return address


def _load_key(authkey, authkey_file):
    # The C++ client's order: a key given, a key file given, $SYNCMGR_AUTHKEY_FILE, then the key
    # itself in $SYNCMGR_AUTHKEY (what Manager::export_environment() sets for exec'd children).
    if authkey is not None:
        key = authkey.encode() if isinstance(authkey, str) else bytes(authkey)
        if len(key) < _wire.MIN_KEY_SIZE:
            raise AuthenticationError("the key is %d bytes; at least 32 are required" % len(key))
        return key
    path = authkey_file or os.environ.get("SYNCMGR_AUTHKEY_FILE")
    if not path:
        key = os.environ.get("SYNCMGR_AUTHKEY", "")
        if len(key) >= _wire.MIN_KEY_SIZE:
            return os.fsencode(key)
        raise AuthenticationError("no key: pass authkey_file= or set SYNCMGR_AUTHKEY_FILE to the "
                                  "daemon's key file")
    try:
        return _wire.read_key_file(path)
    except OSError as e:
        if e.errno in (24, 23):  # EMFILE, ENFILE: the process's limit, not a key problem
            raise ConnectionError(str(e)) from None
        raise AuthenticationError(str(e)) from None
    except ValueError as e:
        raise AuthenticationError(str(e)) from None


class Manager:
    """A session with a syncmgrd daemon, and the factory of proxies for its objects.

    address: "tcp://host:port", "ipc:///path" or (host, port); default $SYNCMGR_ENDPOINT, else
    tcp://127.0.0.1:50000. The key: authkey (bytes), else authkey_file, else
    $SYNCMGR_AUTHKEY_FILE, else $SYNCMGR_AUTHKEY. timeout: how long a call waits for its reply
    beyond its own timeout (a blocking call is cancelled on the daemon past it, then raises
    ConnectionError). frame_macs: keep per-frame MACs (see docs/PROTOCOL.md).

    Each object is opened (created if absent) by name; without a name it is temporary, freed
    when no session holds it any more. A fork()ed child's first call opens its own session.
    """

    def __init__(self, address=None, authkey=None, authkey_file=None, *, frame_macs=False,
                 timeout=30.0, connect_timeout=10.0):
        self.address = _endpoint(address)
        self._key = _load_key(authkey, authkey_file)
        self._frame_macs = frame_macs
        self._timeout = timeout
        self._connect_timeout = connect_timeout
        # Reentrant: a temporary's finalizer (_drop_temporary) may run in a thread holding it.
        self._mu = threading.RLock()
        self._temporaries = {}  # name -> holds by live proxies of this process
        self._temp_types = {}  # name -> type, to hold it again from a fork()ed child
        self._conn = _connection.Connection(self.address, self._key, frame_macs, connect_timeout)
        # A Manager dropped without close() ends its session (and its I/O thread) all the same.
        self._box = [self._conn]
        weakref.finalize(self, _close_box, self._box)

    # ---- calls ----

    def _connection(self):
        conn = self._conn
        if conn.pid != os.getpid():
            # A fork()ed child: the parent's I/O thread does not exist here and its socket must not
            # be touched; the child gets a session of its own.
            with self._mu:
                if self._conn.pid != os.getpid():
                    _abandoned.append(self._conn)
                    self._conn = _connection.Connection(self.address, self._key,
                                                        self._frame_macs, self._connect_timeout)
                    # This session holds the temporaries the inherited proxies refer to.
                    self._box[0] = self._conn
                    for name in list(self._temporaries):
                        self._conn.post("server.open", None, [self._temp_types[name], name, None])
                conn = self._conn
        return conn

    def _call(self, op, target, args):
        return self._connection().call(op, target, args, self._timeout)

    def _call_blocking(self, op, target, args, timeout):
        # The daemon enforces the timeout; our deadline only catches a daemon that never answers.
        deadline = None
        if isinstance(timeout, (int, float)) and not isinstance(timeout, bool):
            deadline = max(timeout, 0) + self._timeout
        return self._connection().call(op, target, args, deadline, cancellable=True)

    # ---- objects ----

    def _open(self, type_name, name, params=None, **extra):
        created_name, _ = self._call("server.open", None, [type_name, name, params])
        proxy = _connection_proxy(type_name)(self, created_name, **extra)
        if created_name.startswith("~"):
            with self._mu:
                self._temporaries[created_name] = self._temporaries.get(created_name, 0) + 1
                self._temp_types[created_name] = type_name
            weakref.finalize(proxy, self._drop_temporary, created_name)
        return proxy

    def _drop_temporary(self, name):
        with self._mu:
            n = self._temporaries.get(name, 0) - 1
            if n > 0:
                self._temporaries[name] = n
                return
            self._temporaries.pop(name, None)
        try:
            if self._conn.pid == os.getpid():
                self._conn.post("server.release", None, [name])
        except Exception:
            pass  # the session's end releases it anyway

    def Namespace(self, name=None, **attributes):
        return self._open("namespace", name, {"attributes": attributes} if attributes else None)

    def dict(self, name=None, items=None):
        """dict("name"), dict("name", {...}), or as Python's manager: dict() and dict({...})
        (temporary)."""
        if name is not None and not isinstance(name, str):
            name, items = None, name
        params = None
        if items is not None:
            pairs = items.items() if hasattr(items, "items") else items
            params = {"items": [[k, v] for k, v in pairs]}
        return self._open("dict", name, params)

    def list(self, name=None, items=None):
        """list("name"), list("name", [...]), or as Python's manager: list() and list([...])."""
        if name is not None and not isinstance(name, str):
            name, items = None, name
        return self._open("list", name, None if items is None else {"items": list(items)})

    def Queue(self, name=None, maxsize=0):
        return self._open("queue", name, {"maxsize": maxsize})

    def JoinableQueue(self, name=None, maxsize=0, requeue_undone=True):
        """requeue_undone=False: an item got by a process that dies before task_done() is lost
        (Python's behaviour); by default it is put back for another worker."""
        return self._open("joinablequeue", name,
                          {"maxsize": maxsize, "requeue_undone": bool(requeue_undone)})

    def Lock(self, name=None):
        return self._open("lock", name)

    def RLock(self, name=None):
        return self._open("rlock", name)

    def Semaphore(self, name=None, value=1, owned=False):
        """owned=True: permits belong to the process that acquired them (returned if it dies)."""
        return self._open("semaphore", name, {"value": value, "owned": bool(owned)})

    def BoundedSemaphore(self, name=None, value=1, owned=False):
        return self._open("boundedsemaphore", name, {"value": value, "owned": bool(owned)})

    def Condition(self, name=None, lock=None):
        """lock: a Lock/RLock proxy or its name (default: the condition's own RLock)."""
        if isinstance(lock, BaseProxy):
            lock = lock._name
        return self._open("condition", name, None if lock is None else {"lock": lock})

    def Event(self, name=None):
        return self._open("event", name)

    def Barrier(self, name, parties, action=None, timeout=None):
        """The action runs in the process of the last party to arrive: give every process's
        Barrier(...) the same action."""
        params = {"parties": parties, "timeout": timeout, "action": action is not None}
        return self._open("barrier", name, params, action=action)

    def Value(self, name=None, value=None):
        """The first argument is the object's name, not a typecode: Value("hits", 0)."""
        return self._open("value", name, {"value": value})

    def Array(self, name=None, items=()):
        return self._open("array", name, {"items": list(items)})

    # ---- the daemon ----

    def remove(self, name):
        self._call("server.remove", None, [name])

    def objects(self):
        """A describe map ({"name", "type", "size", "temporary"}) per object, sorted by name."""
        return self._call("server.list", None, [])

    def ping(self):
        return self._call("server.ping", None, [])

    def stats(self):
        return self._call("server.stats", None, [])

    def shutdown(self):
        """Stops the daemon (every client's objects go with it)."""
        self._call("server.shutdown", None, [])
        self.close()

    def close(self):
        """Ends this process's session now (its Locks are released, its temporaries dropped)."""
        if self._conn.pid == os.getpid():
            self._conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _close_box(box):
    if box[0].pid == os.getpid():
        box[0].close()


def _connection_proxy(type_name):
    from ._proxies import PROXIES
    return PROXIES[type_name]


# Connections inherited across fork(), kept so that nothing closes their sockets in the child.
_abandoned = []
