#!/usr/bin/env bash
# Compiles every ```cpp block of README.md against include/ as written, so the README's examples
# cannot drift from the API. A block with a main() is compiled as a program; any other block is a
# sequence of statements, compiled as the body of a function (with <syncmgr/syncmgr.hpp> and the
# standard headers such snippets lean on). Unused variables are allowed: snippets show calls.
# Prints "ok"/"FAIL" and the block's first line for each block; exits 1 if any failed.
set -uo pipefail
cd "$(dirname "$0")/.."
cxx=${CXX:-g++}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
awk -v dir="$work" '
  /^```cpp$/ { n++; inblock = 1; file = dir "/block" n ".cpp"; printf "" > file; next }
  /^```/ && inblock { inblock = 0; close(file); next }
  inblock { print >> file }
' README.md
status=0
for block in "$work"/block*.cpp; do
  [ -e "$block" ] || { echo "FAIL no cpp block in README.md"; exit 1; }
  src=$block.full.cpp
  if grep -q 'int main(' "$block"; then
    cp "$block" "$src"
  else
    { echo '#include <syncmgr/syncmgr.hpp>'
      echo '#include <cstdio>'
      echo '#include <iostream>'
      echo '#include <mutex>'
      echo 'void readme_snippet() {'
      cat "$block"
      echo '}'; } >"$src"
  fi
  first=$(grep -m1 -v '^\s*$' "$block")
  if "$cxx" -std=c++20 -fsyntax-only -Wall -Wextra -Werror -Wno-unused-variable \
    -Wno-unused-but-set-variable -DMSGPACK_NO_BOOST -Iinclude "$src" 2>"$work/err"; then
    echo "ok   README block: $first"
  else
    echo "FAIL README block: $first"
    cat "$work/err"
    status=1
  fi
done
exit "$status"
