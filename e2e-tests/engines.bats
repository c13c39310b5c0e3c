#!/usr/bin/env bats
# The project's `dsp run` and the real `kwctl run` give the same response for every fixture:
# verdict, message, warnings, audit annotations and the patch as a set of operations; a request
# the engine cannot build, or invalid settings, fail both the same way. Skipped, saying so,
# when no kwctl is found (see e2e-tests/engine.sh).

bats_require_minimum_version 1.5.0

setup() {
  ROOT="$(cd "$BATS_TEST_DIRNAME/.." && pwd)"
  DSP="${DSP:-${CARGO_TARGET_DIR:-$ROOT/target}/debug/dsp}"
  FIXTURES="$ROOT/e2e-tests/fixtures"
  [ -n "${REAL_KWCTL:-}" ] || skip "no kwctl: set KWCTL, put kwctl on the PATH, or unpack ../shared/engine (make e2e-tests does)"
  ANNOTATED="${ANNOTATED_MODULE:-$ROOT/annotated-policy.wasm}"
  [ -f "$ANNOTATED" ] || skip "no $ANNOTATED: run make annotated-policy.wasm"
  WORK="$(mktemp -d)"
}

teardown() {
  [ -z "${WORK:-}" ] || rm -rf "$WORK"
}

# The parts of a response that must agree; the patch decoded and sorted into a set.
normalized() {
  jq -cS '{uid, allowed, message: .status.message, code: .status.code, warnings, auditAnnotations,
          patchType, patch: (if .patch then (.patch | @base64d | fromjson | sort_by(.path, .op)) else null end)}'
}

@test "every fixture: the same response through dsp run and the real kwctl run" {
  local count=0
  for fixture in "$FIXTURES"/*.json; do
    name="$(basename "$fixture" .json)"
    [ "$(jq -r '.request == null' "$fixture")" = "false" ] || continue
    jq '.request' "$fixture" > "$WORK/request.json"
    jq '.settings // {}' "$fixture" > "$WORK/settings.json"
    run --separate-stderr "$DSP" run --request-path "$WORK/request.json" \
      --settings-path "$WORK/settings.json" "$ROOT/policy.wasm"
    local dsp_status="$status" dsp_output="$output" dsp_error="${stderr##*Error: }"
    run --separate-stderr "$ROOT/e2e-tests/kwctl-offline" run --request-path "$WORK/request.json" \
      --settings-path "$WORK/settings.json" "$ANNOTATED"
    [ "$status" -eq "$dsp_status" ] || { echo "$name: kwctl exit $status, dsp exit $dsp_status: $stderr"; return 1; }
    if [ "$status" -ne 0 ]; then
      [[ "$stderr" == *"Error: ${dsp_error%%$'\n'*}"* ]] || { echo "$name: kwctl failed otherwise: $stderr / dsp: $dsp_error"; return 1; }
    else
      kwctl_response="$(tail -n 1 <<< "$output" | normalized)"
      dsp_response="$(normalized <<< "$dsp_output")"
      [ "$kwctl_response" = "$dsp_response" ] || { echo "$name differs:"; echo "kwctl: $kwctl_response"; echo "dsp:   $dsp_response"; return 1; }
    fi
    count=$((count + 1))
  done
  echo "compared $count fixtures"
  [ "$count" -ge 150 ]
}
