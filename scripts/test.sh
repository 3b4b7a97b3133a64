#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs missing Debian packages, builds twice
# (gcc with -Werror; clang with AddressSanitizer + UndefinedBehaviorSanitizer + libFuzzer),
# and runs every test under the sanitizers with ctest.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
jobs=$(nproc 2>/dev/null || echo 2)

bash scripts/deps.sh

echo "==> gcc build (-Wall -Wextra -Werror)"
cmake -S . -B build/gcc -DCMAKE_C_COMPILER=gcc -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/gcc -j"$jobs" >/dev/null

echo "==> clang build with ASan + UBSan + libFuzzer"
cmake -S . -B build/test -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug -DSANITIZE=ON -DFUZZ=ON >/dev/null
cmake --build build/test -j"$jobs" >/dev/null

echo "==> tests"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
ctest --test-dir build/test --output-on-failure -j"$jobs"
