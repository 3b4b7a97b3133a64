#!/usr/bin/env bash
# Prints the directory of Debian's lwIP source (fetched once by scripts/deb-src.sh), for the
# MPS2 AN385 application (ports/mps2-an385/, configured by its lwipopts.h).
exec bash "$(dirname "$0")/deb-src.sh" lwip src/include/lwip/init.h liblwip-dev
