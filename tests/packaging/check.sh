#!/usr/bin/env bash
# Installs syncmgr into a scratch prefix and uses it as a user would: runs the installed binaries
# without LD_LIBRARY_PATH, builds a small program against the install with CMake
# (find_package(syncmgr)) and with pkg-config (at -std=c++23, which the flags must not downgrade),
# runs both against a syncmgrd started from the prefix, runs the CLI tests against the installed
# syncmgr and syncmgrd (when BUILD_DIR has tests), and checks the systemd unit.
#
# usage: tests/packaging/check.sh [BUILD_DIR]   (default build-install)
# An existing BUILD_DIR (scripts/test.sh passes its release build) is only re-pointed at the
# scratch prefix, so nothing is compiled again; a new one is set up as a release build without
# tests. NINJA_ARGS (e.g. -j1) is passed to ninja.
set -euo pipefail
cd "$(dirname "$0")/../.."
src=$PWD
dir=${1:-build-install}

work=$(mktemp -d)
prefix=$work/prefix
daemon_pid=""
cleanup() {
  if [ -n "$daemon_pid" ]; then
    kill "$daemon_pid" 2>/dev/null || true
    wait "$daemon_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "packaging: FAILED: $*" >&2
  exit 1
}
step() { echo "packaging: $*"; }

if [ -f "$dir/build.ninja" ]; then
  meson configure "$dir" --prefix="$prefix" >/dev/null
else
  meson setup "$dir" --prefix="$prefix" --buildtype=release -Dtests=false >/dev/null
fi
# shellcheck disable=SC2086 # NINJA_ARGS is a list of words
ninja -C "$dir" ${NINJA_ARGS:-} >"$work/build.log" 2>&1 || { cat "$work/build.log"; fail "build in $dir"; }
meson install -C "$dir" --no-rebuild --quiet >"$work/install.log" 2>&1 ||
  { cat "$work/install.log"; fail "meson install"; }
# Nothing from the build tree or the environment may help the installed files.
unset LD_LIBRARY_PATH SYNCMGR_ENDPOINT SYNCMGR_AUTHKEY_FILE PKG_CONFIG_PATH CMAKE_PREFIX_PATH

pc=$(find "$prefix" -name syncmgr.pc)
[ -n "$pc" ] || fail "no syncmgr.pc installed"
libdir=$(dirname "$(dirname "$pc")")

step "installed binaries run without LD_LIBRARY_PATH"
"$prefix/bin/syncmgr" --help >/dev/null || fail "bin/syncmgr --help"
"$prefix/bin/syncmgrd" --version >/dev/null || fail "bin/syncmgrd --version"
# ...and load the installed library, not one found elsewhere on the system.
# (ldd's output is taken whole first: `ldd | grep -q` under pipefail fails at random when grep
# exits at its match and ldd, still writing, dies of SIGPIPE.)
loaded=$(ldd "$prefix/bin/syncmgr")
grep -q "libsyncmgr.so.0 => $libdir/" <<<"$loaded" ||
  fail "bin/syncmgr does not load $libdir/libsyncmgr.so.0: $(grep syncmgr <<<"$loaded")"

step "pkg-config flags: no -std, no libzmq internals"
export PKG_CONFIG_PATH=$libdir/pkgconfig
cflags=$(pkg-config --cflags syncmgr) || fail "pkg-config --cflags syncmgr"
case " $cflags " in
  *-std=* | *pgm* | *libxml2* | *krb5*) fail "pkg-config --cflags syncmgr gives: $cflags" ;;
esac

step "build a program with pkg-config (-std=c++23)"
# shellcheck disable=SC2046 # pkg-config's output is a list of flags
g++ -std=c++23 -DSYNCMGR_EXPECT_CXX23 -Wall -Wextra -Werror "$src/tests/packaging/app.cpp" \
  -o "$work/app-pkgconfig" $(pkg-config --cflags --libs syncmgr) -Wl,-rpath,"$libdir" ||
  fail "g++ with pkg-config"

step "build a program with CMake (find_package(syncmgr CONFIG))"
cmake -S "$src/tests/packaging/cmake" -B "$work/cmake-build" -DCMAKE_PREFIX_PATH="$prefix" \
  -DCMAKE_BUILD_TYPE=Release >"$work/cmake.log" 2>&1 || { cat "$work/cmake.log"; fail "cmake configure"; }
cmake --build "$work/cmake-build" >>"$work/cmake.log" 2>&1 || { cat "$work/cmake.log"; fail "cmake build"; }

step "both programs and bin/syncmgr against the installed syncmgrd"
(umask 077 && head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$work/authkey")
"$prefix/bin/syncmgrd" --bind 'tcp://127.0.0.1:*' --authkey-file "$work/authkey" \
  --ready-file "$work/ready" 2>"$work/daemon.log" &
daemon_pid=$!
for _ in $(seq 200); do [ -s "$work/ready" ] && break; sleep 0.05; done
[ -s "$work/ready" ] || { cat "$work/daemon.log"; fail "installed syncmgrd did not start"; }
export SYNCMGR_ENDPOINT SYNCMGR_AUTHKEY_FILE=$work/authkey
SYNCMGR_ENDPOINT=$(head -1 "$work/ready")
"$work/app-pkgconfig" pkgconfig || fail "the pkg-config build did not run"
"$work/cmake-build/app" cmake || fail "the CMake build did not run"
[ "$("$prefix/bin/syncmgr" get packaging-check cmake)" = 42 ] || fail "bin/syncmgr get"

# The CLI test suites, with the installed syncmgr and syncmgrd in place of the build tree's (the
# tests find both through SYNCMGR_BUILD_DIR): a build with tests has the suite to run.
if [ -x "$dir/tests/integration_tests" ]; then
  step "the CLI tests against the installed bin/syncmgr and bin/syncmgrd"
  SYNCMGR_BUILD_DIR="$prefix/bin" "$dir/tests/integration_tests" -tc='cli*,syncmgrd flags*' \
    >"$work/cli.log" 2>&1 || { tail -n 80 "$work/cli.log"; fail "CLI tests against the prefix"; }
  grep -E '^\[doctest\] test cases' "$work/cli.log" | sed 's/^/packaging: /'
fi

unit=$prefix/lib/systemd/system/syncmgrd.service
[ -f "$unit" ] || fail "no systemd unit installed at $unit"
grep -q "^ExecStart=$prefix/bin/syncmgrd " "$unit" || fail "the unit does not start $prefix/bin/syncmgrd"
if command -v systemd-analyze >/dev/null; then
  step "systemd-analyze verify"
  # Where systemd-analyze cannot run (no systemd as PID 1 is fine; a missing /etc/syncmgr/authkey
  # is not checked), its complaints about this unit still fail the check.
  if ! systemd-analyze verify "$unit" >"$work/verify.log" 2>&1 || [ -s "$work/verify.log" ]; then
    cat "$work/verify.log"
    fail "systemd-analyze verify $unit"
  fi
else
  step "systemd-analyze not installed: the unit is not verified"
fi
step "all passed"
