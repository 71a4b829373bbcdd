#!/usr/bin/env bash
# Runs every test: installs what is missing (Debian 12), builds with -Werror, runs the unit and
# integration suites, the Python client's tests (pytest, Debian's python3), compiles the README's
# C++ blocks, runs the multi-host demo (examples/multihost, as root), then builds the release type
# (-O3 warns differently) and runs its unit suite, installs that build and uses it as a user would
# (tests/packaging/check.sh), then runs the suites again under AddressSanitizer +
# UndefinedBehaviorSanitizer, then the client's concurrency tests under ThreadSanitizer, then each
# fuzz target for a short while (SYNCMGR_FUZZ_SECONDS, default 45). Prints "N passed, M failed" at
# the end.
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --fuzz || exit 1

passed=0
failed=0
logdir=$(mktemp -d)
trap 'rm -rf "$logdir"' EXIT

# setup DIR [meson options...]: configure a build directory once, reconfigure after that.
setup() {
  local dir=$1
  shift
  if [ -f "$dir/build.ninja" ]; then
    meson configure "$dir" "$@" >/dev/null
  else
    meson setup "$dir" "$@" >/dev/null
  fi
  ninja -C "$dir" >"$logdir/build.log" 2>&1 || { cat "$logdir/build.log"; echo "build failed in $dir"; exit 1; }
}

# run NAME BUILD_DIR BINARY [doctest args...]: runs one suite, adds its counts, and fails it if a
# sanitizer reported anything (also from the daemons and child processes it started).
run() {
  local name=$1 dir=$2 bin=$3
  shift 3
  echo "== $name"
  SYNCMGR_BUILD_DIR="$dir" timeout 1200 "$dir/tests/$bin" "$@" >"$logdir/$name.log" 2>&1
  local status=$?
  # doctest prints only failures, so on failure the whole log is the useful part.
  if [ "$status" -ne 0 ] || grep -qE 'Sanitizer|runtime error:' "$logdir/$name.log"; then
    tail -n 200 "$logdir/$name.log"
  else
    grep -E '^\[doctest\] (test cases|Status)' "$logdir/$name.log"
  fi
  local line
  line=$(grep -E '^\[doctest\] test cases:' "$logdir/$name.log" | tail -1)
  local p f
  p=$(echo "$line" | sed -nE 's/.*\| *([0-9]+) passed.*/\1/p')
  f=$(echo "$line" | sed -nE 's/.*\| *([0-9]+) failed.*/\1/p')
  passed=$((passed + ${p:-0}))
  failed=$((failed + ${f:-0}))
  if grep -qE 'ERROR: (Address|Leak|Thread)Sanitizer|runtime error:|WARNING: ThreadSanitizer' "$logdir/$name.log"; then
    echo "$name: sanitizer report above"
    failed=$((failed + 1))
  elif [ "$status" -ne 0 ] && [ "${f:-0}" -eq 0 ]; then
    echo "$name: exited with status $status"
    failed=$((failed + 1))
  fi
}

setup build -Dtests=true
run unit build unit_tests
run integration build integration_tests

# The Python client (python/syncmgr) against this build's daemon and C++ peer (tests/python), with
# Debian's python3 (python3-zmq, python3-msgpack, python3-pytest). pytest's last line gives the
# counts: "N passed, M failed, K errors, J skipped in T s".
echo "== python"
SYNCMGR_BUILD_DIR="$PWD/build" timeout 1200 /usr/bin/python3 -m pytest -p no:cacheprovider -q \
  tests/python >"$logdir/python.log" 2>&1
py_status=$?
py_summary=$(grep -E ' in [0-9.]+s' "$logdir/python.log" | tail -1)
py_count() { echo "$py_summary" | grep -oE "[0-9]+ $1" | grep -oE '^[0-9]+'; }
py_p=$(py_count passed)
py_f=$(( $(py_count failed || true) + $(py_count 'errors?' || true) + 0 ))
if [ "$py_status" -ne 0 ]; then
  tail -n 200 "$logdir/python.log"
else
  echo "$py_summary"
fi
passed=$((passed + ${py_p:-0}))
failed=$((failed + py_f))
if [ "$py_status" -ne 0 ] && [ "$py_f" -eq 0 ]; then
  echo "python: exited with status $py_status"
  failed=$((failed + 1))
