#!/usr/bin/env bash
# Builds syncmgr, starts a fresh local syncmgrd (free port, new key), runs the demo in which worker
# processes share a Namespace and a dict, shows the objects with the CLI, and stops the daemon.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
[ -f build/build.ninja ] || meson setup build >/dev/null
ninja -C build >/dev/null

run=$(mktemp -d)
daemon_pid=""
cleanup() {
  [ -n "$daemon_pid" ] && kill "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null
  rm -rf "$run"
}
trap cleanup EXIT

# A fresh 256-bit key, readable by this user only.
(umask 077 && head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$run/authkey")
build/syncmgrd --bind 'tcp://127.0.0.1:*' --bind "ipc://$run/syncmgrd.sock" \
  --authkey-file "$run/authkey" --ready-file "$run/ready" 2>"$run/daemon.log" &
daemon_pid=$!
for _ in $(seq 100); do [ -s "$run/ready" ] && break; sleep 0.05; done
[ -s "$run/ready" ] || { cat "$run/daemon.log"; echo "syncmgrd did not start"; exit 1; }

export SYNCMGR_ENDPOINT=$(head -1 "$run/ready")
export SYNCMGR_AUTHKEY_FILE="$run/authkey"
echo "syncmgrd listening on $(tr '\n' ' ' <"$run/ready")"
echo
build/examples/demo --workers 4 --tasks 200
echo
echo "\$ syncmgr ls"
build/syncmgr ls
echo "\$ syncmgr get demo.status"
build/syncmgr get demo.status
echo "\$ syncmgr stats"
build/syncmgr stats
