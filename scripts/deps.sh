#!/usr/bin/env bash
# Installs the Debian packages otakit needs to build, test and run, and nothing else.
# Idempotent and quiet: packages already present are skipped; apt-get runs only when something is missing.
#   scripts/deps.sh            everything (build, tests, cross-compile check)
#   scripts/deps.sh --build    only what `make run` needs
#   scripts/deps.sh --bench    what `make run` needs plus the benchmark references (nginx, wrk)
set -euo pipefail

build_pkgs=(build-essential cmake pkg-config libmbedtls-dev openssl libmicrohttpd-dev libsqlite3-dev
            libjansson-dev libcurl4-openssl-dev curl sqlite3)
test_pkgs=(clang libclang-rt-14-dev llvm libcmocka-dev gcc-arm-none-eabi libnewlib-arm-none-eabi
           dpkg-dev
           python3 python3-cryptography python3-yaml xxd
           swupdate cpio)

bench_pkgs=(nginx-light wrk python3)
want=("${build_pkgs[@]}")
case ${1:-} in
  --build) ;;
  --bench) want+=("${bench_pkgs[@]}") ;;
  *) want+=("${test_pkgs[@]}") ;;
esac

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

echo "otakit: installing missing Debian packages: ${missing[*]}"
sudo=()
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "otakit: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
  sudo=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
# Refresh the package lists first only when apt knows no candidate for something we need; if the
# install still fails (stale lists point at versions the mirror no longer has), refresh and retry.
install() { "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; }
if apt-cache policy "${missing[@]}" 2>/dev/null | grep -q 'Candidate: (none)' ||
   [[ $(apt-cache policy "${missing[@]}" 2>/dev/null | grep -c 'Candidate:') -lt ${#missing[@]} ]]; then
  "${sudo[@]}" apt-get update -qq
fi
install || { "${sudo[@]}" apt-get update -qq && install; }
