# A thin wrapper over meson: the targets people type, and `make deps` for a
# fresh Debian/Ubuntu machine. Every build lives in its own directory so that
# the plain, sanitizer and fuzz builds never share objects.

BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
BENCH_BUILD ?= build-bench
FUZZ_SECONDS ?= 60
PREFIX     ?= /usr/local

DEPS = meson ninja-build pkg-config gcc clang libclang-rt-dev \
       libjansson-dev libcurl4-openssl-dev libmicrohttpd-dev libyaml-dev \
       libglpk-dev libcmocka-dev libssl-dev libgnutls28-dev libjemalloc-dev

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: all deps deps-browser test test-device asan bench bench-scale fuzz clean demo install soak

all: $(BUILD)/build.ninja
	ninja -C $(BUILD)

$(BUILD)/build.ninja:
	meson setup $(BUILD) --buildtype=debugoptimized -Dwerror=true

# Idempotent: apt-get skips what is already installed.
deps:
	$(SUDO) apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $(DEPS)

# Debian's Chromium, for the tests that check a page in a real browser
# (they skip without it); CI installs it, a user need not.
deps-browser:
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends chromium

test: all
	meson test -C $(BUILD) --no-rebuild --print-errorlogs --suite unit --suite integration
	@scripts/test-summary $(BUILD)

# The kill harness at scale (not in CI): 10,000 pods in Jobs, two controller
# replicas, four agents, SIGKILLs throughout (tests/cmd/test_kill.py).
# SOAK_KEEP_WARM=3s runs it with the namespace keeping slices warm.
SOAK_SEED ?= 1
SOAK_KEEP_WARM ?=
soak: all
	python3 tests/cmd/test_kill.py $(BUILD)/src/cmd/gpuslice --seed $(SOAK_SEED) --nodes 4 \
	    --rounds 100 --jobs-per-round 2 --completions 50 --api-kills 2 --settle-s 3600 \
	    $(if $(SOAK_KEEP_WARM),--keep-warm $(SOAK_KEEP_WARM))

# The nvml backend on this machine's real GPU (tests/device): says SKIP, and
# why, where there is no NVIDIA driver or no GPU. Never changes MIG mode.
test-device: all
	meson test -C $(BUILD) --no-rebuild --print-errorlogs --suite device --verbose

asan:
	[ -f $(ASAN_BUILD)/build.ninja ] || meson setup $(ASAN_BUILD) --buildtype=debug \
	    -Dwerror=true -Db_sanitize=address,undefined -Db_lundef=false
	ninja -C $(ASAN_BUILD)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	    meson test -C $(ASAN_BUILD) --no-rebuild --print-errorlogs --timeout-multiplier 3 \
	    --suite unit --suite integration
	@scripts/test-summary $(ASAN_BUILD)

# Benchmarks build optimised in their own directory; results are printed and
# kept under bench/out/ (the numbers quoted in notes come from there).
bench:
	[ -f $(BENCH_BUILD)/build.ninja ] || meson setup $(BENCH_BUILD) --buildtype=release -Dwerror=true
	ninja -C $(BENCH_BUILD)
	mkdir -p bench/out
	meson test -C $(BENCH_BUILD) --no-rebuild --benchmark --verbose --timeout-multiplier 0 \
	    > bench/out/latest.txt 2>&1; status=$$?; cat bench/out/latest.txt; exit $$status

# The simulator's scale run (samples/sim/$(SCALE), not part of `make bench`:
# minutes): wall time, speedup and peak memory.
SCALE ?= scale-1m.yaml
bench-scale:
	[ -f $(BENCH_BUILD)/build.ninja ] || meson setup $(BENCH_BUILD) --buildtype=release -Dwerror=true
	ninja -C $(BENCH_BUILD) bench/bench_sim
	$(BENCH_BUILD)/bench/bench_sim samples/sim $(SCALE)

fuzz:
	[ -f $(FUZZ_BUILD)/build.ninja ] || CC=clang meson setup $(FUZZ_BUILD) --buildtype=debugoptimized \
	    -Dfuzz=true -Db_lundef=false
	ninja -C $(FUZZ_BUILD)
	FUZZ_SECONDS=$(FUZZ_SECONDS) scripts/run-fuzzers $(FUZZ_BUILD)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD) $(BENCH_BUILD)

# meson's install of the plain build: PREFIX/bin/gpuslice (and the kubectl
# plugin link PREFIX/bin/kubectl-gpuslice to it), which needs no
# other file (the CRDs and the demo's manifests are built in). DESTDIR, when
# set, is honoured by meson for staged installs.
install: all
	meson configure $(BUILD) --prefix=$(abspath $(PREFIX))
	meson install -C $(BUILD)

# The main job of the quick start: the demo on the embedded cluster.
demo: all
	$(BUILD)/src/cmd/gpuslice demo
