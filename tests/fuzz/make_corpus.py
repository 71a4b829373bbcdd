#!/usr/bin/env python3
"""Writes the seed corpus of the fuzz targets: tests/fuzz/corpus/<target>/<name>.

Seeds are what a fuzzer cannot easily guess: valid frames (hello, auth, sealed requests), msgpack
requests for every object type, and scripts for fuzz_handshake and fuzz_server that complete
handshakes and exercise each type (parked calls, two sessions, timeouts, dropped connections).
The scripts are encoded the way libFuzzer's FuzzedDataProvider decodes them, mirroring the order in
which the targets consume their input: change a target's consumption and this file together.

Run it from anywhere; it only needs Python 3. The corpus is committed; runs of the fuzzers never
write into it (scripts/fuzz.sh uses a temporary working corpus).
"""
import hashlib
import hmac
import os
import shutil
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "corpus")


# --- msgpack, as much as the seeds need --------------------------------------------------------
class Pairs(list):
    """A msgpack map as a list of pairs (keeps order; allows duplicate keys)."""


class Ext:
    def __init__(self, type_, data):
        self.type, self.data = type_, data


def pack(v):
    if v is None:
        return b"\xc0"
    if v is True:
        return b"\xc3"
    if v is False:
        return b"\xc2"
    if isinstance(v, int):
        if 0 <= v < 128:
            return bytes([v])
        if -32 <= v < 0:
            return struct.pack("b", v)
        if v >= 0:
            for fmt, tag in (("B", 0xCC), ("H", 0xCD), ("I", 0xCE), ("Q", 0xCF)):
                if v < 1 << (8 * struct.calcsize(fmt)):
                    return bytes([tag]) + struct.pack(">" + fmt, v)
        for fmt, tag in (("b", 0xD0), ("h", 0xD1), ("i", 0xD2), ("q", 0xD3)):
            if v >= -(1 << (8 * struct.calcsize(fmt) - 1)):
                return bytes([tag]) + struct.pack(">" + fmt, v)
    if isinstance(v, float):
        return b"\xcb" + struct.pack(">d", v)
    if isinstance(v, str):
        b = v.encode()
        if len(b) < 32:
            return bytes([0xA0 | len(b)]) + b
        return b"\xd9" + bytes([len(b)]) + b
    if isinstance(v, bytes):
        return b"\xc4" + bytes([len(v)]) + v
    if isinstance(v, Ext):
        return b"\xd4" + struct.pack("b", v.type) + v.data[:1]
    if isinstance(v, dict):
        v = Pairs(v.items())
    if isinstance(v, Pairs):
        out = bytes([0x80 | len(v)]) if len(v) < 16 else b"\xde" + struct.pack(">H", len(v))
        return out + b"".join(pack(k) + pack(x) for k, x in v)
    if isinstance(v, (list, tuple)):
        out = bytes([0x90 | len(v)]) if len(v) < 16 else b"\xdc" + struct.pack(">H", len(v))
        return out + b"".join(pack(x) for x in v)
    raise TypeError(v)


# --- frames ---------------------------------------------------------------------------------
HELLO, CHALLENGE, AUTH, WELCOME, REFUSED, REQUEST, REPLY = 1, 2, 3, 4, 5, 16, 17


def header(type_, session=0, seq=0, direction=0, version=1, flags=0):
    return struct.pack(">BBBBQQ", version, type_, direction, flags, session, seq)


def sealed(key, head, payload):
    body = head + payload
    return body + hmac.new(key, body, hashlib.sha256).digest()


# --- FuzzedDataProvider, encoding side ---------------------------------------------------------
class Provider:
    """Builds an input that FuzzedDataProvider decodes into the values given, in the same order:
    integers come from the end of the input, strings and byte runs from the front."""

    def __init__(self):
        self.front = bytearray()
        self.back = bytearray()  # in consumption order (the last byte of the input first)

    def int_in_range(self, v, lo, hi, bits=32):
        assert lo <= v <= hi, (v, lo, hi)
        rng, n = hi - lo, 0
        while n * 8 < bits and rng >> (n * 8) > 0:
            n += 1
        x = v - lo
        self.back += bytes((x >> (8 * (n - 1 - i))) & 0xFF for i in range(n))

    def boolean(self, b):
        self.int_in_range(1 if b else 0, 0, 255, 8)

    def u64(self, v):
        self.int_in_range(v, 0, (1 << 64) - 1, 64)

    def i64(self, v):
        self.int_in_range(v + (1 << 63), 0, (1 << 64) - 1, 64)

    def string(self, s, max_length):
        if isinstance(s, str):
            s = s.encode()
        assert len(s) <= max_length
        self.front += s.replace(b"\\", b"\\\\")
        if len(s) < max_length:
            self.front += b"\\e"  # ends the string

    def raw(self, b):
        self.front += b

    def data(self):
        return bytes(self.front) + bytes(reversed(self.back))


