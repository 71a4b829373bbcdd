#!/usr/bin/python3
"""Python's multiprocessing SyncManager for the syncmgr benchmark (bench/run.py drives it).

  py_manager.py server --port P --authkey-file F [--ready-file R]
  py_manager.py client --port P --authkey-file F --workload W [--clients N] [--duration S]
                       [--value-size B] [--entries N] [--server-pid PID]

Server mode serves a SyncManager on 127.0.0.1:P in this process (so its RSS is the manager's).
Client mode forks N client processes that each connect, run the workload for S seconds, and prints
one JSON line with the same fields as syncmgr-bench.

Python's manager has no named objects: the server registers named_dict/named_list/... typeids
whose callable returns the one object of that name, so every client process shares it. It has no
atomic increment either: `incr` is `with lock: d["counter"] = d.get("counter", 0) + 1` (four round
trips), the nearest Python equivalent.
"""
import argparse
import json
import os
import queue
import random
import sys
import threading
import time
from multiprocessing import managers as mm

_objects = {}
_objects_lock = threading.Lock()


def _named(typeid, factory):
    def get(name):
        with _objects_lock:
            if (typeid, name) not in _objects:
                _objects[(typeid, name)] = factory()
            return _objects[(typeid, name)]

    return get


class BenchManager(mm.SyncManager):
    pass


def register(server):
    for typeid, factory, proxy in [
        ("named_dict", dict, mm.DictProxy),
        ("named_list", list, mm.ListProxy),
        ("named_ns", mm.Namespace, mm.NamespaceProxy),
        ("named_queue", queue.Queue, None),  # AutoProxy, as SyncManager.Queue
        ("named_lock", threading.Lock, mm.AcquirerProxy),
    ]:
        BenchManager.register(typeid, callable=_named(typeid, factory) if server else None,
                              proxytype=proxy)


def read_key(path):
    with open(path, "rb") as f:
        key = f.read()
    return key[:-1] if key.endswith(b"\n") else key


def key_name(i):
    return "key:%d" % (i % 1000)


MAX_SAMPLES = 50000
CONNECTING = 6


class Workload:
    """One client's connection and its workload; step(i) returns ops done or -1 (end of stream)."""

    def __init__(self, a, index):
        self.m = BenchManager(address=("127.0.0.1", a.port), authkey=read_key(a.authkey_file))
        self.m.connect()
        m, w = self.m, a.workload
        self.value = "x" * a.value_size
        self.role = None
        self.until_done = False
        d = m.named_dict("bench_big" if w == "big_value" else "bench_dict")
        if w == "ns_set" or w == "ns_get":
            ns = m.named_ns("bench_ns")
            ns.attr = self.value
            if w == "ns_set":
                self.step = lambda i: setattr(ns, "attr", self.value) or 1
            else:
                self.step = lambda i: (ns.attr, 1)[1]
        elif w == "dict_set" or w == "dict_set_async":  # no pipelining: the sync rate
            self.step = lambda i: d.__setitem__(key_name(i), self.value) or 1
        elif w == "dict_get":
            d.update({key_name(i): self.value for i in range(1000)})
            self.step = lambda i: (d[key_name(i)], 1)[1]
        elif w == "list_append":
            lst = m.named_list("bench_list")
            self.step = lambda i: lst.append(self.value) or 1
        elif w == "incr":
            lock = m.named_lock("bench_incr_lock")

            def incr(i):
                with lock:
                    d["counter"] = d.get("counter", 0) + 1
                return 1

            self.step = incr
        elif w == "queue_putget":
            q = m.named_queue("bench_queue")

            def putget(i):
                q.put(self.value)
                q.get()
                return 1

            self.step = putget
        elif w == "lock":
            lock = m.named_lock("bench_lock")

            def lock_step(i):
                lock.acquire()
                lock.release()
                return 1

            self.step = lock_step
        elif w == "big_value":
            big = b"x" * a.value_size

            def big_step(i):
                d["big"] = big
                if len(d["big"]) != len(big):
                    raise RuntimeError("big_value: wrong size back")
                return 1

            self.step = big_step
        elif w == "queue_throughput":
            if a.clients < 2 or a.clients % 2:
                raise SystemExit("queue_throughput: even clients")
            q = m.named_queue("tq-%d" % os.getppid())
            self.role = "producer" if index < a.clients // 2 else "consumer"
            self.until_done = self.role == "consumer"
            if self.role == "producer":
                self.step = lambda i: q.put(i) or 1
            else:
                self.step = lambda i: -1 if q.get() < 0 else 1
            self.queue = q
        else:
            raise SystemExit("unknown workload " + w)

    def warm_up(self):
        if self.role is not None:
            self.queue.qsize()
        else:
            self.step(0)

    def finish(self):
        if self.role == "producer":
            self.queue.put(-1)


