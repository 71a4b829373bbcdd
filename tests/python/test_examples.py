"""The Python examples (python/examples/) against a C++ fleet: the C++ example program and the
Python one update one daemon's objects at the same time, and the C++ side checks the result."""

import os
import subprocess
import sys

from conftest import BUILD, ROOT

EXAMPLES = os.path.join(ROOT, "python", "examples")


def test_shared_namespace_python_and_cpp_lose_no_update(daemon, transport):
    env = dict(os.environ, SYNCMGR_ENDPOINT=daemon.endpoint(transport),
               SYNCMGR_AUTHKEY_FILE=daemon.key_file)
    cpp = os.path.join(BUILD, "examples", "shared_namespace")
    # Both fleets at once: 2 C++ and 2 Python processes, 100 increments each.
    procs = [
        subprocess.Popen([cpp, "--connect", "--host", "cpp", "--workers", "2", "--increments",
                          "100"], env=env),
        subprocess.Popen([sys.executable, os.path.join(EXAMPLES, "shared_namespace.py"), "--host",
                          "py", "--workers", "2", "--increments", "100"], env=env),
    ]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    show = subprocess.run([cpp, "--connect", "--show", "--expect", "400"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert show.returncode == 0, show.stdout + show.stderr
    assert "hits.cpp = 200" in show.stdout
    assert "hits.py = 200" in show.stdout
    assert "max_seen = 400" in show.stdout
    assert "no update lost" in show.stdout


def test_python_workers_hash_files_for_a_cpp_parent(daemon, transport, tmp_path):
    env = dict(os.environ, SYNCMGR_ENDPOINT=daemon.endpoint(transport),
               SYNCMGR_AUTHKEY_FILE=daemon.key_file)
    names = []
    for i in range(12):
        p = tmp_path / ("f%02d" % i)
        p.write_bytes(b"x" * i)
        names.append(str(p))
    workers = [subprocess.Popen([sys.executable, os.path.join(EXAMPLES, "hash_worker.py")],
                                env=env, stdout=subprocess.PIPE, text=True) for _ in range(2)]
    # The C++ parent feeds the queue, hashes nothing itself (--workers 0), waits for join() and
    # prints what the Python workers computed.
    parent = subprocess.run([os.path.join(BUILD, "examples", "hash_workers"), "--connect",
                             "--workers", "0"] + names, env=env, capture_output=True, text=True,
                            timeout=120)
    assert parent.returncode == 0, parent.stderr
    outs = [w.communicate(timeout=60)[0] for w in workers]
    import hashlib
    expected = "".join("%s  %s\n" % (hashlib.sha256(b"x" * i).hexdigest(), n)
                       for i, n in enumerate(names))
    assert parent.stdout == expected
    counts = [int(o.split()[1]) for o in outs]
    assert sum(counts) == 12