# --- fuzz_server scripts (mirror Harness::run and its helpers in fuzz_server.cpp) ---------------
WORDS = ["namespace", "dict", "list", "queue", "joinablequeue", "lock", "rlock", "semaphore",
         "boundedsemaphore", "condition", "event", "barrier", "value", "array", "items",
         "attributes", "maxsize", "parties", "timeout", "action", "frame_macs", "a", "b", "c"]
NAMES = ["a", "b", "c", "d"]
TYPES = ["namespace", "dict", "list", "queue", "joinablequeue", "lock", "rlock", "semaphore",
         "boundedsemaphore", "condition", "event", "barrier", "value", "array"]
TIMEOUTS = [0.0, 0.001, 0.003, 0.02, -1.0, 1e300, 0.5]
NO_PARAMS = object()


class ServerScript:
    def __init__(self):
        self.p = Provider()
        self.next_request = [0, 0, 0]

    def _step(self, slot, kind):
        self.p.int_in_range(slot, 0, 2)
        self.p.int_in_range(kind, 0, 9)

    def value(self, v):
        p = self.p
        if v is None:
            p.int_in_range(0, 0, 10)
        elif isinstance(v, bool):
            p.int_in_range(1, 0, 10)
            p.boolean(v)
        elif isinstance(v, int):
            p.int_in_range(2, 0, 10)
            if -2 <= v <= 8:
                p.int_in_range(0, 0, 5)
                p.int_in_range(v, -2, 8, 64)
            elif v >= 1 << 63:
                p.int_in_range(2, 0, 5)
                p.u64(v)
            else:
                p.int_in_range(1, 0, 5)
                p.i64(v)
        elif isinstance(v, float):
            p.int_in_range(2, 0, 10)
            p.int_in_range(3, 0, 5)
            p.int_in_range(TIMEOUTS.index(v), 0, len(TIMEOUTS) - 1)
        elif isinstance(v, str) and v in WORDS:
            p.int_in_range(6, 0, 10)
            p.int_in_range(WORDS.index(v), 0, len(WORDS) - 1, 64)
        elif isinstance(v, str):
            p.int_in_range(4, 0, 10)
            p.string(v, 24)
        elif isinstance(v, bytes):
            p.int_in_range(5, 0, 10)
            p.string(v, 24)
        elif isinstance(v, (dict, Pairs)):
            items = list(v.items()) if isinstance(v, dict) else list(v)
            p.int_in_range(9, 0, 10)
            p.int_in_range(len(items), 0, 3)
            for k, x in items:
                if isinstance(k, str) and k in WORDS:
                    p.boolean(True)
                    p.int_in_range(WORDS.index(k), 0, len(WORDS) - 1, 64)
                else:
                    p.boolean(False)
                    self.value(k)
                self.value(x)
        elif isinstance(v, list):
            p.int_in_range(8, 0, 10)
            p.int_in_range(len(v), 0, 4)
            for x in v:
                self.value(x)
        else:
            raise TypeError(v)

    def handshake(self, slot, conn=0, unsealed=False):
        self._step(slot, 0)
        self.p.int_in_range(conn, 0, 1)
        self.p.boolean(unsealed)
        self.next_request[slot] = 0

    def requests(self, slot, *reqs, replay=False):
        """reqs: (op, target, args); target is ignored for server.* ops."""
        self._step(slot, 1)
        self.p.int_in_range(len(reqs), 1, 4)
        for op, target, args in reqs:
            self.p.boolean(True)
            self.p.string(op, 32)
            if not op.startswith("server."):
                if target is None:
                    self.p.int_in_range(0, 0, 15)
                else:
                    self.p.int_in_range(1, 0, 15)
                    self.p.int_in_range(NAMES.index(target), 0, len(NAMES) - 1, 64)
            self.p.int_in_range(len(args), 0, 5)
            for a in args:
                self.value(a)
            if op == "server.cancel" and args and self.next_request[slot] > 0:
                self.p.int_in_range(args[0], 1, self.next_request[slot], 64)
            self.next_request[slot] += 1
        self.p.int_in_range(0 if replay else 1, 0, 15)

    def open(self, slot, type_, name="a", params=NO_PARAMS):
        self._step(slot, 4)
        self.p.int_in_range(TYPES.index(type_), 0, len(TYPES) - 1, 64)
        if name is None:
            self.p.int_in_range(0, 0, 4)
        else:
            self.p.int_in_range(1, 0, 4)
            self.p.int_in_range(NAMES.index(name), 0, len(NAMES) - 1, 64)
        self.p.boolean(params is not NO_PARAMS)
        if params is not NO_PARAMS:
            self.value(params)
        self.next_request[slot] += 1

    def raw_payload(self, slot, payload, replay=False):
        self._step(slot, 5)
        self.p.string(payload, 256)
        self.p.boolean(replay)

    def raw_frame(self, frame):
        self._step(0, 6)
        self.p.string(frame, 128)

    def drop(self, conn):
        self._step(0, 7)
        self.p.int_in_range(conn, 0, 1)

    def sleep(self, ms):
        self._step(0, 8)
        self.p.int_in_range(ms, 0, 4)

    def bye(self, slot):
        self._step(slot, 9)
        self.next_request[slot] += 1

    def data(self):
        return self.p.data()


