"""shared_namespace.py: Python processes updating the same Namespace as C++ ones.

    python3 shared_namespace.py --host NAME [--workers N] [--increments M]

The Python twin of examples/shared_namespace.cpp's --connect mode: it joins the daemon named by
SYNCMGR_ENDPOINT and SYNCMGR_AUTHKEY_FILE (or SYNCMGR_AUTHKEY), forks N workers, and each adds M to
the Namespace "counters": `hits`, its host's share `hits.NAME`, and `max_seen` by compare-and-set.
Run it beside the C++ program against one daemon, then `shared_namespace --connect --show --expect
TOTAL`: no update is lost whichever language made it, because `increment` is one operation on the
daemon (`ns.hits += 1` would be a read and a write, and lose updates to a concurrent writer).
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import syncmgr  # noqa: E402 (from this checkout, or an installed package)


def work(ns, host, increments):
    for _ in range(increments):
        now = ns.increment("hits")
        ns.increment("hits." + host)
        seen = ns.get("max_seen", 0)
        while now > seen and not ns.compare_and_set("max_seen", seen, now):
            seen = ns.get("max_seen", 0)
    ns.increment("worker_seconds", 0.5)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", default="python")
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--increments", type=int, default=250)
    args = ap.parse_args()
    mgr = syncmgr.Manager()  # SYNCMGR_ENDPOINT, SYNCMGR_AUTHKEY_FILE
    ns = mgr.Namespace("counters")
    ns.set_if_absent("started_by", args.host)
    ns.set_if_absent("max_seen", 0)
    pids = []
    for _ in range(args.workers):
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                work(ns, args.host, args.increments)
                mgr.close()
            except Exception as e:  # report, never a traceback from a worker
                print("worker: %s: %s" % (type(e).__name__, e), file=sys.stderr)
                code = 1
            os._exit(code)
        pids.append(pid)
    failed = sum(1 for pid in pids if os.waitpid(pid, 0)[1] != 0)
    mgr.close()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
