"""Frame layout without a daemon: the ACK flag of /work/ack-spec.md (not yet sent to the daemon:
SEND_ACK is off until the daemon takes it) and sealed frames."""

import hashlib
import hmac
import struct

from syncmgr import _wire


def test_request_frame_with_ack_layout():
    key = bytes(range(32))
    payload = _wire.pack([7, "server.ping", None, []])
    frame = _wire.request_frame(key, True, 0x0102030405060708, 9, payload, ack=0x1122334455667788)
    assert frame[:4] == bytes([1, 16, 0, 0x01])  # version, request, to daemon, ACK
    assert struct.unpack(">QQ", frame[4:20]) == (0x0102030405060708, 9)
    assert frame[20:28] == bytes.fromhex("1122334455667788")  # the ack, big-endian
    assert frame[28:-32] == payload
    # The tag covers header, ack and payload.
    assert frame[-32:] == hmac.new(key, frame[:-32], hashlib.sha256).digest()


def test_request_frame_without_ack_or_macs():
    payload = b"\x94\x01\xabserver.ping\xc0\x90"
    frame = _wire.request_frame(None, False, 5, 1, payload)
    assert frame == bytes([1, 16, 0, 0]) + struct.pack(">QQ", 5, 1) + payload
    frame = _wire.request_frame(None, False, 5, 2, payload, ack=0)
    assert frame[3] == 1 and frame[20:28] == bytes(8) and frame[28:] == payload


def test_sealed_frame_is_verified_before_reading():
    key = b"k" * 32
    body = _wire.header(_wire.REPLY, 1, 2)[:2] + b"\x01" + bytes(17) + b"\x90"
    frame = body + hmac.new(key, body, hashlib.sha256).digest()
    assert _wire.open_session_frame(key, True, frame) == b"\x90"
    tampered = frame[:-33] + b"\x91" + frame[-32:]
    assert _wire.open_session_frame(key, True, tampered) is None
    assert _wire.open_session_frame(key, True, frame[:40]) is None
