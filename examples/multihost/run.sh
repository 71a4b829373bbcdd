#!/usr/bin/env bash
# The multi-host demo and its check: a daemon and workers on three "hosts", network namespaces
# joined by a bridge, talking over tcp (encrypted by CurveZMQ) as separate machines would.
#
#   examples/multihost/run.sh [--build DIR] [--expect-redelivery]     (needs root)
#
#   hub  10.77.0.1  syncmgrd --bind tcp://10.77.0.1:5555, the bridge the others are plugged into
#   h2   10.77.0.2  workers
#   h3   10.77.0.3  workers; in phase 2, the worker whose cable gets pulled
#
# Phase 1: both worker hosts count into one Namespace with atomic increments
# (examples/shared_namespace.cpp) while four workers take 40 jobs from a JoinableQueue and append
# each result to a ledger file under a Lock (examples/multihost/multihost.cpp). Checked: no
# increment lost, each job in the ledger exactly once, fencing tokens increasing.
# Phase 2: a worker on h3 takes the Lock and a job, then its link goes down for longer than the
# session timeout. Checked: while connected it keeps the Lock (h2 cannot get it for twice the
# session timeout); once cut off, its session expires and h2's worker gets the Lock (with a higher
# fencing token) and does the other jobs. With --expect-redelivery, also checked: the job the
# cut-off worker took and never finished is put back by the daemon and done by h2.
#
# Everything it creates (namespaces, links, processes, files) is removed on every exit path.
# Exit status: 0 all checks passed, 1 a check failed, 2 usage, 77 not root.
set -uo pipefail

build=build
expect_redelivery=0
while [ $# -gt 0 ]; do
  case $1 in
    --build) build=$2; shift 2 ;;
    --expect-redelivery) expect_redelivery=1; shift ;;
    *) echo "usage: $0 [--build DIR] [--expect-redelivery]" >&2; exit 2 ;;
  esac
done
if [ "$(id -u)" -ne 0 ]; then
  echo "multihost: needs root (network namespaces)" >&2
  exit 77
fi
build=$(cd "$build" && pwd) || exit 2
for bin in syncmgrd syncmgr examples/multihost examples/shared_namespace; do
  [ -x "$build/$bin" ] || { echo "multihost: $build/$bin is not built" >&2; exit 2; }
done

session_timeout=5
tag=sm$$  # namespaces and links are named after this run, so parallel runs do not collide
hub=$tag-hub
h2=$tag-h2
h3=$tag-h3
work=$(mktemp -d)

