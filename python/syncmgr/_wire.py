"""Frames, keys and proofs of docs/PROTOCOL.md: pure functions, no sockets."""

import hashlib
import hmac
import os
import stat
import struct

import msgpack

VERSION = 1
HEADER_SIZE = 20
TAG_SIZE = 32
NONCE_SIZE = 32
MIN_KEY_SIZE = 32
# On tcp a frame longer than this travels in parts of this size (PROTOCOL.md, "Parts").
WIRE_PART_SIZE = 32768

HELLO, CHALLENGE, AUTH, WELCOME, REFUSED, REQUEST, REPLY = 1, 2, 3, 4, 5, 16, 17
TO_DAEMON, TO_CLIENT = 0, 1
# Bit 0 of the flags byte on request frames: an 8-byte ack follows the header (ack-spec).
FLAG_ACK = 0x01

_HEADER = struct.Struct(">BBBBQQ")
_ACK = struct.Struct(">Q")


def header(ftype, session, seq, flags=0):
    return _HEADER.pack(VERSION, ftype, TO_DAEMON, flags, session, seq)


def read_header(frame):
    """(version, type, direction, flags, session, seq), or None if too short."""
    if len(frame) < HEADER_SIZE:
        return None
    return _HEADER.unpack_from(frame)


def mac(key, *parts):
    h = hmac.new(key, digestmod=hashlib.sha256)
    for p in parts:
        h.update(p)
    return h.digest()


def request_frame(session_key, macs, session, seq, payload, ack=None):
    """header [|| ack] || payload [|| tag]. With ack (an int), the ACK flag is set."""
    if ack is None:
        head = header(REQUEST, session, seq)
    else:
        head = header(REQUEST, session, seq, FLAG_ACK) + _ACK.pack(ack)
    if not macs:
        return head + payload
    return head + payload + mac(session_key, head, payload)


def open_session_frame(session_key, macs, frame):
    """The payload of a welcome/reply frame, or None when its tag does not verify."""
    if not macs:
        return frame[HEADER_SIZE:]
    if len(frame) < HEADER_SIZE + TAG_SIZE:
        return None
    body, tag = frame[:-TAG_SIZE], frame[-TAG_SIZE:]
    if not hmac.compare_digest(mac(session_key, body), tag):
        return None
    return body[HEADER_SIZE:]


def _sid8(session):
    return struct.pack(">Q", session)


def server_proof(key, cn, sn, session):
    return mac(key, b"syncmgr/1 server proof", cn, sn, _sid8(session))


def client_proof(key, cn, sn, session):
    return mac(key, b"syncmgr/1 client proof", cn, sn, _sid8(session))


def session_key(key, cn, sn, session):
    return mac(key, b"syncmgr/1 session key", cn, sn, _sid8(session))


def curve_keys(key):
    """(server_public, client_public, client_secret) as Z85 bytes, derived from the shared key."""
    import zmq
    from zmq.utils import z85

    server_secret = z85.encode(mac(key, b"syncmgr curve server v1"))
    client_secret = z85.encode(mac(key, b"syncmgr curve client v1"))
    return zmq.curve_public(server_secret), zmq.curve_public(client_secret), client_secret


def read_key_file(path):
    """The key file's bytes without one trailing newline, with the C++ client's checks."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise PermissionError("key file %s is not a regular file" % path)
        if st.st_uid not in (os.geteuid(), 0):
            raise PermissionError("key file %s is owned by uid %d, not by this user (uid %d) or root"
                                  % (path, st.st_uid, os.geteuid()))
        if st.st_mode & 0o077:
            raise PermissionError("key file %s is accessible by group or others; run: chmod 600 %s"
                                  % (path, path))
        data = b""
        while True:
            chunk = os.read(fd, 4096)
            if not chunk:
                break
            data += chunk
            if len(data) > 65536:
                raise ValueError("key file %s is larger than 64 KiB" % path)
    finally:
        os.close(fd)
    if data.endswith(b"\n"):
        data = data[:-1]
    if len(data) < MIN_KEY_SIZE:
        raise ValueError("key in %s is %d bytes; at least 32 are required" % (path, len(data)))
    return data


# Values. Maps decode to dicts whose array keys become tuples (hashable), since the daemon's dict
# keys may be arrays; every other array decodes to a list.
def _hashable(v):
    if isinstance(v, list):
        return tuple(_hashable(x) for x in v)
    return v


def _pairs(pairs):
    return {_hashable(k): v for k, v in pairs}


def pack(obj):
    try:
        return msgpack.packb(obj, use_bin_type=True, strict_types=False, datetime=False)
    except OverflowError:
        raise OverflowError("an int outside int64/uint64 cannot be sent: %r" % (obj,)) from None


class Unpacker:
    """Reads the arrays of one payload, back to back."""

    def __init__(self, payload):
        self._u = msgpack.Unpacker(raw=False, strict_map_key=False, object_pairs_hook=_pairs,
                                   max_buffer_size=max(len(payload), 1))
        self._u.feed(payload)

    def __iter__(self):
        return iter(self._u)
