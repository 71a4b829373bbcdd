#!/usr/bin/python3
"""Runs the syncmgr benchmark: every workload against every system, several repetitions.

  /usr/bin/python3 bench/run.py [--quick] [--build-dir build-bench] [--out bench/results]

Usually started by bench/run.sh, which installs the packages and builds first. Starts every server
on loopback (syncmgrd over tcp and ipc, Python's SyncManager, redis-server, bench/echo_server),
runs build-dir/bench/syncmgr-bench and bench/py_manager.py against them and writes results.json,
results.md and results.svg (bench/report.py renders the last two).
"""
import argparse
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import report

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PYTHON = "/usr/bin/python3"

# Every server and client of every system runs with the same glibc allocator settings: keep freed
# memory rather than returning it to the kernel after each large message (the default makes every
# 1 MiB value page-fault in afresh). syncmgrd applies the same settings itself; Redis uses jemalloc.
ALLOCATOR_ENV = {"MALLOC_MMAP_THRESHOLD_": str(32 << 20), "MALLOC_TRIM_THRESHOLD_": str(32 << 20),
                 "MALLOC_TOP_PAD_": str(4 << 20)}

SYNC = ["ns_set", "ns_get", "dict_set", "dict_get", "list_append", "incr", "queue_putget", "lock"]
# Workloads that are one round trip for syncmgr, Redis and the echo floor alike.
ONE_TRIP = {"ns_set", "ns_get", "dict_set", "dict_get", "list_append", "incr"}

FULL = dict(reps=5, duration=1.0, clients=[1, 4, 16, 64], depths=[16, 64], queue=[1, 4],
            entries=1000000, mem_reps=3, park=10000)
