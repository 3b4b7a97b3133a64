#!/usr/bin/env bash
# Prints the directory of Debian's mbedTLS source (fetched once by scripts/deb-src.sh), for the
# cross build (cmake/target.cmake, with cmake/mbedtls-config-otakit.h). The version is the host's
# libmbedtls-dev's when a tree of it is cached.
exec bash "$(dirname "$0")/deb-src.sh" mbedtls include/mbedtls/version.h libmbedtls-dev
