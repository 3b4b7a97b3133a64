# Conveniences over the scripts; the scripts are the source of truth (they need only bash).
.PHONY: run test build cross clean
run:
	bash scripts/run.sh
test:
	bash scripts/test.sh
build:
	cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release && cmake --build build/release -j
cross:
	bash scripts/cross-check.sh
clean:
	rm -rf build demo