fi

# The README's C++ examples compile as written (scripts/check-readme.sh): one count per block.
echo "== readme"
scripts/check-readme.sh >"$logdir/readme.log" 2>&1
readme_status=$?
cat "$logdir/readme.log"
passed=$((passed + $(grep -c '^ok ' "$logdir/readme.log")))
failed=$((failed + $(grep -c '^FAIL ' "$logdir/readme.log")))
[ "$readme_status" -ne 0 ] && ! grep -q '^FAIL ' "$logdir/readme.log" && failed=$((failed + 1))

# The multi-host demo: a daemon and workers in three network namespaces over tcp, one worker's link
# cut for longer than the session timeout (examples/multihost/run.sh). Each of its checks counts.
# Creating namespaces needs root (CI runs as root); elsewhere the stage is skipped, and says so.
# --expect-redelivery: the job the cut-off worker had taken is done by the other host.
echo "== multihost"
if [ "$(id -u)" -ne 0 ]; then
  echo "multihost: skipped (needs root for network namespaces)"
else
  examples/multihost/run.sh --build build --expect-redelivery >"$logdir/multihost.log" 2>&1
  multihost_status=$?
  grep -E '^(ok|FAIL) ' "$logdir/multihost.log"
  [ "$multihost_status" -ne 0 ] && tail -n 60 "$logdir/multihost.log"
  multihost_passed=$(grep -c '^ok ' "$logdir/multihost.log")
  multihost_failed=$(grep -c '^FAIL ' "$logdir/multihost.log")
  passed=$((passed + multihost_passed))
  failed=$((failed + multihost_failed))
  if [ "$multihost_status" -ne 0 ] && [ "$multihost_failed" -eq 0 ]; then
    echo "multihost: exited with status $multihost_status"
    failed=$((failed + 1))
  fi
fi

# Release: must build clean at -O3 too. Only the unit suite runs here (the integration suite
# already ran above); the packaging check then installs this same build, so nothing is compiled
# twice.
setup build-release -Dtests=true -Dbuildtype=release
run unit-release build-release unit_tests
echo "== packaging"
if tests/packaging/check.sh build-release >"$logdir/packaging.log" 2>&1; then
  grep -E '^packaging: all passed' "$logdir/packaging.log"
  passed=$((passed + 1))
else
  tail -n 100 "$logdir/packaging.log"
  failed=$((failed + 1))
fi

export ASAN_OPTIONS=abort_on_error=0:detect_leaks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
setup build-asan -Dtests=true -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug
run unit-asan build-asan unit_tests
run integration-asan build-asan integration_tests

# The client library's threads (callers and the I/O thread) under ThreadSanitizer.
export TSAN_OPTIONS="halt_on_error=0:second_deadlock_stack=1:suppressions=$PWD/tests/tsan.supp"
setup build-tsan -Dtests=true -Db_sanitize=thread -Db_lundef=false -Dbuildtype=debug
# Only tests that do not fork: TSan cannot follow a fork of a multi-threaded process.
run client-tsan build-tsan integration_tests -tc='threads:*,async:*,objects: one Manager*,errors: a call past*,objects: dict surface*'

# The libFuzzer targets (tests/fuzz/, clang, ASan+UBSan) from their seed corpus, each for a bounded
# time; what they find stays out of the tree. A target that crashes, leaks, trips a sanitizer or a
# property check counts as one failure.
echo "== fuzz"
scripts/fuzz.sh "${SYNCMGR_FUZZ_SECONDS:-45}" >"$logdir/fuzz.log" 2>&1
fuzz_status=$?
if [ "$fuzz_status" -ne 0 ]; then
  tail -n 200 "$logdir/fuzz.log"
else
  grep -E '^(PASS|FAIL) ' "$logdir/fuzz.log"
fi
fuzz_passed=$(grep -c '^PASS ' "$logdir/fuzz.log")
fuzz_failed=$(grep -c '^FAIL ' "$logdir/fuzz.log")
passed=$((passed + fuzz_passed))
failed=$((failed + fuzz_failed))
if [ "$fuzz_status" -ne 0 ] && [ "$fuzz_failed" -eq 0 ]; then
  echo "fuzz: exited with status $fuzz_status"
  failed=$((failed + 1))
fi

echo
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
