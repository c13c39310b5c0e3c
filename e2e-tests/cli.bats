#!/usr/bin/env bats
# `dsp` as a command line: help, versions, flag errors, exit codes, the policy built in, the
# generated completions and man page.

bats_require_minimum_version 1.5.0

setup() {
  ROOT="$(cd "$BATS_TEST_DIRNAME/.." && pwd)"
  DSP="${DSP:-${CARGO_TARGET_DIR:-$ROOT/target}/debug/dsp}"
  FIXTURES="$ROOT/e2e-tests/fixtures"
  SCAN="$ROOT/e2e-tests/scan"
  unset DSP_MODULE
}

@test "help for every command exits 0 and documents every flag" {
  run "$DSP" --help
  [ "$status" -eq 0 ]
  [[ "$output" == *"run"*"scan"*"completions"*"man"* ]]
  run "$DSP" run --help
  [ "$status" -eq 0 ]
  for flag in --request-path --settings-json --settings-path MODULE; do [[ "$output" == *"$flag"* ]]; done
  run "$DSP" scan --help
  [ "$status" -eq 0 ]
  for flag in --module --settings-json --settings-path --output table json yaml DSP_MODULE "Exit status: 0 nothing exposed"; do
    [[ "$output" == *"$flag"* ]] || { echo "missing $flag"; false; }
  done
}

@test "--version prints the policy's version" {
  run "$DSP" --version
  [ "$status" -eq 0 ]
  version="$(sed -n 's/^version = "\(.*\)"/\1/p' "$ROOT/Cargo.toml" | head -n 1)"
  [ "$output" = "dsp $version" ]
}

@test "unknown and conflicting flags are usage errors: exit 2" {
  run --separate-stderr "$DSP" scan --bogus "$SCAN/crds.yaml"
  [ "$status" -eq 2 ]
  [[ "$stderr" == *"unexpected argument '--bogus'"* ]]
  run --separate-stderr "$DSP" scan --settings-json '{}' --settings-path /dev/null "$SCAN/crds.yaml"
  [ "$status" -eq 2 ]
  [[ "$stderr" == *"cannot be used with"* ]]
  run --separate-stderr "$DSP" scan --output xml "$SCAN/crds.yaml"
  [ "$status" -eq 2 ]
  run --separate-stderr "$DSP" run --settings-json '{}' --settings-path /dev/null -r "$FIXTURES/kind-deployment.json"
  [ "$status" -eq 2 ]
  run --separate-stderr "$DSP" frobnicate
  [ "$status" -eq 2 ]
}

@test "-- ends the flags: a file named like a flag is scanned" {
  cp "$SCAN/forged-owner.yaml" "$BATS_TEST_TMPDIR/--output"
  cd "$BATS_TEST_TMPDIR"
  run --separate-stderr "$DSP" scan -- --output
  [ "$status" -eq 1 ]
  [[ "$output" == *"node-exporter-zzzzz"* ]]
}

@test "scan: every failure exits 2, empty input first of all" {
  run --separate-stderr "$DSP" scan - < /dev/null
  [ "$status" -eq 2 ]
  [[ "$stderr" == *"stdin is empty"* ]]
  printf '\n  \n' > "$BATS_TEST_TMPDIR/blank.yaml"
  run --separate-stderr "$DSP" scan "$BATS_TEST_TMPDIR/blank.yaml"
  [ "$status" -eq 2 ]
  run --separate-stderr "$DSP" scan --module "$BATS_TEST_TMPDIR/missing.wasm" "$SCAN/crds.yaml"
  [ "$status" -eq 2 ]
  [[ "$stderr" == *"missing.wasm"* ]]
  printf 'not wasm' > "$BATS_TEST_TMPDIR/broken.wasm"
  run --separate-stderr "$DSP" scan --module "$BATS_TEST_TMPDIR/broken.wasm" "$SCAN/crds.yaml"
  [ "$status" -eq 2 ]
  run --separate-stderr "$DSP" scan --settings-json '{"mode":"audit"}' "$SCAN/crds.yaml"
  [ "$status" -eq 2 ]
  [[ "$stderr" == *"mode: unknown variant"* ]]
}

