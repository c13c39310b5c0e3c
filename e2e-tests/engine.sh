#!/usr/bin/env bash
# Finds the real Kubewarden engine and prints the path of `kwctl` (default) or `policy-server`:
# from $KWCTL / $POLICY_SERVER, else on the PATH, else unpacked from ../shared/engine (this
# team's machines and CI). Prints nothing and exits 1 when there is none.
set -euo pipefail
tool="${1:-kwctl}"
case "$tool" in
  kwctl) variable=KWCTL ;;
  policy-server) variable=POLICY_SERVER ;;
  *) echo "usage: $0 [kwctl|policy-server]" >&2; exit 2 ;;
esac
if [ -n "${!variable:-}" ]; then
  command -v "${!variable}" || exit 1
  exit 0
fi
if command -v "$tool"; then
  exit 0
fi
installer="$(cd "$(dirname "$0")/.." && pwd)/../shared/engine/install.sh"
if [ -f "$installer" ]; then
  directory="$(bash "$installer" 2>/dev/null)" || exit 1
  if [ -x "$directory/$tool" ]; then
    echo "$directory/$tool"
    exit 0
  fi
fi
exit 1
