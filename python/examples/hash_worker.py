"""hash_worker.py: a Python worker in a C++ work queue.

    python3 hash_worker.py

Joins the daemon named by SYNCMGR_ENDPOINT and SYNCMGR_AUTHKEY_FILE (or SYNCMGR_AUTHKEY) and works
for examples/hash_workers.cpp run with --connect: takes file names from the JoinableQueue "files",
puts (name, SHA-256) on the Queue "digests", calls task_done() for each, and stops when the C++
parent shuts the queue down (Python 3.13's Queue.shutdown; syncmgr.ShutDown on older Pythons).
A worker that dies between get() and task_done() does not lose its file: the daemon puts it back
for another worker. Prints how many files it hashed.
"""

import hashlib
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import syncmgr  # noqa: E402 (from this checkout, or an installed package)


def sha256_of(path):
    try:
        with open(path, "rb") as f:
            return hashlib.sha256(f.read()).hexdigest()
    except OSError as e:
        return "error: " + e.strerror


def main():
    mgr = syncmgr.Manager()
    files = mgr.JoinableQueue("files")
    digests = mgr.Queue("digests")
    done = 0
    try:
        while True:
            name = files.get()
            digests.put((name, sha256_of(name)))  # a pair, read as std::pair in C++
            files.task_done()
            done += 1
    except syncmgr.ShutDown:
        pass
    print("hashed %d files" % done)
    mgr.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
