# The two commands a newcomer needs: `make run` and `make test`. Everything else is a step of those.
BUILD_DIR ?= build
BUILD_TYPE ?= RelWithDebInfo
CONFIG ?=
JOBS ?= $(shell nproc)

.PHONY: all deps deps-test build run test unit integration sanitize fuzz bench clean

# A timestamped line before each stage of `make test`: the CI log's map of where the time goes.
stage = @echo "== $$(date -u +%T) $(1)"

all: build

deps:
	@scripts/deps.sh build

# tests/ and each folder of it with a package.json of its own (e2e, the agent clients, MCP):
# installed once, reused while the lock file is unchanged.
TEST_PACKAGES := $(patsubst %/package.json,%,$(wildcard tests/package.json tests/*/package.json))
# The node suites: every folder of tests/ that holds *.test.mjs files.
SUITES := $(sort $(patsubst tests/%/,%,$(dir $(wildcard tests/*/*.test.mjs))))

deps-test:
	$(call stage,test dependencies)
	@scripts/deps.sh test
	@for d in $(TEST_PACKAGES); do \
	  (cd $$d && { [ -d node_modules ] && [ node_modules/.package-lock.json -nt package-lock.json ] || npm ci --no-audit --no-fund --loglevel=error; }) || exit 1; \
	done

$(BUILD_DIR)/build.ninja:
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE)

build: deps $(BUILD_DIR)/build.ninja
	$(call stage,build)
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
	$(call stage,unit tests)
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS)
	$(call stage,node suites: $(SUITES))
	cd tests && TOLLGATE_BIN=$(abspath $(BUILD_DIR)/tollgate) node --test --test-concurrency=1 $(addsuffix /,$(SUITES))
	$(MAKE) fuzz
	$(MAKE) sanitize
	$(call stage,make test passed)

# The same code under AddressSanitizer + UndefinedBehaviorSanitizer: the unit tests and the
# core integration suites against the sanitized binary (any report fails the run).
SAN_DIR ?= build-asan
# Line tables (-g1) are all a sanitizer's report needs.
sanitize: deps-test
	$(call stage,sanitized build)
	cmake -S . -B $(SAN_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DTOLLGATE_SANITIZE=ON -DCMAKE_CXX_FLAGS_DEBUG=-g1
	cmake --build $(SAN_DIR) -j $(JOBS)
	$(call stage,sanitized unit and integration tests)
	cd $(SAN_DIR) && UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 ctest --output-on-failure -j $(JOBS)
	cd tests && ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	  TOLLGATE_BIN=$(abspath $(SAN_DIR)/tollgate) node --test --test-concurrency=1 \
	  integration/chat.test.mjs integration/errors.test.mjs integration/streaming.test.mjs \
	  integration/anthropic.test.mjs integration/guardrails.test.mjs

# A bounded libFuzzer run over the parsers (SSE, OpenAI, Responses and Anthropic requests, Gemini
# streams, raw HTTP requests as the listener reads them, MCP JSON-RPC messages and streams, the
# resources file `tollgate apply` reads and the snapshot cache a postgres replica may start from) and
# the guardrails (a streamed answer must be redacted exactly as the whole one); a crash fails it.
# FUZZ_SECONDS seconds per target; FUZZ_SECONDS=300 make fuzz for a longer run,
# FUZZ_TARGETS=guardrails for one target.
FUZZ_SECONDS ?= 15
FUZZ_TARGETS ?= sse openai_request anthropic_request gemini_stream gemini_request guardrails http_request responses_request mcp_message cache_entry schema_check schema_yaml resources_file
fuzz: deps-test
	$(call stage,fuzz)
	FUZZ_SECONDS=$(FUZZ_SECONDS) fuzz/run.sh $(FUZZ_TARGETS)

bench: build
	@scripts/deps.sh bench
	cmake --build $(BUILD_DIR) --target usage_store_bench
	bench/run.sh

clean:
	rm -rf $(BUILD_DIR)