def server_seeds():
    seeds = {}

    def script(name, build):
        s = ServerScript()
        build(s)
        seeds[name] = s.data()

    def t(op, *args, target="a"):
        return (op, target, list(args))

    def namespace(s):
        s.handshake(0)
        s.open(0, "namespace", "a", {"attributes": {"x": 1}})
        s.requests(0, t("namespace.set", "y", 2), t("namespace.get", "y"),
                   t("namespace.increment", "y", 3), t("namespace.compare_and_set", "y", 5, 6))
        s.requests(0, t("namespace.attributes"), t("namespace.snapshot"), t("namespace.has", "x"),
                   t("namespace.del", "x"))
        s.requests(0, t("namespace.set_if_absent", "z", None), t("namespace.get", "q", 0))
    script("namespace", namespace)

    def dict_(s):
        s.handshake(0)
        s.open(0, "dict", "a", {"items": {"k": 1}})
        s.requests(0, t("dict.set", "k2", [1, 2]), t("dict.get", "k"),
                   t("dict.get_many", ["k", "zz"], 0), t("dict.update", {"b": 0.5}))
        s.requests(0, t("dict.pop", "k"), t("dict.popitem"), t("dict.setdefault", "n", 1),
                   t("dict.increment", "n", 2))
        s.requests(0, t("dict.compare_and_set", "n", 3, "x"), t("dict.keys"), t("dict.items"),
                   t("dict.copy"))
        s.requests(0, t("dict.len"), t("dict.contains", [1, "a"]), t("dict.del", "n"),
                   t("dict.clear"))
    script("dict", dict_)

    def list_(s):
        s.handshake(0)
        s.open(0, "list", "a", {"items": [3, 1, 2]})
        s.requests(0, t("list.append", 4), t("list.extend", [5, 6]), t("list.insert", -1, 0),
                   t("list.pop"))
        s.requests(0, t("list.remove", 1), t("list.index", 2), t("list.count", 2), t("list.len"))
        s.requests(0, t("list.get", -1), t("list.set", 0, "x"), t("list.del", 0),
                   t("list.get_slice", 0, None, 2))
        s.requests(0, t("list.set_slice", 0, 2, 1, [7, 8]), t("list.del_slice", None, None, -1),
                   t("list.reverse"), t("list.sort", True))
        s.requests(0, t("list.contains", 7), t("list.copy"), t("list.clear"))
    script("list", list_)

    def queue(s):
        s.handshake(0)
        s.open(0, "queue", "a", {"maxsize": 2})
        s.requests(0, t("queue.put", "x", True, None), t("queue.put", "y", True, 0.02),
                   t("queue.put", "z", True, 0.001))
        s.sleep(4)
        s.requests(0, t("queue.get", True, None), t("queue.get_many", 2, False, None),
                   t("queue.qsize"), t("queue.full"))
        s.handshake(1, 1)
        s.requests(1, t("queue.get", True, None))
        s.requests(0, t("queue.put_many", ["w", "v"], True, None), t("queue.empty"),
                   t("queue.maxsize"))
    script("queue", queue)

    def joinable(s):
        s.handshake(0)
        s.open(0, "joinablequeue", "a")
        s.requests(0, t("joinablequeue.put", 1, False, None), t("joinablequeue.get", True, 0.5),
                   t("joinablequeue.join", True, 0.003))
        s.sleep(4)
        s.requests(0, t("joinablequeue.task_done"), t("joinablequeue.task_done"),
                   t("joinablequeue.join", True, None))
    script("joinablequeue", joinable)

    def lock(s):
        s.handshake(0)
        s.open(0, "lock", "a")
        s.handshake(1, 1)
        s.requests(0, t("lock.acquire", 1, True, None))
        s.requests(1, t("lock.acquire", 2, True, 0.5), t("lock.locked"))
        s.requests(0, t("lock.release", 1), t("lock.owned", 1))
        s.requests(1, t("lock.owned", 2))
        s.drop(1)  # session 1 dies holding the lock
        s.requests(0, t("lock.acquire", 1, True, 0.003))
        s.sleep(4)
    script("lock", lock)

    def rlock(s):
        s.handshake(0)
        s.open(0, "rlock", "a")
        s.requests(0, t("rlock.acquire", 1, True, None), t("rlock.acquire", 1, False, None),
                   t("rlock.release", 1), t("rlock.owned", 1))
        s.requests(0, t("rlock.release", 1), t("rlock.release", 1), t("rlock.locked"))
    script("rlock", rlock)

    def semaphore(s):
        s.handshake(0)
        s.open(0, "boundedsemaphore", "a", {"value": 1})
        s.open(0, "semaphore", "b", {"value": 0})
        s.requests(0, t("boundedsemaphore.acquire", True, None),
                   t("boundedsemaphore.acquire", True, 0.003),
                   t("boundedsemaphore.release", 1), t("boundedsemaphore.release", 1))
        s.requests(0, t("semaphore.acquire", True, None, target="b"))
        s.handshake(1, 1)
        s.requests(1, t("semaphore.release", 2, target="b"), t("semaphore.get_value", target="b"))
    script("semaphore", semaphore)

    def condition(s):
        s.handshake(0)
        s.open(0, "condition", "a")
        s.handshake(1, 1)
        s.requests(0, t("condition.acquire", 1, True, None), t("condition.wait", 1, True, 0.5))
        s.requests(1, t("condition.acquire", 2, True, None), t("condition.notify", 2, 1),
                   t("condition.notify_all", 2), t("condition.release", 2))
        s.requests(0, t("condition.release", 1))
    script("condition", condition)

    def condition_lock(s):
        s.handshake(0)
        s.open(0, "lock", "b")
        s.open(0, "condition", "a", {"lock": "b"})
        s.requests(0, t("condition.acquire", 1, True, None), t("condition.wait", 1, True, 0.001))
        s.sleep(4)
        s.requests(0, t("lock.locked", target="b"), t("condition.release", 1))
    script("condition_lock", condition_lock)

    def event(s):
        s.handshake(0)
        s.open(0, "event", "a")
        s.handshake(1, 1)
        s.requests(1, t("event.wait", True, None))
        s.requests(0, t("event.set"), t("event.is_set"), t("event.clear"),
                   t("event.wait", True, 0.001))
    script("event", event)

    def barrier(s):
        s.handshake(0)
        s.open(0, "barrier", "a", {"parties": 2, "timeout": None, "action": True})
        s.handshake(1, 1)
        s.requests(0, t("barrier.wait", True, None))
        s.requests(1, t("barrier.wait", True, None), t("barrier.n_waiting"))
        s.requests(1, t("barrier.action_done", True), t("barrier.parties"), t("barrier.broken"))
        s.requests(0, t("barrier.wait", True, 0.001), t("barrier.abort"), t("barrier.reset"))
    script("barrier", barrier)

    def value(s):
        s.handshake(0)
        s.open(0, "value", "a", {"value": 1})
        s.requests(0, t("value.get"), t("value.set", 2), t("value.add", 3),
                   t("value.compare_and_set", 5, "x"))
    script("value", value)

    def array(s):
        s.handshake(0)
        s.open(0, "array", "a", {"items": [1, 2, 3]})
        s.requests(0, t("array.len"), t("array.get", 1), t("array.set", -1, 9),
                   t("array.get_slice", 0, 3, 1))
        s.requests(0, t("array.set_slice", 0, 2, 1, [5, 6]), t("array.set_slice", 0, 3, 2, [7]))
    script("array", array)

    def server(s):
        s.handshake(0)
        s.open(0, "dict", None)
        s.open(0, "list", "b")
        s.requests(0, t("server.ping"), t("server.heartbeat"), t("server.stats"),
                   t("server.list"))
        s.requests(0, t("server.describe", "b"), t("server.release", "b"), t("server.remove", "b"),
                   t("server.open", "list", "b", {"items": [1]}))
        s.requests(0, t("queue.get", True, None, target="b"))
        s.requests(0, t("server.open", "queue", "c"), t("queue.get", True, None, target="c"))
        s.requests(0, t("server.cancel", 7), t("server.cancel", 1), t("server.bye"))
    script("server", server)

    def unsealed(s):
        s.handshake(0, 0, True)
        s.open(0, "dict", "a")
        s.requests(0, t("dict.set", 1, 2), t("dict.get", 0.5, None))
        s.drop(0)
        s.requests(0, t("dict.len"))
        s.handshake(1, 1, True)
        s.requests(1, t("dict.len"), replay=False)
        s.requests(1, t("dict.len"), replay=True)
    script("unsealed", unsealed)

    def malformed(s):
        s.handshake(0)
        s.raw_payload(0, b"\x94\x01\xa8dict.len\xa1a\x90\xc1")  # valid request, then a bad byte
        s.raw_payload(0, pack([1, "dict.get", "a", [Ext(1, b"x")]]))
        s.raw_payload(0, pack([0, 1, 2]) + pack("x"), True)
        s.raw_frame(header(HELLO) + pack([1, b"\0" * 32]))
        s.raw_frame(header(REQUEST, 1, 1) + b"\x90")
        s.raw_frame(header(AUTH, 5) + pack([b"\0" * 32]))
        s.raw_frame(header(HELLO, version=2))
        s.bye(0)
        s.requests(0, t("server.ping"))
    script("malformed", malformed)
    return seeds


