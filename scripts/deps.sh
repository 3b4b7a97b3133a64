#!/usr/bin/env bash
# Installs the Debian packages otakit needs to build, test and run, and nothing else.
# Idempotent and quiet: packages already present are skipped; apt-get runs only when something is missing.
#   scripts/deps.sh            everything (build, tests, cross-compile check, the dashboard's browser
#                              test: Debian's chromium, Node.js, and playwright-core from npm)
#   scripts/deps.sh --build    only what `make run` needs
#   scripts/deps.sh --bench    what `make run` needs plus the benchmark references (nginx, wrk)
set -euo pipefail

build_pkgs=(build-essential cmake pkg-config libmbedtls-dev openssl libmicrohttpd-dev libsqlite3-dev
            libjansson-dev libcurl4-openssl-dev curl sqlite3 libmosquitto-dev libdivsufsort-dev libpq-dev)
test_pkgs=(clang libclang-rt-14-dev llvm libcmocka-dev gcc-arm-none-eabi libnewlib-arm-none-eabi
           dpkg-dev qemu-system-arm netcat-openbsd
           python3 python3-cryptography python3-yaml xxd chromium
           swupdate cpio mosquitto python3-paho-mqtt bsdiff nginx-light postgresql python3-psycopg2)

bench_pkgs=(nginx-light wrk python3 bsdiff)
want=("${build_pkgs[@]}")
case ${1:-} in
  --build) ;;
  --bench) want+=("${bench_pkgs[@]}") ;;
  *) want+=("${test_pkgs[@]}") ;;
esac

# Node.js: any install will do (Debian's nodejs + npm when there is none).
if [[ ${1:-} != --build && ${1:-} != --bench ]] && ! command -v npm >/dev/null; then
  want+=(nodejs npm)
fi
root=$(cd "$(dirname "$0")/.." && pwd)
# The browser test's npm packages, exactly as package-lock.json pins them (no browser download:
# playwright-core drives Debian's /usr/bin/chromium). Runs when missing or when the lock changed.
npm_deps() {
  [[ ${1:-} == --build || ${1:-} == --bench ]] && return 0
  local d=$root/tests/dashboard
  [[ -f $d/node_modules/.package-lock.json && ! $d/package-lock.json -nt $d/node_modules/.package-lock.json ]] &&
    return 0
  echo "otakit: installing the dashboard test's npm packages (tests/dashboard/package-lock.json)"
  (cd "$d" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
}

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [[ ${#missing[@]} -eq 0 ]]; then npm_deps "${1:-}"; exit 0; fi

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
npm_deps "${1:-}"
