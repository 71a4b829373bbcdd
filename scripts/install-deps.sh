#!/usr/bin/env bash
# Installs the Debian 12 packages syncmgr builds with, when any is missing. Extra package names
# given as arguments are installed too (the benchmark adds its own); --fuzz adds clang and its
# libFuzzer and sanitizer runtimes (scripts/fuzz.sh). cmake and systemd (for systemd-analyze)
# are used by the packaging check only, iproute2 (ip netns) by examples/multihost. python3-zmq,
# python3-msgpack and python3-pytest: the Python client (python/syncmgr) and its tests, with
# Debian's /usr/bin/python3. libfmt-dev: the optional test of include/syncmgr/format.hpp (the build
# works without it).
set -euo pipefail
extra=()
for a in "$@"; do
  if [ "$a" = --fuzz ]; then extra+=(clang libclang-rt-14-dev); else extra+=("$a"); fi
done
packages=(g++ meson ninja-build pkg-config libzmq3-dev cppzmq-dev libmsgpack-cxx-dev libssl-dev
          doctest-dev libfmt-dev cmake systemd iproute2 python3-zmq python3-msgpack python3-pytest
          "${extra[@]}")
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing: ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
