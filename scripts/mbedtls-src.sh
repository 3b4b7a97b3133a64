#!/usr/bin/env bash
# Fetches Debian's mbedTLS source package once (apt-get source: the archive's signed Sources index
# vouches for the tarball, Debian's patches are applied) into a cache outside the repository and
# prints the unpacked source directory. The cross build (cmake/target.cmake) compiles it for the
# target with cmake/mbedtls-config-otakit.h.
#   scripts/mbedtls-src.sh            prints e.g. ~/.cache/otakit/mbedtls/mbedtls-2.28.3
#   OTAKIT_CACHE=DIR                  cache directory (default ${XDG_CACHE_HOME:-~/.cache}/otakit,
#                                     or build/_deps here, which .gitignore covers, if not writable)
set -euo pipefail
cache=${OTAKIT_CACHE:-${XDG_CACHE_HOME:-${HOME:-/nonexistent}/.cache}/otakit}
mkdir -p "$cache" 2>/dev/null && [[ -w $cache ]] || cache=$(cd "$(dirname "$0")/.." && pwd)/build/_deps
cache=$cache/mbedtls
# A tree already fetched for the host's libmbedtls-dev version is reused (host and target then run
# the same mbedTLS; apt-get source fetches the version the archive offers for it).
ver=$(dpkg-query -W -f='${source:Upstream-Version}' libmbedtls-dev 2>/dev/null || true)
if [[ -n $ver && -f $cache/mbedtls-$ver/include/mbedtls/version.h ]]; then
  echo "$cache/mbedtls-$ver"; exit 0
fi

sudo=()
[[ $(id -u) -ne 0 ]] && sudo=(sudo)
# dpkg-source (dpkg-dev) unpacks the package and applies Debian's patches.
dpkg-query -W -f='${Status}' dpkg-dev 2>/dev/null | grep -q 'install ok installed' ||
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends dpkg-dev >/dev/null
# apt-get source needs a deb-src entry: one for the same archive and suites as the deb entries.
if ! apt-get source --print-uris mbedtls >/dev/null 2>&1; then
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
(cd "$tmp" && apt-get source -qq -o APT::Sandbox::User=root mbedtls >/dev/null) ||
  { echo "mbedtls-src: apt-get source mbedtls failed" >&2; exit 1; }
dir=$(find "$tmp" -mindepth 1 -maxdepth 1 -type d -name 'mbedtls-*' | head -1)
[[ -f $dir/include/mbedtls/version.h ]] || { echo "mbedtls-src: no mbedTLS tree in $tmp" >&2; exit 1; }
name=$(basename "$dir")
name=${name%%+*}                       # mbedtls-2.28.3(+dfsg...) -> mbedtls-2.28.3
rm -rf "${cache:?}/$name"
mv "$dir" "$cache/$name"
echo "$cache/$name"
