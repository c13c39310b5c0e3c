# Build, test and release targets, following Kubewarden's Rust policy Makefiles.
SOURCE_FILES := $(shell find src -type f -name '*.rs')
WASM_TARGET := wasm32-wasip1
TARGET_DIR := $(or $(CARGO_TARGET_DIR),target)
KWCTL ?= kwctl
VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
OCI_REPOSITORY ?= ghcr.io/docker-socket-policy/policies/docker-socket-policy
DSP := $(TARGET_DIR)/debug/dsp

.PHONY: all
all: policy.wasm

policy.wasm: $(SOURCE_FILES) Cargo.toml Cargo.lock
	cargo build --target=$(WASM_TARGET) --release
	cp $(TARGET_DIR)/$(WASM_TARGET)/release/docker_socket_policy.wasm policy.wasm
	@echo "policy.wasm: $$(wc -c < policy.wasm) bytes"

annotated-policy.wasm: policy.wasm metadata.yml README.md
	$(KWCTL) annotate -m metadata.yml -u README.md -o annotated-policy.wasm policy.wasm

.PHONY: dsp
dsp:
	cargo build -p harness --bin dsp

.PHONY: fmt
fmt:
	cargo fmt --all -- --check

.PHONY: lint
lint:
	cargo clippy --workspace --all-targets -- -D warnings
	cargo clippy --target=$(WASM_TARGET) -- -D warnings

# Unit tests, the fixture corpus natively and through the Wasm module in wasmtime.
.PHONY: test
test: fmt lint policy.wasm
	cargo test --workspace

# The bats suite; KWCTL=kwctl POLICY_MODULE=annotated-policy.wasm runs it on a real kwctl.
.PHONY: e2e-tests
e2e-tests: policy.wasm dsp
	bats e2e-tests/

floor.wasm: floor/src/lib.rs floor/Cargo.toml
	cargo build --target=$(WASM_TARGET) --release -p floor
	cp $(TARGET_DIR)/$(WASM_TARGET)/release/floor.wasm floor.wasm

# Policy vs floor, warm and fresh instances, native, sizes, memory; figures in bench-results.json.
.PHONY: bench
bench: policy.wasm floor.wasm
	cargo run -p harness --bin bench -- --policy policy.wasm --floor floor.wasm --json bench-results.json

# Evaluate one request, as `kwctl run` does: make run REQUEST=e2e-tests/requests/x.json
.PHONY: run
run: policy.wasm dsp
	$(DSP) run --request-path $(REQUEST) $(if $(SETTINGS),--settings-path $(SETTINGS)) policy.wasm

.PHONY: kwctl-run
kwctl-run: annotated-policy.wasm
	$(KWCTL) run --request-path $(REQUEST) $(if $(SETTINGS),--settings-path $(SETTINGS)) annotated-policy.wasm

.PHONY: push
push: annotated-policy.wasm
	$(KWCTL) push annotated-policy.wasm $(OCI_REPOSITORY):v$(VERSION)

artifacthub-pkg.yml: metadata.yml Cargo.toml
	$(KWCTL) scaffold artifacthub --metadata-path metadata.yml --version $(VERSION) --output artifacthub-pkg.yml

.PHONY: clean
clean:
	cargo clean
	rm -f policy.wasm annotated-policy.wasm floor.wasm bench-results.json