@test "scan needs no module: the policy built into dsp gives the module's report" {
  run --separate-stderr "$DSP" scan -o json "$SCAN/crds.yaml"
  [ "$status" -eq 1 ]
  [ "$(jq -c . <<< "$output")" = "$(jq -c .report "$SCAN/crds.expected.json" | sed 's#"source":"crds.yaml"#"source":"'"$SCAN"'/crds.yaml"#')" ]
  run --separate-stderr "$DSP" scan --module "$ROOT/policy.wasm" -o json "$SCAN/crds.yaml"
  [ "$status" -eq 1 ]
  [ "$(jq -c . <<< "$output")" = "$(jq -c .report "$SCAN/crds.expected.json" | sed 's#"source":"crds.yaml"#"source":"'"$SCAN"'/crds.yaml"#')" ]
}

@test "scan names what it did not evaluate, and why" {
  run --separate-stderr "$DSP" scan "$SCAN/crds.yaml"
  [ "$status" -eq 1 ]
  [[ "$output" == *"not evaluated: ConfigMap apps/settings ($SCAN/crds.yaml document 7): ConfigMap is not a kind the policy knows, and it has no pod template"* ]]
}

@test "scan --output yaml is the JSON report as YAML" {
  run --separate-stderr "$DSP" scan -o yaml "$SCAN/crds.yaml"
  [ "$status" -eq 1 ]
  [ "$(python3 -c 'import sys, yaml, json; print(json.dumps(yaml.safe_load(sys.stdin), sort_keys=True))' <<< "$output")" = \
    "$("$DSP" scan -o json "$SCAN/crds.yaml" | jq -S -c .)" ] || \
  [ "$(python3 -c 'import sys, yaml, json; print(json.dumps(yaml.safe_load(sys.stdin), sort_keys=True, separators=(",", ":")))' <<< "$output")" = \
    "$("$DSP" scan -o json "$SCAN/crds.yaml" | jq -S -c .)" ]
}

@test "run needs no module either, and agrees with the module" {
  run --separate-stderr "$DSP" run -r "$FIXTURES/kind-deployment.json"
  [ "$status" -eq 0 ]
  native="$output"
  run --separate-stderr "$DSP" run -r "$FIXTURES/kind-deployment.json" "$ROOT/policy.wasm"
  [ "$status" -eq 0 ]
  [ "$output" = "$native" ]
  [ "$(jq .allowed <<< "$native")" = false ]
}

@test "completions and the man page come from the same definition" {
  for shell in bash zsh fish; do
    run "$DSP" completions "$shell"
    [ "$status" -eq 0 ]
    [[ "$output" == *"settings-json"* ]]
  done
  run "$DSP" man
  [ "$status" -eq 0 ]
  [[ "$output" == *".TH dsp 1"* ]]
  [[ "$output" == *"scan"* ]]
}

@test "make install puts dsp, its man pages and completions under PREFIX" {
  command -v make >/dev/null || skip "no make"
  run make -C "$ROOT" --no-print-directory install INSTALL_PROFILE=dev DESTDIR="$BATS_TEST_TMPDIR/root" PREFIX=/usr
  [ "$status" -eq 0 ]
  installed="$BATS_TEST_TMPDIR/root/usr"
  run "$installed/bin/dsp" --version
  [ "$status" -eq 0 ]
  for page in dsp dsp-run dsp-scan; do
    grep -q "^.TH $page 1" "$installed/share/man/man1/$page.1"
  done
  grep -qF 'settings\-path' "$installed/share/man/man1/dsp-scan.1"
  grep -q "settings-json" "$installed/share/bash-completion/completions/dsp"
  grep -q "settings-json" "$installed/share/zsh/site-functions/_dsp"
  grep -q "settings-json" "$installed/share/fish/vendor_completions.d/dsp.fish"
}

@test "README: the commands it shows print what it shows" {
  run python3 "$ROOT/e2e-tests/readme_commands.py" "$DSP"
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "${lines[-1]}" == "2 README commands checked, 0 differ" ]]
}

@test "make demo's script runs every command it shows" {
  run env DSP="$DSP" "$ROOT/examples/demo.sh"
  [ "$status" -eq 0 ]
  [ "$(grep -c '^\$ dsp ' <<< "$output")" -eq 3 ]
  [[ "$output" == *"(exit status 1: 0 nothing exposed, 1 exposed, 2 something could not be evaluated)"* ]]
  [[ "$output" == *'"removed-socket-mounts": "dockersock"'* ]] || [[ "$output" == *'"removed-socket-mounts":"dockersock"'* ]]
}
