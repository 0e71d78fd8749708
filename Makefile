# SPDX-License-Identifier: Apache-2.0
# Thin wrapper over CMake for the two README commands:
#   sudo make demo    install what is missing, build, run the switch with two hosts pinging
#   sudo make check   install what is missing, build, run every test layer
BUILD ?= build
FUZZ_BUILD ?= build-fuzz
VALGRIND_BUILD ?= build-valgrind
JOBS ?= $(shell nproc)

.PHONY: all deps deps-test build demo check unit lint integration fuzz bench install clean

all: build

deps:
	bash .ci/install-deps

deps-test:
	bash .ci/install-deps --test

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DVSWITCH_WERROR=ON

build: $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j$(JOBS)

demo: deps build
	bash tests/demo.sh $(BUILD)

check: deps-test build
	bash tests/run-tests $(BUILD) $(FUZZ_BUILD) $(VALGRIND_BUILD)

unit: build
	cd $(BUILD) && ctest -L unit -j$(JOBS) --output-on-failure

lint:
	bash tests/lint.sh

integration: build
	cd $(BUILD) && ctest -L integration --output-on-failure

fuzz:
	CC=clang cmake -S . -B $(FUZZ_BUILD) -DVSWITCH_FUZZ=ON -DVSWITCH_TESTS=OFF
	cmake --build $(FUZZ_BUILD) -j$(JOBS)
	cd $(FUZZ_BUILD) && ctest -L fuzz --output-on-failure

bench: build
	bash tests/bench/run

install: build
	cmake --install $(BUILD)

clean:
	rm -rf $(BUILD) $(FUZZ_BUILD) $(VALGRIND_BUILD)
