#!/usr/bin/env bash
# Seeds the fuzz corpora from the fixture corpus: whole validate payloads, the objects, every
# hostPath and subPath, and the fixture files as they are for the JSON grammar. Run by
# `make fuzz`.
set -euo pipefail
cd "$(dirname "$0")"
mkdir -p corpus/validate corpus/mutation corpus/host_path corpus/json_grammar corpus/kube_yaml
for fixture in ../e2e-tests/fixtures/*.json; do
  name=$(basename "$fixture" .json)
  jq -c 'select(.request) | {request: (.request.request // .request), settings: (.settings // {})}' "$fixture" > "corpus/validate/$name" || true
  jq -c '(.request.request // .request).object // empty' "$fixture" > "corpus/mutation/$name" || true
  cp "$fixture" "corpus/json_grammar/$name"
  cp "$fixture" "corpus/kube_yaml/$name"
  jq -r '.. | objects | (.podSpecPatch? // empty) | strings' "$fixture" |
    while IFS= read -r -d '' patch || [ -n "$patch" ]; do
      printf '%s' "$patch" > "corpus/kube_yaml/patch-$(printf '%s' "$patch" | sha1sum | cut -c1-16)"
    done
  jq -r '.. | objects | (.path? // empty), (.subPath? // empty) | strings' "$fixture" |
    while IFS= read -r path; do
      printf '%s' "$path" > "corpus/host_path/$(printf '%s' "$path" | sha1sum | cut -c1-16)"
    done
done
for manifest in ../e2e-tests/scan/*.yaml ../examples/*.yaml ../policy.yaml ../metadata.yml; do
  cp "$manifest" "corpus/kube_yaml/$(basename "$manifest")"
done
find corpus -type f -empty -delete
