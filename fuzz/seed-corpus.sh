#!/usr/bin/env bash
# Seeds the fuzz corpora from the fixture corpus: whole validate payloads, the objects, and
# every hostPath and subPath. Run by `make fuzz`.
set -euo pipefail
cd "$(dirname "$0")"
mkdir -p corpus/validate corpus/mutation corpus/host_path
for fixture in ../e2e-tests/fixtures/*.json; do
  name=$(basename "$fixture" .json)
  jq -c 'select(.request) | {request: (.request.request // .request), settings: (.settings // {})}' "$fixture" > "corpus/validate/$name" || true
  jq -c '(.request.request // .request).object // empty' "$fixture" > "corpus/mutation/$name" || true
  jq -r '.. | objects | (.path? // empty), (.subPath? // empty) | strings' "$fixture" |
    while IFS= read -r path; do
      printf '%s' "$path" > "corpus/host_path/$(printf '%s' "$path" | sha1sum | cut -c1-16)"
    done
done
find corpus -type f -empty -delete
