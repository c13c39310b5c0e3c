#!/usr/bin/env bash
# `make demo`: the policy at work on the shipped examples, with the policy compiled into dsp
# (no Wasm module, no wasmtime). DSP names the binary.
set -uo pipefail
cd "$(dirname "$0")/.."
dsp="${DSP:-target/debug/dsp}"
pretty() { if command -v jq > /dev/null; then jq .; else cat; fi; }
show() { printf '\n$ %s\n' "$*"; }

show dsp scan e2e-tests/scan/cluster-dump.json
"$dsp" scan e2e-tests/scan/cluster-dump.json
echo "(exit status $?: 0 nothing exposed, 1 exposed, 2 something could not be evaluated)"

show dsp run --request-path examples/daemonset-docker-sock.json
"$dsp" run --request-path examples/daemonset-docker-sock.json | pretty

show dsp run --settings-path examples/settings-mutate.yaml --request-path examples/daemonset-docker-sock.json
"$dsp" run --settings-path examples/settings-mutate.yaml --request-path examples/daemonset-docker-sock.json | pretty
