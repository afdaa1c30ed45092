# The two commands a newcomer needs: `make run` and `make test`. Everything else is a step of those.
BUILD_DIR ?= build
BUILD_TYPE ?= RelWithDebInfo
CONFIG ?=
JOBS ?= $(shell nproc)

.PHONY: all deps deps-test build run test unit integration bench clean

all: build

deps:
	@scripts/deps.sh build

deps-test:
	@scripts/deps.sh test
	@cd tests && { [ -d node_modules ] && [ node_modules/.package-lock.json -nt package-lock.json ] || npm ci --no-audit --no-fund --loglevel=error; }
	@cd tests/e2e && { [ -d node_modules ] && [ node_modules/.package-lock.json -nt package-lock.json ] || npm ci --no-audit --no-fund --loglevel=error; }

$(BUILD_DIR)/build.ninja:
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE)

build: deps $(BUILD_DIR)/build.ninja
	cmake --build $(BUILD_DIR) -j $(JOBS)

# Starts the gateway on its embedded defaults (SQLite store under ./data, in-process limits,
# the offline `demo` model). Pass CONFIG=tollgate.yaml to use a process config file.
run: build
	./$(BUILD_DIR)/tollgate serve $(if $(CONFIG),--config $(CONFIG),)

unit: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS)

integration: build deps-test
	cd tests && TOLLGATE_BIN=$(abspath $(BUILD_DIR)/tollgate) node --test --test-concurrency=1 integration/

test: deps-test build
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS)
	cd tests && TOLLGATE_BIN=$(abspath $(BUILD_DIR)/tollgate) node --test --test-concurrency=1 integration/ e2e/

bench: build
	@scripts/deps.sh bench
	bench/run.sh

clean:
	rm -rf $(BUILD_DIR)
