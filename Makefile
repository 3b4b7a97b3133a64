# Conveniences over the scripts; the scripts are the source of truth (they need only bash).
.PHONY: run test build cross powercut wear qemu clean
run:
	bash scripts/run.sh
test:
	bash scripts/test.sh
build:
	cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release && cmake --build build/release -j
cross:
	bash scripts/cross-check.sh
# The power-cut harness on the full matrix (or ARGS="--layout NAME --ws 8 ..."); slow: minutes.
powercut:
	bash scripts/deps.sh
	cmake -S . -B build/powercut -DCMAKE_BUILD_TYPE=Release >/dev/null && cmake --build build/powercut -j --target powercut
	build/powercut/tests/power/powercut $(ARGS)
wear:
	bash bench/wear.sh
# The Cortex-M3 port under QEMU: boot 1.0.0, update to 1.1.0 from otakit-server, a crashing 1.3.0 rolled back.
qemu:
	bash scripts/qemu-demo.sh
clean:
	rm -rf build demo
