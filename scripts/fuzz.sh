#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz/ (clang, ASan+UBSan) in build-fuzz/ and runs each, one
# after the other on one core, for SECONDS (default 60) from its seed corpus in
# tests/fuzz/corpus/<target>/. Inputs found during the run go to a temporary working corpus, never
# into the tree. Fails (exit 1) on any crash, leak, sanitizer report, hang or property violation;
# the input that caused it is kept under $FUZZ_ARTIFACTS (default build-fuzz/fuzz-artifacts/), in
# a directory per run.
# Prints one line per target at the end:
#   PASS|FAIL <target>: <executions> execs, cov <n>, ft <n>, corpus <n> (<s> s)
# Environment: FUZZ_BUILD_DIR (default build-fuzz), FUZZ_TARGETS (default: all five),
# FUZZ_KEEP_CORPUS=DIR (copy each target's working corpus to DIR/<target>/ at the end).
set -uo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
scripts/install-deps.sh --fuzz || exit 1

build=${FUZZ_BUILD_DIR:-build-fuzz}
targets=(${FUZZ_TARGETS:-fuzz_frame fuzz_payload fuzz_handshake fuzz_server fuzz_unix_stream})
artifacts=${FUZZ_ARTIFACTS:-$build/fuzz-artifacts}/$(date -u +%Y%m%dT%H%M%SZ)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if [ -f "$build/build.ninja" ]; then
  meson configure "$build" -Dfuzz=true -Db_lundef=false >"$work/setup.log" 2>&1
else
  CXX=clang++ meson setup "$build" -Dfuzz=true -Dtests=false -Db_lundef=false >"$work/setup.log" 2>&1
fi || { cat "$work/setup.log"; echo "fuzz: meson setup failed"; exit 1; }
ninja -C "$build" -j2 "${targets[@]/#/tests/fuzz/}" >"$work/build.log" 2>&1 ||
  { cat "$work/build.log"; echo "fuzz: build failed"; exit 1; }
mkdir -p "$artifacts"

export ASAN_OPTIONS=abort_on_error=0:detect_leaks=1:allocator_may_return_null=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
summary=()
failed=0
for t in "${targets[@]}"; do
  mkdir -p "$work/$t"
  args=(-max_total_time="$seconds" -timeout=30 -rss_limit_mb=4096 -max_len=4096
        -print_final_stats=1 -artifact_prefix="$artifacts/$t-")
  # fuzz_server's daemon runs on its own thread and keeps state across inputs: per-input leak
  # checks would misfire (and rerun every input); leaks are still reported at exit.
  [ "$t" = fuzz_server ] && args+=(-detect_leaks=0)
  echo "== $t (${seconds} s)"
  start=$(date +%s)
  # The first directory receives new inputs; the seed corpus is only read.
  timeout $((seconds + 300)) "$build/tests/fuzz/$t" "${args[@]}" "$work/$t" "tests/fuzz/corpus/$t" \
    >"$work/$t.log" 2>&1
  status=$?
  elapsed=$(($(date +%s) - start))
  last=$(grep -E '^#[0-9]+' "$work/$t.log" | tail -1)
  execs=$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+).*/\1/p' "$work/$t.log" | tail -1)
  cov=$(echo "$last" | sed -nE 's/.* cov: ([0-9]+).*/\1/p')
  ft=$(echo "$last" | sed -nE 's/.* ft: ([0-9]+).*/\1/p')
  corp=$(echo "$last" | sed -nE 's/.* corp: ([0-9]+).*/\1/p')
  line="$t: ${execs:-?} execs, cov ${cov:-?}, ft ${ft:-?}, corpus ${corp:-?} (${elapsed} s)"
  if [ "$status" -ne 0 ] ||
    grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:|property violated' \
      "$work/$t.log"; then
    # The report: everything from the first error line on (libFuzzer's progress lines before it
    # are noise).
    grep -nE 'ERROR:|runtime error:|property violated|==[0-9]+==' "$work/$t.log" | head -1 |
      cut -d: -f1 | { read -r n; tail -n +"${n:-1}" "$work/$t.log" | head -150; }
    ls "$artifacts"/"$t"-* 2>/dev/null | sed 's/^/input kept: /'
    summary+=("FAIL $line (exit status $status)")
    failed=$((failed + 1))
  else
    summary+=("PASS $line")
  fi
  if [ -n "${FUZZ_KEEP_CORPUS:-}" ]; then
    mkdir -p "$FUZZ_KEEP_CORPUS/$t" && cp -r "$work/$t/." "$FUZZ_KEEP_CORPUS/$t/"
  fi
done

echo
printf '%s\n' "${summary[@]}"
[ "$failed" -eq 0 ]
