#!/usr/bin/env bats
# End-to-end tests of the Wasm module through a `kwctl run`-shaped command.
#
#   make e2e-tests                                    # the project's `dsp run`
#   KWCTL=kwctl POLICY_MODULE=annotated-policy.wasm bats e2e-tests   # a real kwctl
#
# Requests and settings come from the fixture corpus (e2e-tests/fixtures), the same files the
# native and Wasm harness tests read.

bats_require_minimum_version 1.5.0

setup() {
  ROOT="$(cd "$BATS_TEST_DIRNAME/.." && pwd)"
  KWCTL="${KWCTL:-${CARGO_TARGET_DIR:-$ROOT/target}/debug/dsp}"
  MODULE="${POLICY_MODULE:-$ROOT/policy.wasm}"
  FIXTURES="$ROOT/e2e-tests/fixtures"
  WORK="$(mktemp -d)"
}

teardown() {
  rm -rf "$WORK"
}

# evaluate FIXTURE: runs the fixture's request with its settings; the response is in $output.
evaluate() {
  local fixture="$FIXTURES/$1.json"
  jq '.request' "$fixture" > "$WORK/request.json"
  jq '.settings // {}' "$fixture" > "$WORK/settings.json"
  run --separate-stderr "$KWCTL" run --request-path "$WORK/request.json" \
    --settings-path "$WORK/settings.json" "$MODULE"
}

@test "rejects a Pod that mounts /var/run/docker.sock, naming volume, path and container" {
  evaluate path-var-run-docker-sock
  [ "$status" -eq 0 ]
  [ "$(jq -r .allowed <<< "$output")" = "false" ]
  jq -e '.status.message | contains("volume \"v\" (hostPath /var/run/docker.sock) is the Docker daemon socket /var/run/docker.sock, mounted by container agent")' <<< "$output"
  [ "$(jq -r .uid <<< "$output")" = "$(jq -r .request.uid "$FIXTURES/path-var-run-docker-sock.json")" ]
}

@test "the upstream grep misses these; the policy does not" {
  for fixture in path-run-docker-sock path-double-slash path-dir-var-run path-dir-root subpath-climbs-to-socket kind-daemonset; do
    evaluate "$fixture"
    [ "$(jq -r .allowed <<< "$output")" = "false" ] || { echo "$fixture was allowed"; return 1; }
  done
}

@test "accepts a Pod without exposure, with the kwctl output shape" {
  evaluate containers-no-hostpath
  [ "$status" -eq 0 ]
  jq -e '.allowed == true and .warnings == null and .auditAnnotations == null and (has("status") | not) and (has("patch") | not)' <<< "$output"
}

@test "directoryMounts: warn accepts with a warning" {
  evaluate dirmounts-warn
  jq -e '.allowed == true and (.warnings | length) == 1' <<< "$output"
  jq -e '.warnings[0] | startswith("volume \"v\" (hostPath /var/run) exposes directory /var/run")' <<< "$output"
}

@test "reads a whole AdmissionReview" {
  evaluate kind-admission-review
  jq -e '.allowed == false' <<< "$output"
}

@test "reads settings from YAML" {
  jq '.request' "$FIXTURES/dirmounts-ignore.json" > "$WORK/request.json"
  printf 'directoryMounts: ignore\nruntimes:\n  - docker\n' > "$WORK/settings.yaml"
  run --separate-stderr "$KWCTL" run --request-path "$WORK/request.json" -s "$WORK/settings.yaml" "$MODULE"
  [ "$status" -eq 0 ]
  jq -e '.allowed == true' <<< "$output"
}

@test "invalid settings fail the run with the field named" {
  jq '.request' "$FIXTURES/path-var-run-docker-sock.json" > "$WORK/request.json"
  run --separate-stderr "$KWCTL" run --request-path "$WORK/request.json" \
    --settings-json '{"directoryMount":"warn"}' "$MODULE"
  [ "$status" -ne 0 ]
  [[ "$stderr" == *"directoryMount"* ]]
}

@test "a request of the wrong shape is rejected with what could not be read" {
  evaluate bad-volumes-not-a-list
  [ "$status" -eq 0 ]
  jq -e '.allowed == false and (.status.message | startswith("cannot read the request: request.object.spec.volumes"))' <<< "$output"
}

@test "every fixture of the corpus gives its whole expected answer: verdict, message, warnings, audit annotations, no patch unless expected" {
  local count=0
  for fixture in "$FIXTURES"/*.json; do
    name="$(basename "$fixture" .json)"
    if [ "$(jq -r '.request == null' "$fixture")" = "true" ]; then
      continue
    fi
    evaluate "$name"
    if [ "$(jq -r '.expect.settings_valid' "$fixture")" = "false" ]; then
      [ "$status" -ne 0 ] || { echo "$name: invalid settings were accepted"; return 1; }
      continue
    fi
    refused="$(jq -r '.expect.request_refused // empty' "$fixture")"
    if [ -n "$refused" ]; then
      [ "$status" -eq 1 ] || { echo "$name: the request was not refused (exit $status)"; return 1; }
      [[ "$stderr" == *"$refused"* ]] || { echo "$name: refusal lacks '$refused': $stderr"; return 1; }
      continue
    fi
    [ "$status" -eq 0 ] || { echo "$name: exit $status: $stderr"; return 1; }
    expected="$(jq -c '.expect' "$fixture")"
    jq -e --argjson e "$expected" '
      . as $r
      | ($e.message_contains // []) as $parts | ($e.warnings_contain // []) as $warned
      | ($r.allowed == $e.allowed)
      and (if $e.message != null then ($r.status.message // "") == $e.message
           elif $parts == [] then ($r.status.message // "") == "" else true end)
      and all($parts[]; . as $part | ($r.status.message // "") | contains($part))
      and (if $e.warnings != null then ($r.warnings // []) == $e.warnings
           elif $warned == [] then ($r.warnings // []) == [] else true end)
      and all($warned[]; . as $part | any(($r.warnings // [])[]; contains($part)))
      and ($r.auditAnnotations == $e.audit_annotations)
      and (if $e.patch == null and $e.patched_object == null then $r.patch == null else true end)
    ' <<< "$output" > /dev/null || { echo "$name: expected $expected, got $output"; return 1; }
    count=$((count + 1))
  done
  echo "checked $count fixtures"
  [ "$count" -ge 80 ]
}

@test "mutate mode answers with a base64 JSON Patch, as the engine sends it" {
  evaluate mutate-unmounted-socket-volume
  [ "$status" -eq 0 ]
  jq -e '.allowed == true and .patchType == "JSONPatch"' <<< "$output"
  [ "$(jq -r .patch <<< "$output" | base64 -d | jq -c .)" = '[{"op":"remove","path":"/spec/volumes/1"}]' ]
  jq -e '.auditAnnotations["removed-socket-mounts"] == "dockersock"' <<< "$output"
}

@test "mutate mode: applying the patch gives the fixture's expected object" {
  evaluate mutate-deployment
  jq -e '.patchType == "JSONPatch"' <<< "$output"
  ops="$(jq -r .patch <<< "$output" | base64 -d | jq -c '[.[] | .op] | unique')"
  [[ "$ops" == *remove* ]]
  evaluate mutate-idempotent
  jq -e '.allowed == true and (has("patch") | not)' <<< "$output"
}
