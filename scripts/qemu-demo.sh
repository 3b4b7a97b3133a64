#!/usr/bin/env bash
# The MPS2 AN385 (Cortex-M3) port under QEMU, as a demo: builds otakit and otakit-server for the host
# and the bootloader and application for the board, starts otakit-server on loopback, then boots a
# board on 1.0.0, updates it to 1.1.0 over QEMU's isolated user network, and watches a 1.3.0 that
# crashes once running get rolled back by the bootloader. The board's console is printed as it runs.
#   scripts/qemu-demo.sh [STEPS]      STEPS: tests/qemu/test_mps2.py steps (default boot,update,crash)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash scripts/deps.sh
jobs=$(nproc 2>/dev/null || echo 2)
echo "==> host build (otakit, otakit-server): build/release"
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/release -j"$jobs" --target otakit otakit-server >/dev/null
echo "==> board build (Cortex-M3 -Os: bootloader, application, lwIP, mbedTLS): build/mps2"
cmake -S . -B build/mps2 -DCMAKE_TOOLCHAIN_FILE=cmake/arm-none-eabi-cortex-m3.cmake -DCMAKE_BUILD_TYPE=MinSizeRel >/dev/null
cmake --build build/mps2 -j"$jobs" --target otakit_mps2_boot otakit_mps2_app otakit_mps2_app_crash >/dev/null
arm-none-eabi-size build/mps2/ports/mps2-an385/otakit_mps2_boot.elf build/mps2/ports/mps2-an385/otakit_mps2_app.elf
echo "==> the board under qemu-system-arm -M mps2-an385 (work dir: demo/qemu)"
exec python3 tests/qemu/test_mps2.py --build build/mps2 --otakit build/release/tools/otakit \
  --server build/release/server/otakit-server --key tests/vectors/imgtool/ec256-key.pem \
  --pub tests/vectors/imgtool/ec256-pub.pem --work "$root/demo/qemu" --only "${1:-boot,update,crash}" --echo