# --- fuzz_handshake scripts (mirror LLVMFuzzerTestOneInput in fuzz_handshake.cpp) ---------------
PEERS = ["127.0.0.1", "localhost:1000:1000:4242", "::1", "local"]


class HandshakeScript:
    def __init__(self, allow_unsealed):
        self.p = Provider()
        self.p.boolean(allow_unsealed)
        self.challenges = 0

    def _step(self, peer, kind):
        self.p.int_in_range(PEERS.index(peer), 0, len(PEERS) - 1, 64)
        self.p.int_in_range(kind, 0, 4)

    def raw(self, peer, frame):
        self._step(peer, 0)
        self.p.string(frame, 512)

    def hello(self, peer, options=0, frame_macs=True, raw_options=b""):
        self._step(peer, 1)
        self.p.raw(bytes(range(32)))  # the nonce
        self.p.boolean(False)
        self.p.int_in_range(options, 0, 2)
        if options == 1:
            self.p.boolean(frame_macs)
        elif options == 2:
            self.p.string(raw_options, 64)
        self.p.u64(0)
        self.p.u64(0)
        if options != 2:  # the target does not follow challenges to hellos with raw options
            self.challenges += 1

    def auth(self, peer, challenge, right=True, wrong=b""):
        self._step(peer, 2 if right else 3)
        self.p.int_in_range(challenge, 0, self.challenges - 1, 64)
        if not right:
            self.p.string(wrong, 96)

    def expire(self, ms):
        self._step(PEERS[0], 4)
        self.p.int_in_range(ms, 0, 20000)

    def data(self):
        return self.p.data()


