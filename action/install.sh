#!/usr/bin/env bash
# action.yml's first step: builds `dsp` from the action's own checkout (the policy is compiled
# into it) unless a `dsp` of this version is on the PATH already, and puts it on the PATH.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
version="$(sed -n 's/^version = "\(.*\)"/\1/p' "$root/Cargo.toml" | head -n 1)"
if command -v dsp > /dev/null && [ "$(dsp --version)" = "dsp $version" ]; then
  echo "dsp $version is installed"
  exit 0
fi
prefix="${RUNNER_TEMP:-${TMPDIR:-/tmp}}/dsp-$version"
cargo install --locked --quiet --root "$prefix" --path "$root/dsp"
echo "$prefix/bin" >> "${GITHUB_PATH:-/dev/null}"
"$prefix/bin/dsp" --version
