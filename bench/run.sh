#!/usr/bin/env bash
# The syncmgr benchmark: syncmgr (tcp, ipc) against Python's SyncManager, Redis and a MAC'd
# ZeroMQ echo, all on loopback. Installs what it needs, builds in release mode, runs everything and
# writes bench/results/results.{md,json,svg}.
#
#   ./bench/run.sh           full run (5 repetitions, about 10 minutes on 2 cores)
#   ./bench/run.sh --quick   smoke run (fewer repetitions, shorter, fewer client counts: ~1 min)
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh redis-server libhiredis-dev python3
if [ ! -f build-bench/build.ninja ]; then
  meson setup build-bench --buildtype=release -Dtests=false
fi
ninja -C build-bench
# Debian's interpreter, whatever python3 comes first on PATH (e.g. pyenv's).
exec /usr/bin/python3 bench/run.py "$@"
