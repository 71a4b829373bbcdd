"""C++ and Python processes on one daemon: values, queues and locks across the two clients."""

import threading

from conftest import peer, python_child, start_peer, stat, wait_for
from values import VALUES, differences


def test_values_written_by_cpp_read_back_exactly_in_python(daemon, transport, manager):
    r = peer(daemon, transport, "write", "from_cpp")
    assert r.returncode == 0, r.stderr
    got = manager.dict("from_cpp").copy()
    assert differences(VALUES, got) == []
    assert len(got) == len(VALUES)


def test_values_written_by_python_read_back_exactly_in_cpp(daemon, transport, manager):
    d = manager.dict("from_py")
    for name, value in VALUES.items():
        d[name] = value
    r = peer(daemon, transport, "check", "from_py")
    assert r.returncode == 0, r.stdout + r.stderr


def test_python_reads_each_value_singly(daemon, transport, manager):
    # Through dict.get rather than one copy(): each value is a reply of its own.
    assert peer(daemon, transport, "write", "single").returncode == 0
    d = manager.dict("single")
    got = {name: d[name] for name in VALUES}
    assert differences(VALUES, got) == []


def _parked(mgr, n):
    return wait_for(lambda: stat(mgr, "parked_calls") >= n, what="%d parked calls" % n)


def test_python_get_released_by_cpp_put(daemon, transport, manager):
    q = manager.Queue("handoff")
    got = []
    t = threading.Thread(target=lambda: got.append(q.get(timeout=60)))
    t.start()
    _parked(manager, 1)
    assert peer(daemon, transport, "put", "handoff", "nested").returncode == 0
    t.join(60)
    assert not t.is_alive()
    assert differences({"nested": VALUES["nested"]}, {"nested": got[0]}) == []


def test_cpp_get_released_by_python_put(daemon, transport, manager):
    p = start_peer(daemon, transport, "get", "handoff", "map_mixed_keys", "60")
    _parked(manager, 1)
    manager.Queue("handoff").put(VALUES["map_mixed_keys"])
    out, _ = p.communicate(timeout=60)
    assert p.returncode == 0, out


def test_cpp_get_times_out_as_empty(daemon, transport):
    assert peer(daemon, transport, "get", "nothing", "none", "0.2").returncode == 3


def test_lock_held_by_cpp_blocks_python(daemon, transport, manager):
    holder = start_peer(daemon, transport, "hold", "shared")
    assert holder.stdout.readline().strip() == "held"
    lock = manager.Lock("shared")
    assert lock.locked()
    assert lock.acquire(timeout=0.3) is False
    assert lock.acquire(blocking=False) is False
    # Release on the C++ side while Python waits: the parked acquire is granted.
    got = []
    t = threading.Thread(target=lambda: got.append(lock.acquire(timeout=60)))
    t.start()
    _parked(manager, 1)
    holder.stdin.close()
    assert holder.stdout.readline().strip() == "released"
    holder.wait(30)
    t.join(60)
    assert got == [True]
    lock.release()


def test_lock_held_by_python_blocks_cpp(daemon, transport, manager):
    lock = manager.Lock("shared")
    with lock:
        assert peer(daemon, transport, "acquire", "shared", "0.3").returncode == 3
        waiter = start_peer(daemon, transport, "acquire", "shared", "60")
        _parked(manager, 1)
    waiter.communicate(timeout=60)
    assert waiter.returncode == 0


def test_lock_of_sigkilled_python_client_is_released_after_session_timeout(make_daemon,
                                                                             transport):
    import time
    d = make_daemon("--session-timeout", "2")
    child = python_child("lock = mgr.Lock('crash')\nlock.acquire()\nprint('held', flush=True)\n"
                         "time.sleep(600)\n", d, transport)
    try:
        assert child.stdout.readline().strip() == "held"
        # Held across twice the session timeout while the child is alive and idle: its
        # heartbeats (every 0.67 s, from its background thread) keep the session.
        time.sleep(4.5)
        assert peer(d, transport, "acquire", "crash", "0").returncode == 3
        child.kill()
        child.wait()
        killed = time.monotonic()
        r = peer(d, transport, "acquire", "crash", "60")
        assert r.returncode == 0, r.stderr
        waited = time.monotonic() - killed
        print("lock released %.2f s after SIGKILL (session timeout 2 s)" % waited)
    finally:
        child.kill()
        child.wait()
    assert "released" in d.log() or "expired" in d.log()


def test_unix_lock_of_killed_parent_is_released_though_its_forked_child_lives(make_daemon):
    # Over unix:// a connection's end ends its session at once. A fork()ed child that kept its copy
    # of the parent's socket would keep the parent's session, and its Lock, for as long as it lives.
    import os
    import signal
    d = make_daemon("--session-timeout", "120")
    child = python_child("import os\nlock = mgr.Lock('fork')\nlock.acquire()\n"
                         "pid = os.fork()\n"
                         "if pid == 0:\n    time.sleep(600)\n    os._exit(0)\n"
                         "print(pid, flush=True)\ntime.sleep(600)\n", d, "unix")
    grandchild = None
    try:
        grandchild = int(child.stdout.readline())
        assert peer(d, "unix", "acquire", "fork", "0").returncode == 3
        child.kill()
        child.wait()
        # Far below the session timeout: the session ended with the connection.
        r = peer(d, "unix", "acquire", "fork", "60")
        assert r.returncode == 0, r.stderr
    finally:
        child.kill()
        child.wait()
        if grandchild is not None:
            os.kill(grandchild, signal.SIGKILL)


def test_python_program_execd_by_a_cpp_owner_joins_its_private_daemon(tmp_path):
    # Manager::start() (a private daemon over unix://, a key that never touches a file) and
    # export_environment(): a Python program started with exec finds it through
    # SYNCMGR_ENDPOINT and SYNCMGR_AUTHKEY alone.
    import os
    import subprocess
    import sys
    from conftest import BUILD, ROOT
    script = tmp_path / "child.py"
    script.write_text(
        "import os, sys\n"
        "sys.path.insert(0, %r)\n"
        "import syncmgr\n"
        "assert os.environ['SYNCMGR_ENDPOINT'].startswith('unix://')\n"
        "mgr = syncmgr.Manager()\n"
        "mgr.dict('results')['echo'] = mgr.Queue('jobs').get(timeout=30)\n"
        % os.path.join(ROOT, "python"))
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("SYNCMGR_") or k == "SYNCMGR_BUILD_DIR"}
    r = subprocess.run([os.path.join(BUILD, "tests", "python_peer"), "start",
                        os.path.join(BUILD, "syncmgrd"), sys.executable, str(script)],
                       capture_output=True, text=True, timeout=120, env=env)
    assert r.returncode == 0, r.stdout + r.stderr
