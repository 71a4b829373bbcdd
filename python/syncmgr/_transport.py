"""The two ways frames travel (docs/PROTOCOL.md, "Transport"): a ZeroMQ DEALER (tcp://, with
CurveZMQ, and ipc://) or a Unix-domain stream with length-prefixed frames (unix://). Both are used
by the connection's I/O thread only."""

import os
import socket
import struct
import threading
import weakref

import zmq

from . import _wire

_HANDSHAKE_FAILED = (zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL | zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL
                     | zmq.EVENT_HANDSHAKE_FAILED_AUTH)

# One ZeroMQ context per process; a fork()ed child makes its own (the parent's I/O threads do
# not exist there).
_context = None
_context_pid = None
_context_mu = threading.Lock()


def _process_context():
    global _context, _context_pid
    with _context_mu:
        if _context is None or _context_pid != os.getpid():
            _context = zmq.Context(1)
            _context_pid = os.getpid()
        return _context


class ZmqTransport:
    def __init__(self, endpoint, key):
        self.endpoint = endpoint
        self._tcp = endpoint.startswith("tcp://")
        self.handshake_failures = 0
        sock = _process_context().socket(zmq.DEALER)
        try:
            if self._tcp:
                server_public, client_public, client_secret = _wire.curve_keys(key)
                sock.curve_serverkey = server_public
                sock.curve_publickey = client_public
                sock.curve_secretkey = client_secret
            # Queue nothing while disconnected: a stale hello must not reach a daemon started later.
            sock.immediate = 1
            sock.linger = 200
            sock.reconnect_ivl = 100
            sock.reconnect_ivl_max = 2000
            sock.sndhwm = 0
            sock.rcvhwm = 0
            # Read until the first session, so that a tcp peer refusing our CURVE key (another
            # key) is reported as such rather than as silence. Not longer: libzmq sends monitor
            # events blocking, so a monitor nobody reads would stall the socket.
            self._monitor = sock.get_monitor_socket(zmq.EVENT_CONNECTED | _HANDSHAKE_FAILED)
            sock.connect(endpoint)
        except zmq.ZMQError as e:
            sock.close(0)
            raise ConnectionError("cannot connect to %s: %s" % (endpoint, e)) from None
        self._sock = sock

    def pollables(self):
        return [self._sock] if self._monitor is None else [self._sock, self._monitor]

    def stop_watching(self):
        if self._monitor is None:
            return
        try:
            self._sock.disable_monitor()
        except zmq.ZMQError:
            pass
        self._monitor.close(0)
        self._monitor = None

    def on_ready(self, obj):
        """Frames received on obj (one of pollables()), possibly none."""
        if obj is self._monitor:
            from zmq.utils.monitor import recv_monitor_message
            while True:
                try:
                    ev = recv_monitor_message(self._monitor, zmq.NOBLOCK)
                except zmq.Again:
                    return []
                if ev["event"] & _HANDSHAKE_FAILED:
                    self.handshake_failures += 1
        frames = []
        while True:
            try:
                parts = self._sock.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                return frames
            frames.append(parts[0] if len(parts) == 1 else b"".join(parts))

    def send(self, frame):
        """One frame; on tcp in parts of at most 32 KiB. False when not connected."""
        try:
            if not self._tcp or len(frame) <= _wire.WIRE_PART_SIZE:
                self._sock.send(frame, zmq.NOBLOCK)
            else:
                view = memoryview(frame)
                parts = [view[i:i + _wire.WIRE_PART_SIZE]
                         for i in range(0, len(frame), _wire.WIRE_PART_SIZE)]
                # ZeroMQ takes a message's parts all or none: only the first can fail.
                self._sock.send_multipart(parts, zmq.NOBLOCK)
            return True
        except zmq.Again:
            return False

    def take_dropped(self):
        return False  # ZeroMQ reconnects by itself; a lost connection shows as a failed send

    def explain(self, timeout):
        if self.handshake_failures >= 2:
            return None
        return ("no answer from syncmgrd at %s within %g s (is the daemon running, and is this its "
                "endpoint?)" % (self.endpoint, timeout))

    def close(self):
        self.stop_watching()
        self._sock.close(0)


# The process's unix:// sockets: a fork()ed child closes its copies at once. It never uses them
# (its first call opens a connection of its own), and a copy left open would keep the parent's
# connection, and so its session and Locks, alive after the parent died.
_unix_transports = weakref.WeakSet()


def _close_inherited():
    for t in list(_unix_transports):
        t.forget()


os.register_at_fork(after_in_child=_close_inherited)

SEND_PATIENCE = 5.0  # seconds a send may wait for room (only a stalled daemon makes it run out)


class UnixTransport:
    def __init__(self, endpoint):
        self.endpoint = endpoint
        self.handshake_failures = 0
        path = endpoint[len("unix://"):]
        if not path or len(os.fsencode(path)) >= 108:
            raise ConnectionError("cannot connect to %s: the path must have 1 to 107 bytes"
                                  % endpoint)
        self._path = path
        self._sock = None
        self._buf = bytearray()
        self._dropped = False
        self._last_error = "not tried"
        self._ever_connected = False
        self._connect()
        _unix_transports.add(self)

    def _connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(self._path)  # completes or fails at once
        except OSError as e:
            self._last_error = e.strerror or str(e)
            s.close()
            return False
        s.setblocking(False)
        self._sock = s
        self._buf = bytearray()
        self._ever_connected = True
        return True

    def pollables(self):
        return [] if self._sock is None else [self._sock.fileno()]

    def on_ready(self, obj):
        frames = []
        if self._sock is None:
            return frames
        while True:
            try:
                chunk = self._sock.recv(1 << 20)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                chunk = b""
            if not chunk:
                self._drop()
                return frames
            self._buf += chunk
        while len(self._buf) >= 4:
            (n,) = struct.unpack_from(">I", self._buf)
            if len(self._buf) < 4 + n:
                break
            frames.append(bytes(self._buf[4:4 + n]))
            del self._buf[:4 + n]
        return frames

    def send(self, frame):
        if self._sock is None and not self._connect():
            return False
        data = struct.pack(">I", len(frame)) + frame
        try:
            self._sock.settimeout(SEND_PATIENCE)
            self._sock.sendall(data)
            self._sock.setblocking(False)
            return True
        except OSError:
            self._drop()
            return False

    def _drop(self):
        self.forget()
        self._dropped = True

    def forget(self):
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        self._buf = bytearray()

    def take_dropped(self):
        d, self._dropped = self._dropped, False
        return d

    def stop_watching(self):
        pass

    def explain(self, timeout):
        if not self._ever_connected:
            return ("could not connect to syncmgrd at %s within %g s (%s; is the daemon running, "
                    "and is this its endpoint?)" % (self.endpoint, timeout, self._last_error))
        return "no answer from syncmgrd at %s within %g s" % (self.endpoint, timeout)

    def close(self):
        self.forget()


def open_transport(endpoint, key):
    if endpoint.startswith("unix://"):
        return UnixTransport(endpoint)
    if endpoint.startswith(("tcp://", "ipc://")):
        return ZmqTransport(endpoint, key)
    raise ValueError("unknown endpoint %r: use tcp://HOST:PORT, ipc:///PATH or unix:///PATH"
                     % endpoint)