def handshake_seeds():
    seeds = {}
    s = HandshakeScript(True)
    s.hello("localhost:1000:1000:4242", 1, False)
    s.auth("localhost:1000:1000:4242", 0)
    s.hello("127.0.0.1", 1, False)
    s.auth("127.0.0.1", 1)
    seeds["unsealed_ipc_and_tcp"] = s.data()
    s = HandshakeScript(False)
    s.hello("127.0.0.1")
    s.auth("127.0.0.1", 0, False, pack([b"\1" * 32]))
    s.auth("127.0.0.1", 0)
    s.hello("::1", 2, raw_options=pack({"frame_macs": 1, "x": [1]}))
    s.expire(6000)
    seeds["wrong_proof_then_retry"] = s.data()
    s = HandshakeScript(True)
    for _ in range(6):
        s.hello("local")
        s.auth("local", s.challenges - 1, False, pack(["proof"]))
    s.hello("local")
    seeds["lockout"] = s.data()
    s = HandshakeScript(True)
    s.raw("::1", header(HELLO) + pack([1, b"\0" * 32, {"frame_macs": False}]))
    s.raw("::1", header(AUTH, 7) + pack([b"\0" * 32]))
    s.raw("::1", header(HELLO) + pack([1, b"short"]))
    s.raw("::1", header(HELLO, flags=1))
    seeds["raw_frames"] = s.data()
    return seeds


