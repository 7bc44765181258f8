# AMP ledger — the commands people use. `make help` lists them.

GO          ?= go
BIN         := bin
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
PROTOC_GEN_GO := google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
# Packages that run goroutines of their own get the race detector in `make test`.
RACE_PKGS   := ./app/... ./node/... ./contracts

.PHONY: help build run testnet test test-short test-long bench lint proto fuzz clean

help:
	@echo "make run      a one-validator dev chain with funded demo identities (ampd dev)"
	@echo "make testnet  a local 4-validator consortium, one process per node (ampd testnet start)"
	@echo "make test     the whole test suite: unit, fuzz seeds, end-to-end, crash (what CI runs)"
	@echo "make test-long  a soak: random crashes and restarts of a testnet under load for SOAK (default 10m)"
	@echo "make bench    benchmarks and load figures against CometBFT's kvstore baseline"
	@echo "make build    bin/ampd and bin/amp"
	@echo "make rules    the example merchant rules (WebAssembly) into bin/rules and contracts/examples/wasm (installs AssemblyScript locally)"
	@echo "make lint     gofmt, go vet, staticcheck"
	@echo "make proto    regenerate chain/pb from chain/proto (needs protoc)"
	@echo "make fuzz     run each fuzz target for FUZZTIME (default 30s)"

build:
	$(GO) build -o $(BIN)/ampd ./node/cmd/ampd
	$(GO) build -o $(BIN)/amp ./node/cmd/amp
	mkdir -p $(BIN)/rules && cp contracts/examples/wasm/*.wasm $(BIN)/rules/

# The example rules: npm ci's the pinned AssemblyScript compiler into
# contracts/sdk/assemblyscript/node_modules, then contracts/examples/build.sh.
.PHONY: rules
rules:
	GO=$(GO) OUT=$(BIN)/rules sh contracts/examples/build.sh

run: build
	$(BIN)/ampd dev

# TESTNET_DIR holds the network (created on first use); TESTNET_FLAGS are
# more flags of `ampd testnet start`, e.g. TESTNET_FLAGS="--reset".
TESTNET_DIR ?= .testnet
testnet: build
	$(BIN)/ampd testnet start --dir $(TESTNET_DIR) $(TESTNET_FLAGS)

test:
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 20m ./...
	$(GO) test -count=1 -race -timeout 20m $(RACE_PKGS)

SOAK ?= 10m
test-long:
	AMP_TESTNET_SOAK=$(SOAK) $(GO) test -count=1 -v -timeout 2h -run '^TestSoak$$' ./testnet/fault

test-short:
	$(GO) test -count=1 -short ./...

bench: build
	$(GO) test -run '^$$' -bench . -benchmem ./chain/... ./modules/... ./app/... ./contracts/... ./testnet/loadgen/...
	$(GO) run ./testnet/cmd/ampbench
	@echo "agent payments against transfers on the validator profile (no tx index, docs/operating.md):"
	$(GO) run ./testnet/cmd/ampbench -validators 1 -systems amp,pay -revokes 0 -runs 2 -tx-index null

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "not gofmt-formatted:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

proto:
	@command -v protoc >/dev/null || { echo "protoc missing: apt-get install -y protobuf-compiler"; exit 1; }
	$(GO) build -o $(BIN)/protoc-gen-go $(PROTOC_GEN_GO:@v1.36.12=)
	cd chain/proto && protoc -I . --plugin=protoc-gen-go=../../$(BIN)/protoc-gen-go \
		--go_out=../pb --go_opt=module=github.com/amp-ledger/amp/chain/pb $$(find . -name '*.proto' | sort)

FUZZTIME ?= 30s
FUZZ_PKGS ?= ./chain ./modules/identity ./modules/payments
fuzz:
	@for p in $(FUZZ_PKGS); do for f in $$($(GO) test -list 'Fuzz.*' $$p | grep ^Fuzz); do \
		echo "== $$p $$f"; $(GO) test $$p -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) || exit 1; done; done

clean:
	rm -rf $(BIN)
