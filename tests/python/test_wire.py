"""Keys, transports, frames with and without MACs, reconnection and the ACK switch."""

import os
import queue
import threading

import pytest

import syncmgr
from syncmgr import _connection
from conftest import stat, wait_for


def test_wrong_key_is_an_authentication_error(daemon, transport, tmp_path):
    wrong = tmp_path / "wrong"
    wrong.write_text("0" * 64 + "\n")
    wrong.chmod(0o600)
    with pytest.raises(syncmgr.AuthenticationError):
        syncmgr.Manager(daemon.endpoint(transport), authkey_file=str(wrong), connect_timeout=10)


def test_key_file_must_be_private(daemon, tmp_path):
    loose = tmp_path / "loose"
    loose.write_text("0" * 64)
    loose.chmod(0o644)
    with pytest.raises(syncmgr.AuthenticationError, match="chmod 600"):
        syncmgr.Manager(daemon.ipc, authkey_file=str(loose))


def test_key_and_endpoint_from_the_environment(daemon, monkeypatch):
    monkeypatch.setenv("SYNCMGR_ENDPOINT", daemon.tcp)
    monkeypatch.setenv("SYNCMGR_AUTHKEY_FILE", daemon.key_file)
    with syncmgr.Manager() as m:
        assert m.ping() == "pong"
    # The key itself, as Manager::export_environment() exports it for exec'd children.
    monkeypatch.delenv("SYNCMGR_AUTHKEY_FILE")
    monkeypatch.setenv("SYNCMGR_AUTHKEY", open(daemon.key_file).read().strip())
    with syncmgr.Manager() as m:
        assert m.ping() == "pong"
    monkeypatch.delenv("SYNCMGR_AUTHKEY")
    with pytest.raises(syncmgr.AuthenticationError, match="no key"):
        syncmgr.Manager()


def test_frames_without_macs_by_default_and_sealed_on_request(daemon, transport):
    with syncmgr.Manager(daemon.endpoint(transport), authkey_file=daemon.key_file) as m:
        assert m._conn._macs is False
        m.dict("d")["k"] = b"x" * 100000
    with syncmgr.Manager(daemon.endpoint(transport), authkey_file=daemon.key_file,
                         frame_macs=True) as m:
        assert m._conn._macs is True
        assert m.dict("d")["k"] == b"x" * 100000


def test_daemon_requiring_frame_macs(make_daemon, transport):
    d = make_daemon("--require-frame-macs")
    with syncmgr.Manager(d.endpoint(transport), authkey_file=d.key_file) as m:
        assert m._conn._macs is True
        big = os.urandom(3 << 20)
        m.dict("d")["big"] = big
        assert m.dict("d")["big"] == big


def test_daemon_restart_fails_calls_in_flight_then_reconnects(daemon, transport):
    m = syncmgr.Manager(daemon.endpoint(transport), authkey_file=daemon.key_file)
    q = m.Queue("q")
    errors = []

    def get():
        try:
            q.get(timeout=120)
        except Exception as e:  # noqa: BLE001 (the type is what is checked)
            errors.append(e)

    t = threading.Thread(target=get)
    t.start()
    wait_for(lambda: stat(m, "parked_calls") >= 1, what="the get to park")
    daemon.restart()
    t.join(60)
    assert not t.is_alive()
    assert len(errors) == 1 and isinstance(errors[0], ConnectionError), errors
    # The next calls run on a new session.
    wait_for(lambda: _ping(m), 30, "the client to reconnect")
    m.dict("after")["x"] = 1
    assert m.dict("after")["x"] == 1
    m.close()


def _ping(m):
    try:
        return m.ping() == "pong"
    except ConnectionError:
        return False


def test_call_deadline_cancels_the_parked_call(daemon, transport):
    # A client whose own deadline passes cancels its parked get, so no item is served to nobody.
    with syncmgr.Manager(daemon.endpoint(transport), authkey_file=daemon.key_file) as m:
        q = m.Queue("q")
        # A get without a timeout whose caller gives up after 0.2 s: the client cancels it on
        # the daemon and takes its single answer (CancelledError here), so nothing is left parked.
        with pytest.raises(ConnectionError, match="cancelled|deadline"):
            m._conn.call("queue.get", "q", [True, None], deadline=0.2, cancellable=True)
        assert stat(m, "parked_calls") == 0
        q.put("kept")
        assert q.get_nowait() == "kept"