QUICK = dict(reps=2, duration=0.25, clients=[1, 16], depths=[16, 64], queue=[1, 4],
             entries=100000, mem_reps=1, park=10000)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A server process on loopback, stopped by stop() (SIGTERM, then SIGKILL)."""

    def __init__(self, name, argv, work, ready_file=None, port=None):
        self.name, self.log = name, os.path.join(work, name + ".log")
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(argv, stdout=log, stderr=log, stdin=subprocess.DEVNULL)
        self.pid = self.proc.pid
        deadline = time.time() + 15
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("%s exited at start: %s" % (name, self.tail()))
            if ready_file and os.path.exists(ready_file):
                return
            if port and not ready_file:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                    return
                except OSError:
                    pass
            time.sleep(0.02)
        self.stop()
        raise RuntimeError("%s did not become ready: %s" % (name, self.tail()))

    def tail(self):
        with open(self.log, errors="replace") as f:
            return f.read()[-500:]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Bench:
    def __init__(self, args, cfg):
        self.cfg, self.work = cfg, tempfile.mkdtemp(prefix="syncmgr-bench-")
        self.build = os.path.abspath(os.path.join(ROOT, args.build_dir))
        self.harness = os.path.join(self.build, "bench", "syncmgr-bench")
        self.key = os.path.join(self.work, "key")
        fd = os.open(self.key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.write(fd, os.urandom(32).hex().encode() + b"\n")
        os.close(fd)
        with open(os.path.join(self.build, "build.ninja")) as f:
            self.has_async = "SYNCMGR_BENCH_ASYNC" in f.read()
        self.records = []
        self.n = 0
        self.started = time.time()

    # -- servers --------------------------------------------------------------------------------
    def syncmgrd(self, tag, extra=()):
        port, ipc = free_port(), os.path.join(self.work, "syncmgr-%s.ipc" % tag)
        uds = os.path.join(self.work, "syncmgr-%s.sock" % tag)
        ready = os.path.join(self.work, "ready-syncmgr-%s-%d" % (tag, self.n))
        self.n += 1
        s = Server("syncmgrd", [os.path.join(self.build, "syncmgrd"), "--bind",
                                "tcp://127.0.0.1:%d" % port, "--bind", "ipc://" + ipc,
                                "--bind", "unix://" + uds,
                                "--authkey-file", self.key, "--ready-file", ready,
                                "--log-level", "warn", *extra], self.work, ready_file=ready)
        s.endpoints = {"tcp": "tcp://127.0.0.1:%d" % port, "ipc": "ipc://" + ipc,
                       "unix": "unix://" + uds}
        return s

    def echo(self):
        port, ipc = free_port(), os.path.join(self.work, "echo.ipc")
        ready = os.path.join(self.work, "ready-echo-%d" % self.n)
        self.n += 1
        s = Server("echo_server", [os.path.join(self.build, "bench", "echo_server"), "--bind",
                                   "tcp://127.0.0.1:%d" % port, "--bind", "ipc://" + ipc,
                                   "--key-file", self.key, "--ready-file", ready], self.work,
                   ready_file=ready)
        s.endpoints = {"tcp": "tcp://127.0.0.1:%d" % port, "ipc": "ipc://" + ipc}
        return s

    def redis(self):
        port = free_port()
        uds = os.path.join(self.work, "redis-%d.sock" % port)
        s = Server("redis", ["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                             "--unixsocket", uds, "--unixsocketperm", "700",
                             "--save", "", "--appendonly", "no", "--daemonize", "no",
                             "--loglevel", "warning"], self.work, port=port)
        s.endpoints = {"tcp": "tcp://127.0.0.1:%d" % port, "unix": "unix://" + uds}
        s.port = port
        return s

    def python(self):
        port = free_port()
        ready = os.path.join(self.work, "ready-python-%d" % self.n)
        self.n += 1
        s = Server("py_manager", [PYTHON, os.path.join(HERE, "py_manager.py"), "server",
                                  "--port", str(port), "--authkey-file", self.key,
                                  "--ready-file", ready], self.work, ready_file=ready)
        s.port = port
        return s

    # -- one measurement ------------------------------------------------------------------------
    def run(self, label, case, rep, argv, timeout):
        t0 = time.time()
        try:
            p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
            lines = [l for l in p.stdout.splitlines() if l.startswith("{")]
            if p.returncode != 0 or not lines:
                raise RuntimeError((p.stderr or p.stdout).strip()[-300:] or "exit %d" % p.returncode)
            rec = json.loads(lines[-1])
        except (RuntimeError, subprocess.TimeoutExpired) as e:
            rec = {"error": str(e)}
        rec.update(label=label, case=case, rep=rep)
        self.records.append(rec)
        status = rec.get("error") or "%.0f ops/s" % rec.get("ops_per_s", 0)
        if "bytes_per_entry" in rec:
            status = "%.1f B/entry" % rec["bytes_per_entry"]
        print("  [%4.0fs] rep %d %-12s %-22s %s  (%.1fs)" % (time.time() - self.started, rep, label,
                                                            case, status, time.time() - t0),
              flush=True)
        return rec

    def cases(self):
        cfg = self.cfg
        for w in SYNC:
            yield "sync:" + w, dict(workload=w)
        for n in cfg["clients"]:
            if n > 1:
                yield "scale:%d" % n, dict(workload="dict_set", clients=n)
        for d in cfg["depths"]:
            yield "pipe:%d" % d, dict(workload="dict_set_async", depth=d)
        for q in cfg["queue"]:
            yield "queue:%dx%d" % (q, q), dict(workload="queue_throughput", clients=2 * q)
        for q in cfg["queue"]:
            yield "qbatch:%dx%d" % (q, q), dict(workload="queue_batch", clients=2 * q, depth=64)
        yield "big", dict(workload="big_value", value_size=1 << 20)

    def cpp(self, label, system, endpoint, rep, clients=1, depth=1, workload="dict_set",
            value_size=16, extra=(), case=None):
        argv = [self.harness, "--system", system, "--endpoint", endpoint, "--authkey-file",
                self.key, "--workload", workload, "--clients", str(clients), "--depth",
                str(depth), "--duration", str(self.cfg["duration"]), "--value-size",
                str(value_size), *extra]
        return self.run(label, case, rep, argv, timeout=120)

    def py(self, port, rep, case, clients=1, workload="dict_set", value_size=16, depth=1,
           extra=()):
        del depth  # Python's manager has no pipelining
        argv = [PYTHON, os.path.join(HERE, "py_manager.py"), "client", "--port", str(port),
                "--authkey-file", self.key, "--workload", workload, "--clients", str(clients),
                "--duration", str(self.cfg["duration"]), "--value-size", str(value_size), *extra]
        return self.run("python", case, rep, argv, timeout=180)

    # -- one repetition -------------------------------------------------------------------------
    def repetition(self, rep):
        cfg = self.cfg
        if rep < cfg["mem_reps"]:
            self.memory(rep)
        s = self.syncmgrd("main")
        try:
            for transport in ("unix", "ipc", "tcp"):
                for case, kw in self.cases():
                    if case.startswith("pipe:") and not self.has_async:
                        continue
                    self.cpp("syncmgr-" + transport, "syncmgr", s.endpoints[transport], rep,
                             case=case, **kw)
        finally:
            s.stop()
        r = self.redis()
        try:
            for case, kw in self.cases():
                self.cpp("redis", "redis", r.endpoints["tcp"], rep, case=case, **kw)
                self.cpp("redis-unix", "redis", r.endpoints["unix"], rep, case=case, **kw)
        finally:
            r.stop()
        e = self.echo()
        try:
            for transport in ("ipc", "tcp"):
                for case, kw in self.cases():
                    if case in ("sync:dict_set", "big") or case.split(":")[0] in ("scale", "pipe"):
                        self.cpp("echo-" + transport, "echo", e.endpoints[transport], rep,
                                 case=case, **kw)
        finally:
            e.stop()
        p = self.python()
        try:
            for case, kw in self.cases():
                if not case.startswith(("pipe:", "qbatch:")):  # no pipelining, no batch forms
                    self.py(p.port, rep, case, **kw)
        finally:
            p.stop()
        for transport in ("unix", "ipc", "tcp"):
            self.parked(transport, rep)

    def memory(self, rep):
        n = str(self.cfg["entries"])
        s = self.syncmgrd("mem")
        try:
            self.cpp("syncmgr", "syncmgr", s.endpoints["tcp"], rep, workload="dict_mem",
                     case="mem", extra=("--entries", n, "--server-pid", str(s.pid)))
        finally:
            s.stop()
        r = self.redis()
        try:
            self.cpp("redis", "redis", r.endpoints["tcp"], rep, workload="dict_mem", case="mem",
                     extra=("--entries", n, "--server-pid", str(r.pid)))
        finally:
            r.stop()
        p = self.python()
        try:
            self.py(p.port, rep, "mem", workload="dict_mem",
                    extra=("--entries", n, "--server-pid", str(p.pid)))
        finally:
            p.stop()

    def parked(self, transport, rep):
        # A fresh daemon: the parked calls stay until the raw session expires (after the run).
        s = self.syncmgrd("parked", ("--session-timeout", "60"))
        try:
            label = "syncmgr-" + transport
            self.cpp(label, "syncmgr", s.endpoints[transport], rep, case="parked:base")
            self.cpp(label, "syncmgr", s.endpoints[transport], rep, case="parked:loaded",
                     extra=("--park", str(self.cfg["park"])))
        finally:
            s.stop()


def cmd(argv):
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return "?"


def machine(bench):
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {
        "cpu": cpu, "cores": os.cpu_count(), "kernel": platform.release(),
        "os": cmd(["sh", "-c", ". /etc/os-release && echo $PRETTY_NAME"]),
        "syncmgr": cmd([os.path.join(bench.build, "syncmgrd"), "--version"]),
        "syncmgr_commit": cmd(["git", "-C", ROOT, "describe", "--always", "--dirty"]),
        "syncmgr_async_api": bench.has_async,
        "libzmq": cmd(["pkg-config", "--modversion", "libzmq"]),
        "hiredis": cmd(["pkg-config", "--modversion", "hiredis"]),
        "redis": cmd(["redis-server", "--version"]),
        "python": cmd([PYTHON, "-c", "import sys; print(sys.version.split()[0])"]),
        "gxx": cmd(["g++", "--version"]).splitlines()[0] if shutil.which("g++") else "?",
        "loadavg_start": open("/proc/loadavg").read().split()[:3],
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--build-dir", default="build-bench")
    ap.add_argument("--out", default=os.path.join(HERE, "results"))
    args = ap.parse_args()
    cfg = dict(QUICK if args.quick else FULL)
    os.environ.update(ALLOCATOR_ENV)  # inherited by every server and client started below
    bench = Bench(args, cfg)
    info = machine(bench)
    info.update(mode="quick" if args.quick else "full", config=cfg,
                date=time.strftime("%Y-%m-%d %H:%M:%S %Z"))
    t0 = time.time()
    try:
        for rep in range(cfg["reps"]):
            print("repetition %d of %d" % (rep + 1, cfg["reps"]), flush=True)
            bench.repetition(rep)
    finally:
        shutil.rmtree(bench.work, ignore_errors=True)
    info["seconds"] = round(time.time() - t0, 1)
    info["loadavg_end"] = open("/proc/loadavg").read().split()[:3]
    os.makedirs(args.out, exist_ok=True)
    doc = {"machine": info, "records": bench.records}
    with open(os.path.join(args.out, "results.json"), "w") as f:
        json.dump(doc, f, indent=1)
    report.write(doc, args.out)
    print("wrote %s/results.{md,json,svg} in %.0f s" % (args.out, info["seconds"]))
    return 1 if any("error" in r for r in bench.records) else 0


if __name__ == "__main__":
    sys.exit(main())
