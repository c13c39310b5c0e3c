#!/usr/bin/env bats
# The real policy-server serves the example policies of policy.yaml (one policy id per
# ClusterAdmissionPolicy / AdmissionPolicy, its settings and `mutating`), and each namespace case
# gets the answer the README promises (harness/src/bin/engine_check.rs). Skipped, saying so,
# without a policy-server.

bats_require_minimum_version 1.5.0

setup() {
  ROOT="$(cd "$BATS_TEST_DIRNAME/.." && pwd)"
  POLICY_SERVER="$("$ROOT/e2e-tests/engine.sh" policy-server)" ||
    skip "no policy-server: set POLICY_SERVER, put it on the PATH, or unpack ../shared/engine"
  [ -f "$ROOT/annotated-policy.wasm" ] || skip "no annotated-policy.wasm: run make annotated-policy.wasm"
}

@test "policy-server: the cluster policy rejects, monitoring admits its agent, ci mutates; the same with exemptions" {
  run "${CARGO_TARGET_DIR:-$ROOT/target}/debug/engine_check" --policy-server "$POLICY_SERVER" \
    --module "file://$ROOT/annotated-policy.wasm"
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *"ok ci: the ci policy removes the socket and nothing else"* ]]
  [[ "$output" == *"ok exemptions: monitoring admits its agent unchanged"* ]]
}
