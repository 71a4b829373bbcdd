"""One session with syncmgrd: handshake, frames, heartbeats, reconnection (docs/PROTOCOL.md).

The transport (a ZeroMQ socket, or a unix:// stream) has one driver at a time: the thread that
holds `_driving` sends what is queued, polls, reads every frame, hands each reply to its caller by
id, and keeps the timers (heartbeats, handshake retries, liveness). A thread waiting for its own
reply drives itself when nobody else does, so a call costs no hand-off between threads (the
reply wakes the caller straight from its poll); threads that find a driver queue their request,
wake it through a pipe and sleep until their reply comes or the driver lets go. A background
thread drives only when nobody else does and something is due: the handshake, a heartbeat (also
while the program is idle, so an idle process keeps its Locks), requests queued by finalizers.
"""
import atexit
import collections
import hmac
import itertools
import os
import threading
import time
import weakref

import zmq

from . import _transport, _wire
from .errors import AuthenticationError, ProtocolError, make_error

# Delivery acknowledgement (the ACK flag of request frames, docs/PROTOCOL.md): every request frame,
# heartbeats included, carries the highest reply seq received, so the daemon can put back items
# handed to this process that it never received. False only to talk to daemons older than the flag
# (which refuse it as malformed): items then count as received when sent.
SEND_ACK = True

HANDSHAKE_RETRY = 2.0  # seconds between hellos while the daemon does not answer
CONNECT_POLL = 0.01  # the first hellos, while ZeroMQ is still connecting
CANCEL_GRACE = 5.0  # how long a caller past its deadline waits for its cancellation's answer
REMEMBERED_HELLOS = 8

_live = weakref.WeakSet()


@atexit.register
def _close_all():
    # Say goodbye so the daemon releases this process's session (its Locks, its temporaries) now
    # rather than after the session timeout.
    for conn in list(_live):
        if conn.pid == os.getpid():
            conn.close()


class _Call:
    __slots__ = ("event", "reply", "error", "cv")

    def __init__(self):
        self.event = threading.Event()
        self.reply = None  # the reply array
        self.error = None  # an exception, when the call failed locally
        self.cv = None  # while its caller sleeps (on the connection's _mu): woken alone

    def finish(self):
        """Under the connection's _mu."""
        self.event.set()
        if self.cv is not None:
            self.cv.notify()


