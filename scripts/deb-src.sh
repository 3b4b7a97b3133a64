#!/usr/bin/env bash
# Fetches a Debian source package once (apt-get source: the archive's signed Sources index vouches
# for the tarball, Debian's patches are applied) into a cache outside the repository and prints the
# unpacked source directory. The cross build (cmake/target.cmake) compiles mbedTLS (with
# cmake/mbedtls-config-otakit.h) and lwIP (ports/mps2-an385/lwipopts.h) for the target.
#   scripts/deb-src.sh PACKAGE FILE BINARY   FILE: a path inside the tree that proves it unpacked;
#                                            BINARY: the binary package whose installed version
#                                            picks a tree already fetched (may be absent)
#   scripts/mbedtls-src.sh, scripts/lwip-src.sh   the two the build uses
#   OTAKIT_CACHE=DIR    cache directory (default ${XDG_CACHE_HOME:-~/.cache}/otakit, or build/_deps
#                       here, which .gitignore covers, if not writable)
set -euo pipefail
pkg=$1 probe=$2 bin=${3:-}
cache=${OTAKIT_CACHE:-${XDG_CACHE_HOME:-${HOME:-/nonexistent}/.cache}/otakit}
mkdir -p "$cache" 2>/dev/null && [[ -w $cache ]] || cache=$(cd "$(dirname "$0")/.." && pwd)/build/_deps
cache=$cache/$pkg
# A tree already fetched for the installed binary package's version is reused (host and target
# then run the same code; apt-get source fetches the version the archive offers for it); with no
# such package, any tree already fetched.
ver=$([[ -n $bin ]] && dpkg-query -W -f='${source:Upstream-Version}' "$bin" 2>/dev/null || true)
ver=${ver%%+*}
if [[ -n $ver && -f $cache/$pkg-$ver/$probe ]]; then
  echo "$cache/$pkg-$ver"; exit 0
fi
if [[ -z $ver ]]; then
  for d in "$cache/$pkg"-*; do
    [[ -f $d/$probe ]] && { echo "$d"; exit 0; }
  done
fi

sudo=()
[[ $(id -u) -ne 0 ]] && sudo=(sudo)
# dpkg-source (dpkg-dev) unpacks the package and applies Debian's patches.
dpkg-query -W -f='${Status}' dpkg-dev 2>/dev/null | grep -q 'install ok installed' ||
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends dpkg-dev >/dev/null
# apt-get source needs a deb-src entry: one for the same archive and suites as the deb entries.
if ! apt-get source --print-uris "$pkg" >/dev/null 2>&1; then
  src=/etc/apt/sources.list.d/otakit-deb-src.sources
  # deb822 stanzas are separated by blank lines: keep them, drop the comments.
  sed -e '/^#/d' -e 's/^Types:.*/Types: deb-src/' /etc/apt/sources.list.d/debian.sources \
    > /tmp/otakit-deb-src.$$ 2>/dev/null || true
  if [[ ! -s /tmp/otakit-deb-src.$$ ]]; then  # classic one-line sources.list
    codename=$(. /etc/os-release && echo "$VERSION_CODENAME")
    echo "Types: deb-src
URIs: http://deb.debian.org/debian
Suites: $codename
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg" > /tmp/otakit-deb-src.$$
  fi
  "${sudo[@]}" install -m 644 /tmp/otakit-deb-src.$$ "$src"
  rm -f /tmp/otakit-deb-src.$$
  "${sudo[@]}" apt-get update -qq
fi

mkdir -p "$cache"
tmp=$(mktemp -d "$cache/fetch.XXXXXX")
chmod 755 "$tmp"   # apt downloads as _apt when it can
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && apt-get source -qq -o APT::Sandbox::User=root "$pkg" >/dev/null) ||
  { echo "deb-src: apt-get source $pkg failed" >&2; exit 1; }
dir=$(find "$tmp" -mindepth 1 -maxdepth 1 -type d -name "$pkg-*" | head -1)
[[ -f $dir/$probe ]] || { echo "deb-src: no $pkg tree in $tmp" >&2; exit 1; }
name=$(basename "$dir")
name=${name%%+*}                       # mbedtls-2.28.3(+dfsg...) -> mbedtls-2.28.3
rm -rf "${cache:?}/$name"
mv "$dir" "$cache/$name"
echo "$cache/$name"
