# The two commands of the README: `make demo` and `make test`.
# Both run scripts/setup (fast when nothing is missing) and build first.
# With CI set the build is the `ci` preset: the asan build (ASan + UBSan,
# -O0) in build/, so CI runs the whole suite under the sanitizers.
PRESET := $(if $(CI),ci,dev)
BUILD  := build
WIRELAB := $(BUILD)/app/wirelab
JOBS   ?= $(shell nproc)
# Labs run learners' scripts with Debian's python3, where scripts/setup
# installs requests; set WIRELAB_PYTHON to use another interpreter.
export WIRELAB_PYTHON ?= $(shell test -x /usr/bin/python3 && echo /usr/bin/python3 || echo python3)

.PHONY: all setup configure build test demo unit bench fuzz clean

all: build

setup:
	@scripts/setup

configure: setup
	@cmake --preset $(PRESET) >/dev/null

build: configure
	@cmake --build $(BUILD) -j $(JOBS)

test: build
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

unit: build
	@cd $(BUILD) && ctest --output-on-failure -L unit

demo: build
	@echo "== wirelab check rest-cars labs/rest-cars/solution.py (the reference solution)"
	@$(WIRELAB) check rest-cars labs/rest-cars/solution.py --ephemeral; \
	 echo "== wirelab check rest-cars labs/rest-cars/mistakes/no_content_type.py (a typical mistake)"; \
	 $(WIRELAB) check rest-cars labs/rest-cars/mistakes/no_content_type.py --ephemeral; \
	 test $$? -eq 1

# Benchmarks (bench/README.md): a release build, never part of `make test`.
bench: setup
	@bench/setup
	@cmake --preset release >/dev/null
	@cmake --build build-release -j $(JOBS)
	@PATH="$$PATH:/usr/sbin" bench/peers.py --wirelab build-release/app/wirelab --out bench/RESULTS.md
	@bench/fault_layer.py --wirelab build-release/app/wirelab
	@bench/classroom.py --wirelab build-release/app/wirelab --append bench/RESULTS.md
	@bench/databases.py --wirelab build-release/app/wirelab --append bench/RESULTS.md

# Fuzzing (tests/fuzz): each libFuzzer target for FUZZ_SECONDS, starting
# from the committed corpus; a crash stops with the input in build-fuzz/.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := resp pg lab frames device restconf auth
fuzz:
	@FUZZ=1 scripts/setup
	@cmake --preset fuzz >/dev/null
	@cmake --build build-fuzz -j $(JOBS) $(foreach t,$(FUZZ_TARGETS),--target fuzz_$(t))
	@for t in $(FUZZ_TARGETS); do \
	  mkdir -p build-fuzz/corpus-$$t; \
	  echo "== fuzz_$$t for $(FUZZ_SECONDS) s"; \
	  build-fuzz/tests/fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	    -artifact_prefix=build-fuzz/crash-$$t- build-fuzz/corpus-$$t tests/fuzz/corpus/$$t || exit 1; \
	done

clean:
	rm -rf $(BUILD) build-release build-fuzz