class Connection:
    def __init__(self, endpoint, key, frame_macs=False, connect_timeout=10.0):
        self.endpoint = endpoint
        self.pid = os.getpid()
        self._key = key
        self._want_macs = frame_macs
        self._ids = itertools.count(1)
        # Shared with callers, under _mu.
        self._mu = threading.Lock()
        self._changed = threading.Condition(self._mu)
        self._calls = {}
        self._outbox = collections.deque()  # (id, packed request)
        self._posted = collections.deque()  # the same, appended without _mu (see post)
        self._state = "connecting"  # established, failed
        self._fatal = None
        self._stop = False
        self._max_message_size = 64 << 20
        self._last_refusal = None
        # The I/O thread's from here on.
        self._session = 0
        self._session_key = None
        self._macs = True
        self._linked = False
        self._awaiting_welcome = False
        self._ever_established = False
        self._out_seq = 0
        self._in_seq = 0
        self._reply_seq = 0  # highest seq of a reply frame received in this session (the ack)
        self._cn = b""
        self._hellos = collections.deque(maxlen=REMEMBERED_HELLOS)
        self._unanswered = set()
        self._session_timeout = 10.0
        self._last_sent = self._last_received = time.monotonic()
        self._handshake_deadline = 0.0

        self._driving = False  # a thread drives the transport (see the module's comment)
        self._sleepers = set()  # calls whose callers sleep while another thread drives
        self._next_timer = 0.0  # when the background thread looks in next
        self._bg_cv = threading.Condition(self._mu)

        self._transport = _transport.open_transport(endpoint, key)
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        self._poller = zmq.Poller()
        self._poller.register(self._wake_r, zmq.POLLIN)
        self._watched = []
        self._thread = threading.Thread(target=self._background, name="syncmgr-io", daemon=True)
        self._thread.start()
        _live.add(self)
        with self._mu:
            self._changed.wait_for(lambda: self._state != "connecting", connect_timeout)
            state, fatal = self._state, self._fatal
        if state == "established":
            return
        if state == "connecting":
            why = self._transport.explain(connect_timeout)
            if why is None:
                fatal = AuthenticationError(
                    "syncmgrd at %s refused the encrypted handshake: its key is not this "
                    "client's key" % endpoint)
            else:
                fatal = ConnectionError(why)
        self.close()
        raise fatal

    # ---- callers' side ----

    def call(self, op, target, args, deadline=None, cancellable=False):
        """Sends one request and returns its result; raises its error.

        deadline: seconds to wait for the reply (None: only the daemon's liveness bounds it). A
        cancellable (blocking) call past its deadline is cancelled on the daemon first, so that it
        cannot be served to nobody.
        """
        call_id = next(self._ids)
        call = _Call()
        self._submit(call_id, _wire.pack([call_id, op, target, args]), call)
        try:
            answered = self._wait(call, None if deadline is None else time.monotonic() + deadline)
            if not answered and cancellable:
                cancel_id = next(self._ids)
                self._submit(cancel_id, _wire.pack([cancel_id, "server.cancel", None, [call_id]]),
                             None)
                answered = self._wait(call, time.monotonic() + CANCEL_GRACE)
        except BaseException:
            # Interrupted (KeyboardInterrupt): end a parked call rather than leave it waiting.
            if cancellable:
                self.post("server.cancel", None, [call_id])
            with self._mu:
                self._calls.pop(call_id, None)
            raise
        if not answered:
            with self._mu:
                self._calls.pop(call_id, None)  # a late reply finds nobody and is dropped
                refusal = self._last_refusal
            why = "" if refusal is None else " (the daemon last refused a frame: %s: %s)" % refusal
            raise ConnectionError("%s: no reply from syncmgrd at %s before the call's deadline%s"
                                  % (op, self.endpoint, why))
        if call.error is not None:
            raise call.error
        r = call.reply
        if r[1] == 0:
            return r[2]
        if r[2] == "CancelledError":
            raise ConnectionError("%s: no reply before the call's deadline; cancelled" % op)
        raise make_error(r[2], r[3])

    def post(self, op, target, args):
        """Queues a request whose reply nobody waits for. Takes no lock: it is called from
        finalizers (a temporary's last proxy), which may run in any thread at any allocation,
        also in one that holds _mu. It leaves with the next frame (the next call, or the
        background thread's next look, a heartbeat interval at most)."""
        call_id = next(self._ids)
        try:
            self._posted.append((call_id, _wire.pack([call_id, op, target, args])))
        except Exception:
            return
        self._wake()

    def _submit(self, call_id, body, call):
        # body: packed by the caller (TypeError/OverflowError there: nothing was sent).
        with self._mu:
            if self._state == "failed":
                raise self._fatal
            if len(body) > self._max_message_size:
                raise ProtocolError("request of %d bytes exceeds the daemon's limit of %d"
                                    % (len(body), self._max_message_size))
            if call is not None:
                self._calls[call_id] = call
            self._outbox.append((call_id, body))
            driving = self._driving
            if call is None and not driving:
                self._bg_cv.notify()
        if driving:
            self._wake()  # the driver's poll returns and sends it

    def _wait(self, call, end):
        """Waits for the call's reply until `end` (monotonic; None: no limit), driving the
        transport whenever nobody else does. True when answered."""
        mu = self._mu
        mu.acquire()
        try:
            while not call.event.is_set():
                now = time.monotonic()
                if end is not None and now >= end:
                    return False
                if self._driving:
                    # Woken alone: by the driver when it hands out this reply, or lets go.
                    if call.cv is None:
                        call.cv = threading.Condition(mu)
                    self._sleepers.add(call)
                    try:
                        call.cv.wait(1.0 if end is None else min(end - now, 1.0))
                    finally:
                        self._sleepers.discard(call)
                    continue
                self._driving = True
                mu.release()
                try:
                    while not call.event.is_set():
                        now = time.monotonic()
                        if end is not None and now >= end:
                            break
                        limit = self._timer() - now
                        if end is not None:
                            limit = min(limit, end - now)
                        self._round(min(max(limit, 0.0), 1.0))
                finally:
                    mu.acquire()
                    self._let_go()
            return True
        finally:
            mu.release()

    def _let_go(self):
        """The driver lets go (_mu held): a waiting caller takes over, else the background
        thread when something is due."""
        self._driving = False
        self._next_timer = self._timer()
        for call in self._sleepers:
            if not call.event.is_set():
                call.cv.notify()  # it takes over
                return
        if self._outbox or self._posted or not self._linked or self._stop:
            self._bg_cv.notify()

    def _timer(self):
        """When the driver must look in next: the heartbeat or the handshake retry."""
        if self._linked:
            return self._last_sent + self._session_timeout / 3
        return self._handshake_deadline

    def _wake(self):
        try:
            os.write(self._wake_w, b"\0")
        except (BlockingIOError, OSError):
            pass  # the pipe is full (the driver will look anyway) or closed

    def close(self):
        """Ends the session (server.bye) and stops the I/O thread. Idempotent."""
        with self._mu:
            if self._stop:
                return
            self._stop = True
            self._bg_cv.notify()
        # Calls in flight fail (a driver among them stops driving), new ones are refused; then
        # the background thread says goodbye.
        self._fail_calls(ConnectionError("the Manager was closed"), fatal=True, sent_only=False)
        self._wake()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(5)

    # ---- the driver ----

    def _background(self):
        mu = self._mu
        try:
            with mu:
                self._driving = True
            self._start_handshake()
            with mu:
                self._let_go()
            while True:
                with mu:
                    while True:
                        now = time.monotonic()
                        if not self._driving and (
                                self._stop or self._outbox or self._posted
                                or (not self._linked and self._state != "failed")
                                or now >= self._next_timer):
                            self._driving = True
                            break
                        self._bg_cv.wait(min(max(self._next_timer - now, 0.001), 1.0))
                    stop = self._stop
                if stop:
                    break
                try:
                    # During a handshake, wait for its frames here; else one quick round.
                    if self._linked:
                        self._round(0.0)
                    else:
                        self._round(min(max(self._handshake_deadline - time.monotonic(), 0.0),
                                        0.1))
                finally:
                    with mu:
                        self._let_go()
            # The transport is this thread's for good: say goodbye, so the daemon frees the
            # session (and its temporaries) now rather than at expiry.
            if self._linked:
                self._flush()
                if self._send_session([_wire.pack([next(self._ids), "server.bye", None, []])]):
                    self._await_bye()
        except Exception as e:  # a bug here must not leave callers waiting forever
            self._fail_calls(ConnectionError("the connection to syncmgrd failed: %r" % (e,)),
                             True, False)
        finally:
            self._transport.close()
            os.close(self._wake_r)
            os.close(self._wake_w)

    def _round(self, timeout):
        """One round of the driver: send what is queued, poll up to `timeout` seconds, read every
        frame, then the timers."""
        if self._linked:
            self._flush()
        # A unix:// stream's descriptor changes when it reconnects.
        current = self._transport.pollables()
        if current != self._watched:
            for obj in self._watched:
                self._poller.unregister(obj)
            for obj in current:
                self._poller.register(obj, zmq.POLLIN)
            self._watched = current
        events = dict(self._poller.poll(int(timeout * 1000 + 0.999)))  # rounded up: no spinning
        if self._wake_r in events:
            try:
                while os.read(self._wake_r, 4096):
                    pass
            except BlockingIOError:
                pass
        for obj in self._watched:
            if obj in events:
                for frame in self._transport.on_ready(obj):
                    self._on_frame(frame)
        if self._transport.take_dropped():
            self._connection_lost()
        if (not self._ever_established and self._transport.handshake_failures >= 2
                and self._state == "connecting"):
            # tcp: the daemon's ZAP handler refused our CURVE key twice; retrying with the same
            # key cannot help.
            self._fail_calls(AuthenticationError(
                "syncmgrd at %s refused the encrypted handshake: its key is not this client's key"
                % self.endpoint), True, False)
        now = time.monotonic()
        if self._linked:
            self._flush()
            hb = self._session_timeout / 3
            if now - self._last_sent >= hb:
                self._send_session([_wire.pack([next(self._ids), "server.heartbeat", None, []])])
            with self._mu:
                waiting = bool(self._calls)
            if waiting and now - self._last_received > self._session_timeout + hb:
                self._fail_calls(ConnectionError(
                    "syncmgrd at %s stopped answering (nothing received for %.1f s)"
                    % (self.endpoint, now - self._last_received)), False, False)
                self._last_received = now
                self._start_handshake()
        elif now >= self._handshake_deadline and self._state != "failed":
            self._start_handshake()

    def _send_raw(self, frame):
        """False when not connected."""
        self._last_sent = time.monotonic()
        return self._transport.send(frame)

    def _send_session(self, bodies):
        """Sends request bodies as one request frame of this session."""
        self._out_seq += 1
        ack = self._reply_seq if SEND_ACK else None
        frame = _wire.request_frame(self._session_key, self._macs, self._session, self._out_seq,
                                    b"".join(bodies), ack)
        return self._send_raw(frame)

    def _flush(self):
        posted = []
        while self._posted:
            posted.append(self._posted.popleft())
        with self._mu:
            if not self._outbox and not posted:
                return
            batch = list(self._outbox)
            self._outbox.clear()
            limit = self._max_message_size
        if posted:
            # In the order they were issued (ids grow): a fork()ed child's re-opening of its
            # temporaries goes ahead of its first call.
            batch = sorted(batch + posted, key=lambda item: item[0])
        i = 0
        while i < len(batch):
            bodies, size, j = [], 0, i
            while j < len(batch) and (not bodies or size + len(batch[j][1]) <= limit):
                bodies.append(batch[j][1])
                size += len(batch[j][1])
                j += 1
            if not self._send_session(bodies):
                with self._mu:  # not sent: these go out on the next session
                    self._outbox.extendleft(reversed(batch[i:]))
                self._connection_lost()
                return
            self._unanswered.update(cid for cid, _ in batch[i:j])
            i = j

    def _connection_lost(self):
        # With `immediate`, ZeroMQ refuses a frame while the connection is down. The session is
        # bound to that connection: what was sent on it will not be answered.
        self._fail_calls(ConnectionError(
            "the connection to syncmgrd at %s dropped; the call may or may not have run"
            % self.endpoint), False, True)
        self._start_handshake()

    def _fail_calls(self, error, fatal, sent_only):
        with self._mu:
            if fatal and self._state != "failed":
                self._state = "failed"
                self._fatal = error
                self._changed.notify_all()
            if sent_only:
                ids = [i for i in self._unanswered if i in self._calls]
            else:
                ids = list(self._calls)
                self._outbox.clear()
            for i in ids:
                call = self._calls.pop(i)
                call.error = error
                call.finish()
            if sent_only:
                self._unanswered.clear()

    def _start_handshake(self):
        self._session_key = None
        self._session = 0
        self._linked = False
        self._awaiting_welcome = False
        self._cn = os.urandom(_wire.NONCE_SIZE)
        # Earlier hellos may still be answered (the daemon was slow): their challenges count too.
        self._hellos.append(self._cn)
        hello = [_wire.VERSION, self._cn]
        if not self._want_macs:
            hello.append({"frame_macs": False})
        sent = self._send_raw(_wire.header(_wire.HELLO, 0, 0) + _wire.pack(hello))
        self._handshake_deadline = time.monotonic() + (HANDSHAKE_RETRY if sent else CONNECT_POLL)

    def _on_frame(self, frame):
        h = _wire.read_header(frame)
        if h is None or h[0] != _wire.VERSION or h[2] != _wire.TO_CLIENT:
            return
        self._last_received = time.monotonic()
        ftype, session, seq = h[1], h[4], h[5]
        try:
            if ftype == _wire.CHALLENGE:
                self._on_challenge(session, frame)
            elif ftype == _wire.WELCOME:
                self._on_welcome(session, seq, frame)
            elif ftype == _wire.REFUSED:
                self._on_refused(session, frame)
            elif ftype == _wire.REPLY:
                self._on_reply(session, seq, frame)
        except (ValueError, TypeError, IndexError, KeyError) as e:
            # Malformed msgpack from the peer: its calls run into their deadlines.
            self._last_refusal = ("ProtocolError", "unreadable frame from the daemon: %s" % e)

    def _on_challenge(self, session, frame):
        if self._linked or self._awaiting_welcome:
            return
        sn, proof = next(iter(_wire.Unpacker(frame[_wire.HEADER_SIZE:])))
        if len(sn) != _wire.NONCE_SIZE or len(proof) != _wire.TAG_SIZE:
            return
        for cn in self._hellos:
            if hmac.compare_digest(proof, _wire.server_proof(self._key, cn, sn, session)):
                break
        else:
            # Never answer a peer that cannot prove it knows the key: it may be collecting proofs.
            self._fail_calls(AuthenticationError(
                "authentication failed: the daemon at %s failed to prove it knows this client's "
                "key (the keys differ, or the peer is not the daemon you meant)" % self.endpoint),
                not self._ever_established, False)
            return
        self._cn = cn
        self._session = session
        self._session_key = _wire.session_key(self._key, cn, sn, session)
        self._awaiting_welcome = True
        self._out_seq = self._in_seq = self._reply_seq = 0
        auth = _wire.header(_wire.AUTH, session, 0) + _wire.pack(
            [_wire.client_proof(self._key, cn, sn, session)])
        self._send_raw(auth)
        self._handshake_deadline = time.monotonic() + HANDSHAKE_RETRY

    def _on_welcome(self, session, seq, frame):
        if not self._awaiting_welcome or session != self._session:
            return
        payload = _wire.open_session_frame(self._session_key, True, frame)  # always sealed
        if payload is None:
            return
        params = next(iter(_wire.Unpacker(payload)))
        self._in_seq = seq
        self._session_timeout = params.get("session_timeout_ms", 10000) / 1000.0
        # Never fewer MACs than we asked for.
        self._macs = bool(params.get("frame_macs", True)) or self._want_macs
        self._awaiting_welcome = False
        self._linked = True
        self._ever_established = True
        self._transport.stop_watching()
        self._hellos.clear()
        self._unanswered.clear()
        self._last_sent = time.monotonic()
        with self._mu:
            self._max_message_size = params.get("max_message_size", 64 << 20)
            if self._state == "connecting":
                self._state = "established"
            self._changed.notify_all()

    def _on_refused(self, session, frame):
        kind, message = next(iter(_wire.Unpacker(frame[_wire.HEADER_SIZE:])))
        in_handshake = not self._linked
        if kind == "SessionError":
            if in_handshake:
                # Our auth answered a challenge the daemon no longer holds: start again.
                if self._awaiting_welcome and session == self._session:
                    self._start_handshake()
            elif session == self._session:
                # The daemon restarted or expired us: what the session held is gone, so calls in
                # flight fail rather than run in a different world; later calls use a new session.
                self._fail_calls(ConnectionError(
                    "syncmgrd at %s lost this client's session (the daemon restarted, or the "
                    "session expired); the call may or may not have run" % self.endpoint),
                    False, True)
                self._start_handshake()
            return
        if in_handshake and kind in ("AuthenticationError", "ProtocolError"):
            # Wrong key or version: on a first connection retrying cannot help.
            self._fail_calls(make_error(kind, message), not self._ever_established, False)
            return
        # Other refusals concern one frame (which calls it carried is unknown): they run into
        # their deadlines, whose error then quotes this.
        with self._mu:
            self._last_refusal = (kind, message)

    def _on_reply(self, session, seq, frame):
        if not self._linked or session != self._session:
            return
        payload = _wire.open_session_frame(self._session_key, self._macs, frame)
        if payload is None or seq <= self._in_seq:
            return  # forged or replayed
        self._in_seq = seq
        self._reply_seq = seq
        for r in _wire.Unpacker(payload):
            if not isinstance(r, list) or len(r) < 3 or not isinstance(r[0], int):
                continue
            self._unanswered.discard(r[0])
            with self._mu:
                call = self._calls.pop(r[0], None)
                if call is not None:
                    call.reply = r
                    call.finish()

    def _await_bye(self):
        # The daemon answers frames in order: any reply from now on means it has the goodbye.
        until = time.monotonic() + 0.5
        poller = zmq.Poller()
        for obj in self._transport.pollables():
            poller.register(obj, zmq.POLLIN)
        while time.monotonic() < until:
            events = dict(poller.poll(int((until - time.monotonic()) * 1000) + 1))
            for obj in self._transport.pollables():
                if obj not in events:
                    continue
                for frame in self._transport.on_ready(obj):
                    h = _wire.read_header(frame)
                    if h is not None and h[1] == _wire.REPLY and h[4] == self._session:
                        return
            if not self._transport.pollables():
                return  # the connection is gone
