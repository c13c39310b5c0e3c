#!/usr/bin/env bats
# The playground in a real browser: headless Chromium loads playground/dist (make playground)
# from a loopback HTTP server, runs every fixture through the browser build, and drives the page
# once. Skipped, saying so, without chromium.

bats_require_minimum_version 1.5.0

setup_file() {
  ROOT="$(cd "$BATS_TEST_DIRNAME/.." && pwd)"
  export ROOT
  [ -n "${CHROMIUM:-}" ] || command -v chromium >/dev/null || command -v chromium-browser >/dev/null || return 0
  [ -f "$ROOT/playground/dist/pkg/dsp_web_bg.wasm" ] || return 0
  python3 "$ROOT/playground/tests/browser_test.py" "$BATS_FILE_TMPDIR/browser" > "$BATS_FILE_TMPDIR/run.log" 2>&1 3>&-
}

setup() {
  [ -n "${CHROMIUM:-}" ] || command -v chromium >/dev/null || command -v chromium-browser >/dev/null ||
    skip "no chromium: apt-get install chromium, or set CHROMIUM"
  [ -f "$ROOT/playground/dist/pkg/dsp_web_bg.wasm" ] || skip "no playground/dist: run make playground"
  RESULTS="$BATS_FILE_TMPDIR/browser"
  [ -f "$RESULTS/page.json" ] || { cat "$BATS_FILE_TMPDIR/run.log"; false; }
}

@test "browser: every fixture gives its expected answer through the browser build" {
  run "${CARGO_TARGET_DIR:-$ROOT/target}/debug/browser_check" "$RESULTS/fixtures.json"
  echo "$output"
  [ "$status" -eq 0 ]
  count="$(ls "$ROOT"/e2e-tests/fixtures/*.json | wc -l)"
  [[ "$output" == *"browser: $count of $count fixtures as expected"* ]]
  # The size of the browser build and the time of evaluate, in the run's output.
  echo "# ${lines[-1]}; dsp_web_bg.wasm $(wc -c < "$ROOT/playground/dist/pkg/dsp_web_bg.wasm") bytes" >&3
}

@test "browser: the page shows the verdict as kubectl would, then the diff in mutate mode" {
  page="$RESULTS/page.json"
  jq . "$page"
  [ "$(jq -r .error "$page")" = null ]
  [[ "$(jq -r .heading "$page")" == "Rejected Pod default/probe" ]]
  [[ "$(jq -r .kubectl "$page")" == *'denied the request: Pod "probe" exposes a container runtime socket'* ]]
  [[ "$(jq -r .kubectl "$page")" == *'volume "sock" (hostPath //run/docker.sock) is the Docker daemon socket /run/docker.sock'* ]]
  [ "$(jq -r .link "$page")" = true ]
  [[ "$(jq -r .mutatedHeading "$page")" == "Admitted, mutated Pod default/probe" ]]
  # The diff removes the volume and the mount, and adds nothing.
  jq -e '.removedLines | any(. == "\"path\": \"//run/docker.sock\"")' "$page"
  jq -e '.removedLines | map(rtrimstr(",")) | any(. == "\"mountPath\": \"/var/run/docker.sock\"")' "$page"
  jq -e '[.addedLines[] | rtrimstr(",") | select(. != "\"volumeMounts\": []" and . != "\"volumes\": []")] | length == 0' "$page"
  jq -e '.patch | contains("remove")' "$page"
  [[ "$(jq -r .settingsYaml "$page")" == "mode: mutate" ]]
  [[ "$(jq -r .policyYaml "$page")" == *"mutating: true"*"mode: mutate"* ]]
  # Every runtime is checked, as the policy's default; the YAML shown reads back (YAML 1.1) as
  # the settings, strings that look like other types included.
  [ "$(jq -c .runtimesChecked "$page")" = '["docker","containerd","crio","podman"]' ]
  yaml_json() { python3 -c 'import json, sys, yaml; print(json.dumps(yaml.safe_load(sys.stdin), sort_keys=True))'; }
  [ "$(jq -r .trickySettingsYaml "$page" | yaml_json)" = '{"allowedImages": ["*/agent:*", "yes", "12:30", "null"], "mode": "mutate"}' ]
  [ "$(jq -r .trickyPolicyYaml "$page" | yaml_json | jq -c .spec.settings)" = '{"allowedImages":["*/agent:*","yes","12:30","null"],"mode":"mutate"}' ]
  [ "$(jq -r .labelledControls "$page")" = true ]
}

@test "browser: the site loads nothing from the network" {
  run grep -rlE "(src|href)=\"https?://|import[^;]*https?://|fetch\(\"https?://" "$ROOT/playground/dist"
  [ "$status" -eq 1 ]
  [ -s "$RESULTS/screenshot.png" ]
}
