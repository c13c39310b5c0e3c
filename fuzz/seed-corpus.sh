#!/usr/bin/env bash
# Seeds the fuzz corpora from the fixture corpus: whole validate payloads, the objects, every
# hostPath and subPath, and the fixture files as they are for the JSON grammar. Run by
# `make fuzz`.
set -euo pipefail
cd "$(dirname "$0")"
mkdir -p corpus/validate corpus/mutation corpus/host_path corpus/json_grammar
for fixture in ../e2e-tests/fixtures/*.json; do
  name=$(basename "$fixture" .json)
  jq -c 'select(.request) | {request: (.request.request // .request), settings: (.settings // {})}' "$fixture" > "corpus/validate/$name" || true
  jq -c '(.request.request // .request).object // empty' "$fixture" > "corpus/mutation/$name" || true
  cp "$fixture" "corpus/json_grammar/$name"
  jq -r '.. | objects | (.path? // empty), (.subPath? // empty) | strings' "$fixture" |
    while IFS= read -r path; do
      printf '%s' "$path" > "corpus/host_path/$(printf '%s' "$path" | sha1sum | cut -c1-16)"
    done
done
find corpus -type f -empty -delete