def client_main(a, index, ready_w, go_r, out_w, token):
    report = {"ops": 0, "elapsed": 0.0, "counted": True, "failed": False, "samples": []}
    try:
        # At most CONNECTING clients connect at once: the manager's listener has a backlog of 16
        # and authenticates connections one by one in its accepter thread, so 64 clients
        # connecting together overflow it and some hang in connect. Connecting is not measured.
        os.read(token[0], 1)
        try:
            wl = Workload(a, index)
            wl.warm_up()  # every proxy has opened its connection before the clock starts
        finally:
            os.write(token[1], b"t")
        os.write(ready_w, b"r")
        if os.read(go_r, 1) != b"g":
            os._exit(4)
        samples, seen, ops = [], 0, 0
        rng = random.Random(index)
        clock = time.perf_counter
        start = clock()
        deadline = start + a.duration
        step, until_done = wl.step, wl.until_done
        i = 0
        while True:
            t0 = clock()
            if not until_done and t0 >= deadline:
                break
            n = step(i)
            if n < 0:
                break
            us = (clock() - t0) * 1e6
            ops += n
            if len(samples) < MAX_SAMPLES:
                samples.append(us)
            else:
                j = rng.randrange(seen + 1)
                if j < MAX_SAMPLES:
                    samples[j] = us
            seen += 1
            i += 1
        report.update(ops=ops, elapsed=clock() - start, samples=samples,
                      counted=wl.role != "producer")
        wl.finish()
    except BaseException as e:  # reported to the parent, which fails the run
        print("client %d: %r" % (index, e), file=sys.stderr)
        report["failed"] = True
        os.write(ready_w, b"f")
    data = json.dumps(report).encode()
    view = memoryview(data)
    while view:
        view = view[os.write(out_w, view):]
    os._exit(1 if report["failed"] else 0)


def percentile(v, q):
    if not v:
        return 0.0
    v = sorted(v)
    return v[int(q * (len(v) - 1))]


def run_clients(a):
    ready_r, ready_w = os.pipe()
    go_r, go_w = os.pipe()
    token = os.pipe()
    os.write(token[1], b"t" * CONNECTING)
    pids, outs = [], []
    sys.stdout.flush()
    for i in range(a.clients):
        out_r, out_w = os.pipe()
        pid = os.fork()
        if pid == 0:
            for fd in [ready_r, go_w, out_r] + outs:
                os.close(fd)
            client_main(a, i, ready_w, go_r, out_w, token)
        os.close(out_w)
        pids.append(pid)
        outs.append(out_r)
    os.close(ready_w)
    os.close(go_r)
    ok = all(os.read(ready_r, 1) == b"r" for _ in range(a.clients))
    if ok:
        os.write(go_w, b"g" * a.clients)
    os.close(go_w)
    ops, elapsed, samples, failed = 0, 0.0, [], 0 if ok else 1
    for fd in outs:
        chunks = []
        while True:
            b = os.read(fd, 1 << 20)
            if not b:
                break
            chunks.append(b)
        os.close(fd)
        if not chunks:
            failed += 1
            continue
        r = json.loads(b"".join(chunks))
        failed += r["failed"]
        if r["counted"]:
            ops += r["ops"]
            elapsed = max(elapsed, r["elapsed"])
            samples += r["samples"]
    for pid in pids:
        os.waitpid(pid, 0)
    if failed:
        raise SystemExit("py_manager: %d client(s) failed" % failed)
    rate = ops / elapsed if elapsed else 0.0
    mb = rate * 2 * a.value_size / 1e6 if a.workload == "big_value" else 0.0
    print(json.dumps({
        "system": "python", "endpoint": "tcp://127.0.0.1:%d" % a.port, "workload": a.workload,
        "clients": a.clients, "depth": 1, "value_size": a.value_size, "duration": round(elapsed, 3),
        "ops": ops, "ops_per_s": round(rate, 1), "p50_us": round(percentile(samples, 0.5), 1),
        "p99_us": round(percentile(samples, 0.99), 1), "mb_per_s": round(mb, 2), "park": 0}))


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


def run_memory(a):
    m = BenchManager(address=("127.0.0.1", a.port), authkey=read_key(a.authkey_file))
    m.connect()
    d = m.named_dict("bench_mem")
    d.clear()
    before = rss_kib(a.server_pid)
    t0 = time.perf_counter()
    for lo in range(0, a.entries, 10000):
        d.update({i: i for i in range(lo, min(lo + 10000, a.entries))})
    secs = time.perf_counter() - t0
    if len(d) != a.entries:
        raise SystemExit("dict_mem: entries missing")
    time.sleep(0.2)
    after = rss_kib(a.server_pid)
    print(json.dumps({"system": "python", "workload": "dict_mem", "entries": a.entries,
                      "rss_before_kib": before, "rss_after_kib": after,
                      "bytes_per_entry": round((after - before) * 1024 / a.entries, 1),
                      "load_seconds": round(secs, 3)}))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["server", "client"])
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--authkey-file", required=True)
    p.add_argument("--ready-file")
    p.add_argument("--workload")
    p.add_argument("--clients", type=int, default=1)
    p.add_argument("--duration", type=float, default=2.0)
    p.add_argument("--value-size", type=int, default=16)
    p.add_argument("--entries", type=int, default=1000000)
    p.add_argument("--server-pid", type=int, default=0)
    a = p.parse_args()
    if a.mode == "server":
        register(server=True)
        m = BenchManager(address=("127.0.0.1", a.port), authkey=read_key(a.authkey_file))
        server = m.get_server()
        if a.ready_file:
            with open(a.ready_file + ".tmp", "w") as f:
                f.write("tcp://127.0.0.1:%d\n" % a.port)
            os.rename(a.ready_file + ".tmp", a.ready_file)
        server.serve_forever()
    register(server=False)
    if a.workload == "dict_mem":
        run_memory(a)
    else:
        run_clients(a)


if __name__ == "__main__":
    main()