def test_many_calls_in_one_frame(daemon, transport):
    # Requests queued together leave in one frame (fewer than one frame per call).
    with syncmgr.Manager(daemon.endpoint(transport), authkey_file=daemon.key_file) as m:
        d = m.dict("d")
        before = m.stats()["request_frames"]
        threads = [threading.Thread(target=lambda i=i: [d.__setitem__((i, j), j)
                                                        for j in range(50)])
                   for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(d) == 400
        frames = m.stats()["request_frames"] - before - 2  # len() and stats() above
        print("400 calls from 8 threads in %d request frames" % frames)
        assert frames < 400


@pytest.mark.skipif(not _connection.SEND_ACK,
                    reason="the daemon does not take the ACK flag yet (SEND_ACK is False)")
def test_unacknowledged_item_returns_to_its_queue(make_daemon, transport):
    # ack-spec: an item whose reply was never acknowledged goes back to the head of its queue when
    # the session ends; one acknowledged (by the next request frame) does not.
    import subprocess
    import sys
    from conftest import ROOT
    d = make_daemon("--session-timeout", "1")
    m = syncmgr.Manager(d.endpoint(transport), authkey_file=d.key_file)
    q = m.Queue("acked")
    q.put_many(["first", "second"])
    code = ("import sys, os, signal; sys.path.insert(0, %r); import syncmgr; "
            "from syncmgr import _connection; _connection.SEND_ACK = True; "
            "m = syncmgr.Manager(%r, authkey_file=%r); q = m.Queue('acked'); "
            "q.get(); m.ping(); q.get(); os.kill(os.getpid(), signal.SIGKILL)"
            % (os.path.join(ROOT, "python"), d.endpoint(transport), d.key_file))
    subprocess.run([sys.executable, "-c", code], timeout=60)
    assert q.get(timeout=30) == "second"
    with pytest.raises(queue.Empty):
        q.get(timeout=0.5)
    m.close()


def test_auth_for_a_replaced_hello_is_a_session_error(daemon):
    # PROTOCOL.md said AuthenticationError here; the daemon answers SessionError (handshake again),
    # which is what a client must expect: its earlier hello was replaced by a newer one.
    import zmq
    from syncmgr import _wire
    key = _wire.read_key_file(daemon.key_file)
    sock = zmq.Context.instance().socket(zmq.DEALER)
    sock.linger = 0
    sock.connect(daemon.ipc)
    try:
        challenges = []
        for _ in range(2):
            cn = os.urandom(32)
            sock.send(_wire.header(_wire.HELLO, 0, 0) + _wire.pack([1, cn]))
            assert sock.poll(10000)
            frame = sock.recv()
            sn, proof = next(iter(_wire.Unpacker(frame[_wire.HEADER_SIZE:])))
            session = _wire.read_header(frame)[4]
            assert proof == _wire.server_proof(key, cn, sn, session)
            challenges.append((cn, sn, session))
        cn, sn, session = challenges[0]  # answered after the second hello replaced it
        sock.send(_wire.header(_wire.AUTH, session, 0)
                  + _wire.pack([_wire.client_proof(key, cn, sn, session)]))
        assert sock.poll(10000)
        frame = sock.recv()
        assert _wire.read_header(frame)[1] == _wire.REFUSED
        kind, message = next(iter(_wire.Unpacker(frame[_wire.HEADER_SIZE:])))
        assert kind == "SessionError", message
        # The newer one still completes.
        cn, sn, session = challenges[1]
        sock.send(_wire.header(_wire.AUTH, session, 0)
                  + _wire.pack([_wire.client_proof(key, cn, sn, session)]))
        assert sock.poll(10000)
        frame = sock.recv()
        assert _wire.read_header(frame)[1] == _wire.WELCOME
        skey = _wire.session_key(key, cn, sn, session)
        params = next(iter(_wire.Unpacker(_wire.open_session_frame(skey, True, frame))))
        assert params["frame_macs"] is True  # not asked to go without
    finally:
        sock.close()


def test_request_over_the_daemons_limit_is_refused_before_sending(make_daemon, transport):
    d = make_daemon("--max-message-size", "4096")
    with syncmgr.Manager(d.endpoint(transport), authkey_file=d.key_file) as m:
        cfg = m.dict("cfg")
        with pytest.raises(syncmgr.ProtocolError, match="exceeds the daemon's limit of 4096"):
            cfg["big"] = b"x" * 5000
        assert "big" not in cfg  # nothing was sent
        cfg["small"] = b"x" * 1000
        assert len(cfg["small"]) == 1000
