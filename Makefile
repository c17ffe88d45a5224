# ota32: the top-level entry points. CMake does the building; this file wraps
# it so the documented commands work from a fresh clone.
#
#   make            build the `ota32` tool (build/release/ota32)
#   make demo       the end-to-end update on the virtual ESP32
#   make test       the whole test suite, under ASan + UBSan (what CI runs); the
#                   interop tests need OTA32_INTEROP_DIR (default ../shared), see tests/README.md
#   make bench      benchmarks (prints ratios against reference tools)
#   make install    the tool, its man page and bash completion under PREFIX
#                   (default /usr/local; e.g. make install PREFIX=$HOME/.local)
#
# The ESP32 workflow (see README):
#   make build-esp32-ota   the app image to host (fails if larger than the smallest ota slot)
#   make build-esp32-bin   the merged image: bootloader + partition table + otadata + app
#   make flash-esp32-bin   write it to the virtual ESP32 (DEV=...), or a board (PORT=/dev/ttyUSB0)
#   make serve-dev-ota     build the app image and serve it over HTTP/2 on the LAN
# Settings: PARTITIONS=partitions.csv FLASH_SIZE=8MB IDF_BUILD=path APP=app.bin
#           BOOTLOADER=bootloader.bin VERSION=tag APP_VERSION=v CHIP=esp32
#           DEV=build/esp32/device.flash OUT=build/esp32 PORT= SERVE_PORT=3001
#           SIGN_KEY=key.pem (Secure Boot v2 signing: see docs/signing.md)
# Values may hold spaces and quotes (VERSION="release 2", paths with spaces).

SHELL       := /bin/bash
.SHELLFLAGS := -o pipefail -c

RELEASE_DIR := build/release
TEST_DIR    := build/test
OTA32       := $(RELEASE_DIR)/ota32
JOBS        ?= $(shell nproc 2>/dev/null || echo 2)

.PHONY: all deps release test demo bench install clean \
        build-esp32-ota build-esp32-bin flash-esp32-bin serve-dev-ota

all: release

deps:
	@scripts/install-deps.sh --check >/dev/null 2>&1 || scripts/install-deps.sh

release: deps
	@cmake -S . -B $(RELEASE_DIR) -DCMAKE_BUILD_TYPE=Release -DCMAKE_RULE_MESSAGES=OFF >/dev/null
	@cmake --build $(RELEASE_DIR) -j $(JOBS) --target ota32 -- --no-print-directory -s \
	    | { grep -v 'Built target' || true; }

# Warnings as errors in both compilers: gcc for the release build, clang with
# the sanitizers and libFuzzer for the test build.
test: release
	@cmake -S . -B $(TEST_DIR) -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug \
	    -DOTA32_SANITIZE=ON -DOTA32_FUZZ=ON >/dev/null
	@cmake --build $(TEST_DIR) -j $(JOBS)
	@cd $(TEST_DIR) && { ctest --output-on-failure -j $(JOBS); rc=$$?; \
	    bash $(CURDIR)/tests/lib/skipped.sh Testing/Temporary/LastTest.log; exit $$rc; }

PREFIX ?= /usr/local

# The man page and completion are written from the option tables at build time.
install: release
	@cmake --build $(RELEASE_DIR) -j $(JOBS) --target ota32_docs -- --no-print-directory -s \
	    | { grep -v 'Built target' || true; }
	@cmake --install $(RELEASE_DIR) --prefix "$(PREFIX)"

demo: release
	@scripts/demo.sh $(OTA32)

bench: release
	@for b in bench/*.sh; do bash $$b $(OTA32) || exit 1; done

# A make value as one shell word: in single quotes, each ' as '\''.
shq = '$(subst ','\'',$(1))'
ESP32_SETTINGS := OTA32 PARTITIONS FLASH_SIZE IDF_BUILD APP BOOTLOADER VERSION APP_VERSION \
                  CHIP DEV OUT PORT SERVE_PORT SIGN_KEY
ESP32_ENV = $(foreach v,$(ESP32_SETTINGS),$(v)=$(call shq,$($(v))))
PARTITIONS ?= partitions.csv
FLASH_SIZE ?= 8MB

build-esp32-ota: release
	@$(ESP32_ENV) scripts/esp32.sh build-ota

build-esp32-bin: release
	@$(ESP32_ENV) scripts/esp32.sh build-bin

flash-esp32-bin: release
	@$(ESP32_ENV) scripts/esp32.sh flash

serve-dev-ota: release
	@$(ESP32_ENV) scripts/esp32.sh serve

clean:
	rm -rf build
