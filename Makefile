GO ?= go
BIN := bin/provision

.PHONY: build test demo bench bench-peers fmt vet

build:
	$(GO) build -o $(BIN) ./cmd/provision

# test: formatting, vet, then every package under the race detector.
test:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed on:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) test -race -count=1 ./...

demo: build
	./$(BIN) demo

# bench: the cdn scenario (2 GiB, 16 connections capped at 25 MB/s,
# 20 ms first byte) with and without the sha256 check, then raw (no caps).
bench: build
	./$(BIN) bench --size 2GiB --conn-rate 25MB/s --latency 20ms --repeat 3
	./$(BIN) bench --size 2GiB --conn-rate 25MB/s --latency 20ms --repeat 3 --verify=false
	./$(BIN) bench --size 2GiB --repeat 3 --verify=false

# bench-peers: every scenario of the README table with provision and the peers that are
# installed (INSTALL=1 installs aria2 and axel with apt-get), medians of 3.
bench-peers: build
	bash bench/peers.sh

fmt:
	gofmt -w $$(git ls-files '*.go')
