# The two set-up commands of the README:
#   make demo   install dependencies, build, run stmlens on the bundled example scan
#   make test   install dependencies, build, run every test
BUILD ?= build
JOBS  ?= $(shell nproc)

.PHONY: all bootstrap configure build demo test sanitize fuzz clean

all: build

bootstrap:
	./scripts/bootstrap

configure: bootstrap
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release

build: configure
	cmake --build $(BUILD) -j $(JOBS)

demo: build
	./scripts/demo $(BUILD)

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

# Tests under AddressSanitizer + UndefinedBehaviorSanitizer (separate build tree).
sanitize: bootstrap
	cmake -S . -B build-sanitize -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSTMLENS_SANITIZE=ON -DSTMLENS_BENCH=OFF
	cmake --build build-sanitize -j $(JOBS)
	cd build-sanitize && ASAN_OPTIONS=detect_leaks=0 ctest --output-on-failure -j $(JOBS)

# libFuzzer targets, one per reader (needs clang from Debian).
fuzz: bootstrap
	./scripts/fuzz

clean:
	rm -rf $(BUILD) build-sanitize build-fuzz demo-output
