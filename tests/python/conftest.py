"""Fixtures: a real syncmgrd from $SYNCMGR_BUILD_DIR on a free tcp port, an ipc socket and a unix
socket, with a fresh key; the C++ peer program (peer.cpp) next to it; helpers that poll instead of sleeping."""

import os
import secrets
import signal
import subprocess
import sys
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "python"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

BUILD = os.environ.get("SYNCMGR_BUILD_DIR", os.path.join(ROOT, "build"))


def wait_for(predicate, timeout=20.0, what="condition"):
    """Polls predicate until it is true; fails the test after timeout seconds."""
    end = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > end:
            raise AssertionError("timed out after %g s waiting for %s" % (timeout, what))
        time.sleep(0.01)


class Daemon:
    def __init__(self, tmp, extra=()):
        self.dir = str(tmp)
        os.makedirs(self.dir, exist_ok=True)
        self.key_file = os.path.join(self.dir, "authkey")
        fd = os.open(self.key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.write(fd, secrets.token_hex(32).encode() + b"\n")
        os.close(fd)
        self.extra = list(extra)
        self.tcp = self.ipc = self.unix = None
        self.proc = None
        self.start("tcp://127.0.0.1:*", "ipc://" + os.path.join(self.dir, "sock"),
                   "unix://" + os.path.join(self.dir, "usock"))

    def start(self, tcp, ipc, unix):
        ready = os.path.join(self.dir, "ready")
        if os.path.exists(ready):
            os.unlink(ready)
        args = [os.path.join(BUILD, "syncmgrd"), "--authkey-file", self.key_file,
                "--ready-file", ready, "--bind", tcp, "--bind", ipc, "--bind", unix] + self.extra
        self.log_path = os.path.join(self.dir, "daemon.log")
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(args, stderr=log, stdout=subprocess.DEVNULL)

        def bound():
            if self.proc.poll() is not None:
                raise AssertionError("syncmgrd exited at start: " + self.log())
            try:
                lines = open(ready).read().split()
            except FileNotFoundError:
                return False
            return lines if len(lines) >= 3 else False

        lines = wait_for(bound, 10, "syncmgrd to be ready")
        self.tcp = next(line for line in lines if line.startswith("tcp://"))
        self.ipc = next(line for line in lines if line.startswith("ipc://"))
        self.unix = next(line for line in lines if line.startswith("unix://"))

    def endpoint(self, transport):
        return {"tcp": self.tcp, "ipc": self.ipc, "unix": self.unix}[transport]

    def log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def restart(self):
        """Kills it and starts it again on the same endpoints and key."""
        self.kill()
        tcp, ipc, unix = self.tcp, self.ipc, self.unix
        end = time.monotonic() + 20
        while True:
            try:
                self.start(tcp, ipc, unix)
                return
            except AssertionError:
                if time.monotonic() > end:  # the port was not free again in time
                    raise

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def daemon(tmp_path):
    d = Daemon(tmp_path)
    yield d
    d.stop()


@pytest.fixture
def make_daemon(tmp_path):
    """A daemon with extra flags: make_daemon("--session-timeout", "1")."""
    made = []

    def make(*extra):
        d = Daemon(tmp_path / ("d%d" % len(made)), extra)
        made.append(d)
        return d

    yield make
    for d in made:
        d.stop()


@pytest.fixture(params=["ipc", "tcp", "unix"])
def transport(request):
    return request.param


@pytest.fixture
def manager(daemon, transport):
    import syncmgr
    m = syncmgr.Manager(daemon.endpoint(transport), authkey_file=daemon.key_file)
    yield m
    m.close()


def peer(daemon, transport, *args, timeout=60, **kwargs):
    """Runs the C++ peer; returns the CompletedProcess."""
    cmd = [os.path.join(BUILD, "tests", "python_peer"), daemon.endpoint(transport),
           daemon.key_file] + [str(a) for a in args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kwargs)


def start_peer(daemon, transport, *args):
    cmd = [os.path.join(BUILD, "tests", "python_peer"), daemon.endpoint(transport),
           daemon.key_file] + [str(a) for a in args]
    return subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)


def python_child(code, daemon, transport):
    """Runs `code` in a new Python process with `mgr` connected; stdout is a pipe."""
    prelude = ("import sys, time; sys.path.insert(0, %r); import syncmgr; "
               "mgr = syncmgr.Manager(%r, authkey_file=%r)\n"
               % (os.path.join(ROOT, "python"), daemon.endpoint(transport), daemon.key_file))
    return subprocess.Popen([sys.executable, "-c", prelude + code], stdout=subprocess.PIPE,
                            stdin=subprocess.PIPE, text=True)


def stat(mgr, name):
    return mgr.stats()[name]
