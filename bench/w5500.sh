#!/usr/bin/env bash
# The W5500 route's figures: bench/agent.sh sections 1 (plain sockets, the reference) and 1b (the
# same update over ports/w5500 on the emulator), in one run against one otakit-server.
#   bench/w5500.sh [IMAGE_BYTES]      (default 1048576)
exec bash "$(dirname "$0")/agent.sh" "${1:-1048576}" w5500
