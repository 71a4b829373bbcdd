#!/usr/bin/env python3
"""A few of run.py's cases, interleaved: each repetition runs every system once per case, so a
noisy moment on a shared machine hits all of them alike. Prints medians and ratios.

    /usr/bin/python3 bench/side_by_side.py [--reps 5] [--duration 1] [--cases sync:dict_set,scale:16]

Systems: syncmgr over unix://, Redis over its unix socket and tcp, Python's SyncManager. Builds
nothing: run ./bench/run.sh once first (it installs Redis and builds build-bench/).
"""
import argparse
import statistics
import sys
import os

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--duration", type=float, default=1.0)
    ap.add_argument("--build-dir", default="build-bench")
    ap.add_argument("--zmq", action="store_true",
                    help="also syncmgr over ipc and tcp, and the ZeroMQ echo over both")
    ap.add_argument("--cases", default="sync:dict_set,sync:ns_set,sync:incr,sync:queue_putget,"
                    "sync:lock,scale:16")
    args = ap.parse_args()
    cfg = dict(run.FULL, duration=args.duration)
    b = run.Bench(args, cfg)
    wanted = args.cases.split(",")
    known = {}
    for case in wanted:
        kind, _, arg = case.partition(":")
        if kind == "sync":
            known[case] = dict(workload=arg)
        elif kind == "scale":
            known[case] = dict(workload="dict_set", clients=int(arg))
        else:
            sys.exit("unknown case " + case)
    s, r, p = b.syncmgrd("main"), b.redis(), b.python()
    e = b.echo() if args.zmq else None
    try:
        for rep in range(args.reps):
            for case, kw in known.items():
                b.cpp("syncmgr-unix", "syncmgr", s.endpoints["unix"], rep, case=case, **kw)
                if e is not None:
                    for t in ("ipc", "tcp"):
                        b.cpp("syncmgr-" + t, "syncmgr", s.endpoints[t], rep, case=case, **kw)
                        if case == "sync:dict_set" or case.startswith("scale:"):
                            b.cpp("echo-" + t, "echo", e.endpoints[t], rep, case=case, **kw)
                b.cpp("redis-unix", "redis", r.endpoints["unix"], rep, case=case, **kw)
                b.cpp("redis", "redis", r.endpoints["tcp"], rep, case=case, **kw)
                b.py(p.port, rep, case, **kw)
    finally:
        for x in (s, r, p, e):
            if x is not None:
                x.stop()
    med = {}
    for rec in b.records:
        if "ops_per_s" in rec:
            med.setdefault((rec["case"], rec["label"]), []).append(rec["ops_per_s"])
    print("\n%-18s %12s %12s %12s %12s   %s" % ("case", "syncmgr-unix", "redis-unix", "redis",
                                                "python", "ratios (syncmgr / other)"))
    for case in known:
        m = {lab: statistics.median(v) for (c, lab), v in med.items() if c == case}
        sm = m.get("syncmgr-unix", 0)
        ratios = " ".join("%s %.2fx" % (lab, sm / m[lab]) for lab in ("redis-unix", "redis",
                                                                         "python") if m.get(lab))
        print("%-18s %12.0f %12.0f %12.0f %12.0f   %s" % (case, sm, m.get("redis-unix", 0),
                                                          m.get("redis", 0), m.get("python", 0),
                                                          ratios))
        for t in ("ipc", "tcp"):
            if m.get("echo-" + t):
                print("%-18s syncmgr-%s %.0f, echo-%s %.0f: %.2fx the echo" % (
                    "", t, m.get("syncmgr-" + t, 0), t, m["echo-" + t],
                    m.get("syncmgr-" + t, 0) / m["echo-" + t]))


if __name__ == "__main__":
    main()
