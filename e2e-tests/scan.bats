#!/usr/bin/env bats
# `dsp scan` on the dumps and manifests of e2e-tests/scan; the expected reports are in
# e2e-tests/scan/*.expected.json (also checked by harness/tests/scan.rs).

bats_require_minimum_version 1.5.0

setup() {
  ROOT="$(cd "$BATS_TEST_DIRNAME/.." && pwd)"
  DSP="${DSP:-${CARGO_TARGET_DIR:-$ROOT/target}/debug/dsp}"
  export DSP_MODULE="${POLICY_MODULE:-$ROOT/policy.wasm}"
  SCAN="$ROOT/e2e-tests/scan"
  # The expected reports name their inputs without the directory.
  SOURCE_NAMES='.not_evaluated[].source |= sub(".*/"; "")'
}

@test "scan: a kubectl List, exposed: exit 1, rows at the owners, JSON as expected" {
  run --separate-stderr "$DSP" scan -o json "$SCAN/cluster-dump.json"
  [ "$status" -eq 1 ]
  [ "$(jq -c "$SOURCE_NAMES" <<< "$output")" = "$(jq -c .report "$SCAN/cluster-dump.expected.json")" ]
}

@test "scan: reads stdin, as in kubectl get ... -o json | dsp scan -" {
  run --separate-stderr "$DSP" scan - < "$SCAN/cluster-dump.json"
  [ "$status" -eq 1 ]
  [[ "${lines[0]}" == NAMESPACE*KIND*NAME*VERDICT*VOLUME*"HOST PATH"*EXPOSES*CONTAINERS ]]
  [[ "$output" == *"monitoring    DaemonSet    node-agent"* ]]
  [ "$(grep -c node-agent <<< "$output")" -eq 2 ]
  [[ "${lines[-1]}" == "12 objects read, 11 evaluated, 5 reported after folding owned objects into their owners: 4 with an exposure (5 rows: 5 reject)" ]]
}

@test "scan: multi-document YAML manifests" {
  run --separate-stderr "$DSP" scan "$SCAN/manifests.yaml"
  [ "$status" -eq 1 ]
  [[ "$output" == *"ci-runner"*"/var/run/docker.sock"* ]]
  # The default protects every runtime: containerd's socket too.
  [[ "$output" == *containerd-metrics*"/run/containerd/containerd.sock"* ]]
}

@test "scan: settings as in run" {
  run --separate-stderr "$DSP" scan -o json --settings-json '{"runtimes":["docker","containerd"],"mode":"mutate","directoryMounts":"warn"}' "$SCAN/manifests.yaml"
  [ "$status" -eq 1 ]
  [ "$(jq -c "$SOURCE_NAMES" <<< "$output")" = "$(jq -c .report "$SCAN/manifests-mutate.expected.json")" ]
}

@test "scan: nothing exposed exits 0" {
  printf 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: ok\nspec:\n  containers:\n    - name: c\n      image: nginx\n' > "$BATS_TEST_TMPDIR/ok.yaml"
  run --separate-stderr "$DSP" scan "$BATS_TEST_TMPDIR/ok.yaml"
  [ "$status" -eq 0 ]
  [ "$output" = "1 objects read, 1 evaluated, 1 reported after folding owned objects into their owners: 0 with an exposure (0 rows)" ]
}

@test "scan: bad input exits 2 naming the file and the document" {
  run --separate-stderr "$DSP" scan "$SCAN/not-kubernetes.yaml"
  [ "$status" -eq 2 ]
  [[ "$stderr" == *"not-kubernetes.yaml: document 2: not a Kubernetes object"* ]]
  run --separate-stderr "$DSP" scan "$SCAN/no-such-file.yaml"
  [ "$status" -eq 2 ]
  run --separate-stderr "$DSP" scan --settings-json '{"directoryMount":"warn"}' "$SCAN/manifests.yaml"
  [ "$status" -eq 2 ]
  [[ "$stderr" == *"unknown field"* ]]
}

@test "scan: a count of the objects scanned on stderr, only when it is a terminal" {
  jq -n '{apiVersion: "v1", kind: "List", items: [range(1200) | {apiVersion: "v1", kind: "Pod",
    metadata: {name: "p\(.)", namespace: "default"}, spec: {containers: [{name: "c", image: "nginx"}]}}]}' \
    > "$BATS_TEST_TMPDIR/pods.json"
  run --separate-stderr "$DSP" scan "$BATS_TEST_TMPDIR/pods.json"
  [ "$status" -eq 0 ]
  [ -z "$stderr" ]
  # script(1) gives the command a terminal.
  run script -qec "$DSP scan $BATS_TEST_TMPDIR/pods.json" /dev/null
  [ "$status" -eq 0 ]
  [[ "$output" == *"scanned "*" objects"* ]]
  [[ "$output" == *"1200 objects read, 1200 evaluated, 1200 reported"* ]]
}

