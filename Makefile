# flowsift — see README.md. Every target works on a fresh machine.
GO       ?= go
BIN      := bin/flowsift
FUZZTIME ?= 30s
PKGS     := ./...

.PHONY: all build demo test bench fuzz lint examples clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/flowsift

# The main job on the bundled examples, no database.
demo: build
	@scripts/demo.sh $(BIN)

# Everything: unit, golden, sample, fuzz-seed and integration tests. The
# integration tests start their own throwaway clickhouse-server, capture live
# traffic between network namespaces (iproute2, tcpreplay) and render HTML
# reports in headless Chromium; Debian's packages are installed here when
# missing.
TEST_DEPS := clickhouse-server clickhouse-client iproute2 tcpreplay libpcap-dev chromium
test:
	@scripts/install-deps.sh $(TEST_DEPS)
	$(GO) test -count=1 $(PKGS)

# Hot-path benchmarks side by side with their baselines (see scripts/bench.sh).
bench: build
	@scripts/bench.sh

# Run every fuzz target for FUZZTIME each (make fuzz FUZZTIME=5m).
fuzz:
	@scripts/fuzz.sh $(FUZZTIME)

lint:
	$(GO) vet $(PKGS)
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

# Regenerate the bundled examples (deterministic; the test suite checks them).
examples:
	$(GO) run ./internal/cmd/mkexamples examples

clean:
	rm -rf bin .bench