# --- fuzz_frame and fuzz_payload ---------------------------------------------------------------
FRAME_KEY = b"k" * 32  # fuzz_frame's session key


def frame_seeds():
    sid = 0x0123456789ABCDEF
    return {
        "hello": header(HELLO) + pack([1, bytes(32), {"frame_macs": False}]),
        "auth": header(AUTH, sid) + pack([bytes(range(32))]),
        "request_sealed": sealed(FRAME_KEY, header(REQUEST, sid, 1),
                                 pack([1, "dict.get", "d", ["k"]])),
        "request_unsealed": header(REQUEST, sid, 2) + pack([2, "server.ping", None, []]),
        "reply_sealed": sealed(FRAME_KEY, header(REPLY, sid, 3, 1), pack([1, 0, "pong"])),
        "welcome": sealed(FRAME_KEY, header(WELCOME, sid, 1, 1), pack({"frame_macs": True})),
        "short": header(HELLO)[:12],
        "flags": header(REQUEST, sid, 1, flags=1) + bytes(32),
    }


def payload_seeds():
    def reqs(*rs):
        return b"".join(pack([i + 1] + list(r)) for i, r in enumerate(rs))

    return {
        "server": reqs(("server.open", None, ["dict", "d", {"items": {"k": 1}}]),
                       ("server.list", None, []), ("server.cancel", None, [3])),
        "namespace": reqs(("namespace.set", "n", ["x", 1.5]), ("namespace.get", "n", ["x", None])),
        "dict": reqs(("dict.set", "d", [[1, "k"], {"nested": [True, None]}]),
                     ("dict.update", "d", [[["a", 1], ["b", 2]]])),
        "list": reqs(("list.set_slice", "l", [0, None, -1, [1, 2]]), ("list.sort", "l", [True])),
        "queue": reqs(("queue.put", "q", [b"\x00\xff", True, 0.5]),
                      ("queue.get_many", "q", [3, True, None])),
        "lock": reqs(("lock.acquire", "l", [1, True, None]), ("rlock.release", "r", [1])),
        "condition": reqs(("condition.wait", "c", [1, True, 0.25]),
                          ("condition.notify", "c", [1, 2])),
        "semaphore_event": reqs(("semaphore.acquire", "s", [False, None]),
                                ("event.wait", "e", [True, 1])),
        "barrier": reqs(("barrier.wait", "b", [True, None]), ("barrier.action_done", "b", [True])),
        "value_array": reqs(("value.add", "v", [-7]), ("array.set_slice", "a", [0, 2, 1, [1, 2]])),
        "numbers": pack([0, -1, 127, 128, -33, 255, 65536, -(1 << 40), (1 << 64) - 1, -(1 << 63),
                         0.5, float("nan"), float("inf"), -0.0, 1e19, True])
                   + b"\xca\x3f\x80\x00\x00",  # float32 1.0
        "strings": pack(["", "x" * 40, b"", bytes(range(16)), [[["deep"]]]])
                   + b"\xda\x00\x03abc\xc5\x00\x02xy",  # str16, bin16
        "maps": pack(Pairs([(1, 1), (1.0, 2), ("k", {"a": [1]})])) + pack({}),
        "ext": pack([1, "dict.set", "d", ["k", Ext(5, b"z")]]) + b"\xc7\x01\x02x",
        "malformed": b"\x94\x01\xa8dict.get\xa1d\x91\xdc\xff\xff",
        "deep": b"\x91" * 70 + b"\xc0",
    }


def main():
    targets = {
        "fuzz_frame": frame_seeds(),
        "fuzz_payload": payload_seeds(),
        "fuzz_handshake": handshake_seeds(),
        "fuzz_server": server_seeds(),
    }
    for target, seeds in targets.items():
        d = os.path.join(CORPUS, target)
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        for name, data in seeds.items():
            with open(os.path.join(d, name), "wb") as f:
                f.write(data)
        print(f"{target}: {len(seeds)} seeds")


if __name__ == "__main__":
    main()