# The results of a SARIF log as the cases list them (harness/tests/scan.rs validates the log
# against the SARIF 2.1.0 schema).
SARIF_RESULTS='[.runs[0].results[] | {rule: .ruleId, level, object: .locations[0].logicalLocations[0].fullyQualifiedName, uri: .locations[0].physicalLocation.artifactLocation.uri, line: .locations[0].physicalLocation.region.startLine, column: .locations[0].physicalLocation.region.startColumn}]'

@test "scan: --output sarif points at the line of each exposure, in YAML and in a JSON List" {
  cd "$SCAN"
  for case in manifests argo-pod-spec-patch cluster-dump; do
    inputs="$(jq -r '.inputs[]' "$case.expected.json")"
    run --separate-stderr "$DSP" scan -o sarif $inputs
    [ "$status" -eq 1 ]
    [ "$(jq -c "$SARIF_RESULTS" <<< "$output")" = "$(jq -c .sarif "$case.expected.json")" ]
    [ "$(jq -r '.version, .runs[0].invocations[0].executionSuccessful' <<< "$output")" = "$(printf '2.1.0\ntrue')" ]
  done
}

@test "scan: --output sarif of stdin locates in what was read" {
  cd "$SCAN"
  run --separate-stderr "$DSP" scan -o sarif - < manifests.yaml
  [ "$status" -eq 1 ]
  [ "$(jq -c "$SARIF_RESULTS | map(.uri = \"manifests.yaml\")" <<< "$output")" = "$(jq -c .sarif manifests.expected.json)" ]
  [ "$(jq -r '.runs[0].results[0].locations[0].physicalLocation.artifactLocation.uri' <<< "$output")" = stdin ]
}

@test "scan: --output sarif lists an object that could not be evaluated as a failed run, exit 2" {
  printf 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: bad\nspec:\n  containers: 5\n  volumes:\n  - name: s\n    hostPath: {path: /var/run/docker.sock}\n' > "$BATS_TEST_TMPDIR/bad.yaml"
  run --separate-stderr "$DSP" scan -o sarif "$BATS_TEST_TMPDIR/bad.yaml"
  [ "$status" -eq 2 ]
  [ "$(jq -r '.runs[0].invocations[0].executionSuccessful' <<< "$output")" = false ]
  [ "$(jq -r '.runs[0].invocations[0].toolExecutionNotifications[0].message.text' <<< "$output")" = "Pod bad could not be evaluated: $BATS_TEST_TMPDIR/bad.yaml document 1: cannot read the request: request.object.spec.containers: invalid type: integer \`5\`, expected a sequence" ]
  [ "$(jq -c '.runs[0].results' <<< "$output")" = "[]" ]
}

# action.yml's scan step, as the runner runs it: inputs in DSP_* variables, dsp on the PATH,
# step outputs appended to GITHUB_OUTPUT.
action_scan() {
  PATH="$(dirname "$DSP"):$PATH" GITHUB_OUTPUT="$BATS_TEST_TMPDIR/outputs" "$@" "$ROOT/action/scan.sh"
}

@test "action: scans a directory's manifests, writes SARIF with paths as given, reports exit 1" {
  mkdir -p "$BATS_TEST_TMPDIR/repo/deploy/argo"
  cp "$SCAN/manifests.yaml" "$BATS_TEST_TMPDIR/repo/deploy/"
  cp "$SCAN/argo-pod-spec-patch.yaml" "$BATS_TEST_TMPDIR/repo/deploy/argo/"
  cd "$BATS_TEST_TMPDIR/repo"
  run --separate-stderr action_scan env DSP_PATHS=deploy DSP_SARIF_FILE=out.sarif
  [ "$status" -eq 0 ]
  [[ "$output" == *ci-runner*"/var/run/docker.sock"* ]]
  [ "$(cat "$BATS_TEST_TMPDIR/outputs")" = "$(printf 'exit-code=1\nsarif-written=true')" ]
  [ "$(jq -c '[.runs[0].results[].locations[0].physicalLocation.artifactLocation.uri] | unique' out.sarif)" = '["deploy/argo/argo-pod-spec-patch.yaml","deploy/manifests.yaml"]' ]
  [ "$(jq '.runs[0].results | length' out.sarif)" -eq 5 ]
}

@test "action: scans a command's output with settings; nothing exposed is exit 0" {
  cd "$BATS_TEST_TMPDIR"
  printf '{"exemptions":[{"namespaces":["ci"],"images":["docker:*"],"reason":"CI"}],"directoryMounts":"warn"}' > settings.json
  run --separate-stderr action_scan env DSP_COMMAND="cat '$SCAN/manifests.yaml'" DSP_SETTINGS=settings.json
  [ "$status" -eq 0 ]
  grep -q '^exit-code=1$' "$BATS_TEST_TMPDIR/outputs"
  [ "$(jq -r '.runs[0].results[0].locations[0].physicalLocation.artifactLocation.uri' dsp-scan.sarif)" = stdin ]
  printf 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: ok\nspec:\n  containers:\n    - name: c\n      image: nginx\n' > ok.yaml
  run --separate-stderr action_scan env DSP_COMMAND="cat ok.yaml"
  [ "$status" -eq 0 ]
  [ "$(tail -n 2 "$BATS_TEST_TMPDIR/outputs")" = "$(printf 'exit-code=0\nsarif-written=true')" ]
  [ "$(jq '.runs[0].results | length' dsp-scan.sarif)" -eq 0 ]
}

@test "action: nothing to scan, or a failing command, is exit 2 with an error annotation" {
  cd "$BATS_TEST_TMPDIR"
  run --separate-stderr action_scan env DSP_PATHS=
  [ "$status" -eq 0 ]
  [ "$output" = "::error title=dsp scan::no paths to scan: set the input paths or command" ]
  run --separate-stderr action_scan env DSP_COMMAND="exit 3"
  [ "$output" = "::error title=dsp scan::the command failed: exit 3" ]
  [ "$(cat "$BATS_TEST_TMPDIR/outputs")" = "$(printf 'exit-code=2\nsarif-written=false\nexit-code=2\nsarif-written=false')" ]
}

@test "action: the install step keeps a dsp of the action's version found on the PATH" {
  version="$(sed -n 's/^version = "\(.*\)"/\1/p' "$ROOT/Cargo.toml" | head -n 1)"
  run --separate-stderr env PATH="$(dirname "$DSP"):$PATH" "$ROOT/action/install.sh"
  [ "$status" -eq 0 ]
  [ "$output" = "dsp $version is installed" ]
}

@test "action: paths on several lines; the log's table runs with workflow commands off" {
  mkdir -p "$BATS_TEST_TMPDIR/repo/a" "$BATS_TEST_TMPDIR/repo/b"
  cp "$SCAN/manifests.yaml" "$BATS_TEST_TMPDIR/repo/a/"
  printf '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"x\\n::error::forged","namespace":"::warning::n"},"spec":{"containers":[{"name":"c","image":"i"}],"volumes":[{"name":"s","hostPath":{"path":"/run/docker.sock"}}]}}' > "$BATS_TEST_TMPDIR/repo/b/pod.json"
  cd "$BATS_TEST_TMPDIR/repo"
  run --separate-stderr action_scan env DSP_PATHS=$'a\nb\n'
  [ "$(jq -c '[.runs[0].results[].locations[0].physicalLocation.artifactLocation.uri] | unique' dsp-scan.sarif)" = '["a/manifests.yaml","b/pod.json"]' ]
  [[ "${lines[0]}" == "::stop-commands::dsp-"* ]]
  [ "${lines[-1]}" = "::${lines[0]#::stop-commands::}::" ]
  # The forged name is one cell of one line.
  [[ "$output" == *'x\n::error::forged'* ]]
  [ "$(grep -c '^::' <<< "$output")" -eq 3 ]
}

@test "action: settings dsp refuses, or a SARIF file it cannot write, is exit 2 without a log" {
  cd "$BATS_TEST_TMPDIR"
  printf '{"mode":"sometimes"}' > bad.json
  run --separate-stderr action_scan env DSP_PATHS="$SCAN/manifests.yaml" DSP_SETTINGS=bad.json
  [ "$(cat "$BATS_TEST_TMPDIR/outputs")" = "$(printf 'exit-code=2\nsarif-written=false')" ]
  rm "$BATS_TEST_TMPDIR/outputs"
  run --separate-stderr action_scan env DSP_PATHS="$SCAN/manifests.yaml" DSP_SARIF_FILE=missing/dir/out.sarif
  [ "$output" = "::error title=dsp scan::cannot write the SARIF file missing/dir/out.sarif" ]
  [ "$(cat "$BATS_TEST_TMPDIR/outputs")" = "$(printf 'exit-code=2\nsarif-written=false')" ]
}

@test "pre-commit: a staged file named like an option is scanned, not read as one" {
  cd "$BATS_TEST_TMPDIR"
  cp "$SCAN/manifests.yaml" ./-h.yaml
  entry="$(sed -n 's/^  entry: //p' "$ROOT/.pre-commit-hooks.yaml")"
  [ "$entry" = "dsp scan --" ]
  run --separate-stderr env PATH="$(dirname "$DSP"):$PATH" $entry -h.yaml
  [ "$status" -eq 1 ]
  [[ "$output" == *ci-runner* ]]
}
