"""Wire error kinds (docs/PROTOCOL.md, "Error kinds") as the exceptions Python raises."""

import queue
import threading
from multiprocessing import AuthenticationError


class ProtocolError(Exception):
    """The daemon could not read a request (a client bug or a version mismatch)."""


class InternalError(RuntimeError):
    """A bug in the daemon (it logged it)."""


class LockLost(RuntimeError):
    """A release carrying the fencing token of a grant that is no longer current (the holder's
    session ended and the lock went to another): nothing was released."""


class CancelledError(Exception):
    """A parked call ended by server.cancel (the client's own deadline passed)."""


# Python 3.13's queue.ShutDown where it exists.
ShutDown = getattr(queue, "ShutDown", None)
if ShutDown is None:
    class ShutDown(Exception):  # noqa: E301 (3.13's queue.ShutDown on older Pythons)
        """Raised by put/get on a queue that was shut down."""


_KINDS = {
    "KeyError": KeyError,
    "IndexError": IndexError,
    "TypeError": TypeError,
    "ValueError": ValueError,
    "NameError": NameError,
    "AttributeError": AttributeError,
    "RuntimeError": RuntimeError,
    "Empty": queue.Empty,
    "Full": queue.Full,
    "BrokenBarrierError": threading.BrokenBarrierError,
    "ShutDown": ShutDown,
    "AuthenticationError": AuthenticationError,
    "ConnectionError": ConnectionError,
    "ProtocolError": ProtocolError,
    "InternalError": InternalError,
    "CancelledError": CancelledError,
    "LockLost": LockLost,
    "SessionError": ConnectionError,
}


def make_error(kind, message):
    cls = _KINDS.get(kind)
    if cls is None:
        return RuntimeError("%s: %s" % (kind, message))
    return cls(message)
