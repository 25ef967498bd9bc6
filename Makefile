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

bench: build
	./$(BIN) bench

fmt:
	gofmt -w $$(git ls-files '*.go')