# Every process this run started runs inside one of its namespaces (the daemon, the workers and
# what they fork), so the namespaces, which are this run's alone, name exactly what to stop: never
# a remembered pid that may have been reused.
in_namespaces() {
  local ns
  for ns in "$h2" "$h3" "$hub"; do ip netns pids "$ns" 2>/dev/null; done
}
cleanup() {
  local left
  left=$(in_namespaces)
  [ -n "$left" ] && kill $left 2>/dev/null
  for _ in $(seq 50); do
    [ -z "$(in_namespaces)" ] && break
    sleep 0.1
  done
  left=$(in_namespaces)
  [ -n "$left" ] && kill -KILL $left 2>/dev/null
  wait  # for the local wrappers (timeout, subshells) of what was killed
  # Deleting a namespace deletes the links in it (and a veth's peer with it).
  for ns in "$h2" "$h3" "$hub"; do ip netns del "$ns" 2>/dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# bg COMMAND...: runs COMMAND in the background and waits for it, so that a signal to this script
# is handled at once (bash runs traps only between foreground commands) and cleanup can kill it.
bg() {
  "$@" &
  wait $!
}

failures=0
check() {  # check DESCRIPTION COMMAND...: runs COMMAND, prints ok/FAIL
  local what=$1
  shift
  if "$@"; then
    echo "ok   $what"
  else
    echo "FAIL $what"
    failures=$((failures + 1))
  fi
}

# on HOST COMMAND...: runs a command on a host with the daemon's endpoint and key in its environment
on() {
  local host=$1
  shift
  ip netns exec "$host" env SYNCMGR_ENDPOINT=tcp://10.77.0.1:5555 \
    SYNCMGR_AUTHKEY_FILE="$work/authkey" "$@"
}

# The network: a bridge in hub, one veth pair per worker host.
set -e
ip netns add "$hub"
ip -n "$hub" link set lo up
ip -n "$hub" link add br0 type bridge
ip -n "$hub" addr add 10.77.0.1/24 dev br0
ip -n "$hub" link set br0 up
n=2
for host in "$h2" "$h3"; do
  ip netns add "$host"
  ip -n "$host" link set lo up
  ip link add "${tag}a$n" type veth peer name "${tag}b$n"
  ip link set "${tag}a$n" netns "$hub"
  ip link set "${tag}b$n" netns "$host"
  ip -n "$hub" link set "${tag}a$n" master br0 up
  ip -n "$host" link set "${tag}b$n" name eth0
  ip -n "$host" addr add "10.77.0.$n/24" dev eth0
  ip -n "$host" link set eth0 up
  n=$((n + 1))
done
set +e

(umask 077 && head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$work/authkey")
ip netns exec "$hub" "$build/syncmgrd" --bind tcp://10.77.0.1:5555 --authkey-file "$work/authkey" \
  --session-timeout "$session_timeout" --ready-file "$work/ready" --log-level info \
  2>"$work/daemon.log" &
for _ in $(seq 100); do [ -s "$work/ready" ] && break; sleep 0.1; done
[ -s "$work/ready" ] || { echo "multihost: the daemon did not start"; cat "$work/daemon.log"; exit 1; }
echo "daemon on hub: $(cat "$work/ready")"

# A check that a host really is another host: h2 reaches the daemon over the bridge.
ping_daemon() { on "$1" "$build/syncmgr" ping >/dev/null; }
check "h2 reaches the daemon on hub over tcp" ping_daemon "$h2"

echo "-- phase 1: two hosts, one Namespace, one work queue, one Lock"
on "$h2" "$build/examples/multihost" seed 40
workers=()
for host in "$h2" "$h3"; do
  short=${host#"$tag-"}
  on "$host" "$build/examples/shared_namespace" --connect --host "$short" --workers 2 \
    --increments 100 &
  workers+=($!)
  for i in 1 2; do
    on "$host" "$build/examples/multihost" worker "$short.$i" "$work/ledger1" &
    workers+=($!)
  done
done
phase1=0
for pid in "${workers[@]}"; do wait "$pid" || phase1=1; done
check "every phase-1 process exited 0" [ "$phase1" -eq 0 ]
check "no increment lost across hosts (400 = 2 hosts x 2 workers x 100)" \
  on "$h3" "$build/examples/shared_namespace" --connect --show --expect 400
check "the ledger holds jobs 0..39 once each, tokens increasing" \
  "$build/examples/multihost" check 40 "$work/ledger1"

echo "-- phase 2: a worker's link is cut while it holds the Lock and a job"
on "$h2" "$build/examples/multihost" seed 10
on "$h3" "$build/examples/multihost" hold h3 "$work/ledger2" &
holder=
for _ in $(seq 100); do
  holder=$(on "$h2" "$build/syncmgr" get mh.state holder 2>/dev/null)
  [ "$holder" = '"h3"' ] && break
  sleep 0.1
done
check "h3 holds the ledger Lock" [ "$holder" = '"h3"' ]
held_job=$(on "$h2" "$build/syncmgr" get mh.state held_job)
held_token=$(on "$h2" "$build/syncmgr" get mh.state held_token)
# Connected, the holder keeps its session (heartbeats) and so its Lock past the session timeout.
if bg on "$h2" "$build/examples/multihost" try-lock $((2 * session_timeout)); then
  echo "FAIL the Lock of a connected holder stays held"
  failures=$((failures + 1))
else
  echo "ok   the Lock of a connected holder stays held for twice the session timeout"
fi

ip -n "$h3" link set eth0 down
cut_at=$(date +%s.%N)
log_at_cut=$(wc -l <"$work/daemon.log")
echo "h3's link is down"
# h2's worker waits for the Lock until h3's session expires, then does the remaining jobs; it
# stops after 3 s without work.
check "h2's worker finishes while h3 is cut off" \
  bg timeout 120 ip netns exec "$h2" env SYNCMGR_ENDPOINT=tcp://10.77.0.1:5555 \
  SYNCMGR_AUTHKEY_FILE="$work/authkey" "$build/examples/multihost" worker h2 "$work/ledger2"
cut_for=$(awk -v a="$cut_at" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
echo "h3 was cut off for ${cut_for} s (session timeout ${session_timeout} s)"
first_token=$(awk 'NR == 1 { print $4 }' "$work/ledger2")
check "h2 got the Lock h3 held (fencing token ${first_token:-none} > ${held_token})" \
  [ "${first_token:-0}" -gt "$held_token" ]
check "the daemon logged that a session expired after the cut" \
  grep -q 'expired' <(tail -n +"$((log_at_cut + 1))" "$work/daemon.log")
if [ "$expect_redelivery" -eq 1 ]; then
  check "every job of round 2 done once, job $held_job (h3's) redone by h2" \
    "$build/examples/multihost" check 10 "$work/ledger2"
else
  check "every job of round 2 but h3's ($held_job) done once by h2" \
    "$build/examples/multihost" check 10 "$work/ledger2" "$held_job"
fi

if [ "$failures" -ne 0 ]; then
  echo "multihost: $failures checks failed; the daemon's log:"
  tail -n 40 "$work/daemon.log"
  exit 1
fi
echo "multihost: all checks passed"
