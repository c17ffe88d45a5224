# ota32: the top-level entry points. CMake does the building; this file wraps
# it so the documented commands work from a fresh clone.
#
#   make            build the `ota32` tool (build/release/ota32)
#   make demo       the end-to-end update on the virtual ESP32
#   make test       the whole test suite, under ASan + UBSan (what CI runs)
#   make bench      benchmarks (prints ratios against reference tools)

RELEASE_DIR := build/release
TEST_DIR    := build/test
OTA32       := $(RELEASE_DIR)/ota32
JOBS        ?= $(shell nproc 2>/dev/null || echo 2)

.PHONY: all deps release test demo bench fuzz clean

all: release

deps:
	@scripts/install-deps.sh --check >/dev/null 2>&1 || scripts/install-deps.sh

release: deps
	@cmake -S . -B $(RELEASE_DIR) -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build $(RELEASE_DIR) -j $(JOBS)

# Warnings as errors in both compilers: gcc for the release build, clang with
# the sanitizers and libFuzzer for the test build.
test: release
	@cmake -S . -B $(TEST_DIR) -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug \
	    -DOTA32_SANITIZE=ON -DOTA32_FUZZ=ON >/dev/null
	@cmake --build $(TEST_DIR) -j $(JOBS)
	@cd $(TEST_DIR) && ctest --output-on-failure -j $(JOBS)

demo: release
	@scripts/demo.sh $(OTA32)

bench: release
	@for b in bench/*.sh; do bash $$b $(OTA32) || exit 1; done

clean:
	rm -rf build
