#!/usr/bin/env bats
# The OCI round trip: annotate and push the module to a local registry (Debian's
# docker-registry on loopback) with `make push`, then load it back from registry:// with
# kwctl and policy-server and get the same verdicts; `kwctl inspect` shows metadata.yml; and
# `make artifacthub-pkg.yml` regenerates the committed file. Skipped, saying so, without kwctl,
# policy-server or docker-registry.

bats_require_minimum_version 1.5.0

setup_file() {
  export ROOT="$(cd "$BATS_TEST_DIRNAME/.." && pwd)"
  export REAL_KWCTL="${REAL_KWCTL:-$("$ROOT/e2e-tests/engine.sh" kwctl || true)}"
  export POLICY_SERVER="$("$ROOT/e2e-tests/engine.sh" policy-server || true)"
  [ -n "$REAL_KWCTL" ] && [ -n "$POLICY_SERVER" ] && command -v docker-registry >/dev/null || return 0
  export REGISTRY_DIR="$(mktemp -d)"
  export PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  cat > "$REGISTRY_DIR/config.yml" <<YAML
version: 0.1
storage:
  filesystem:
    rootdirectory: $REGISTRY_DIR/storage
http:
  addr: 127.0.0.1:$PORT
YAML
  # fd 3 closed: bats waits for every process that holds it.
  docker-registry serve "$REGISTRY_DIR/config.yml" > "$REGISTRY_DIR/registry.log" 2>&1 3>&- &
  echo $! > "$REGISTRY_DIR/pid"
  for _ in $(seq 100); do
    curl -fs "http://127.0.0.1:$PORT/v2/" > /dev/null && break
    sleep 0.1
  done
  printf 'insecure_sources: ["127.0.0.1:%s"]\n' "$PORT" > "$REGISTRY_DIR/sources.yml"
  printf '{"insecure_sources": ["127.0.0.1:%s"]}\n' "$PORT" > "$REGISTRY_DIR/sources.json"
  export REPOSITORY="127.0.0.1:$PORT/kubewarden/docker-socket-policy"
  export VERSION="$(sed -n 's/^version = "\(.*\)"/\1/p' "$ROOT/Cargo.toml" | head -n 1)"
  export URL="registry://$REPOSITORY:v$VERSION"
}

teardown_file() {
  [ -z "${REGISTRY_DIR:-}" ] && return 0
  kill "$(cat "$REGISTRY_DIR/pid")" 2> /dev/null || true
  rm -rf "$REGISTRY_DIR"
}

setup() {
  [ -n "$REAL_KWCTL" ] || skip "no kwctl: set KWCTL, put kwctl on the PATH, or unpack ../shared/engine"
  [ -n "$POLICY_SERVER" ] || skip "no policy-server: set POLICY_SERVER, put it on the PATH, or unpack ../shared/engine"
  command -v docker-registry > /dev/null || skip "no docker-registry (apt-get install docker-registry)"
  KWCTL="$ROOT/e2e-tests/kwctl-offline"
}

@test "make push publishes the annotated module to any registry" {
  run make -C "$ROOT" --no-print-directory push KWCTL="$REAL_KWCTL" OCI_REPOSITORY="$REPOSITORY" \
    KWCTL_FLAGS="--sources-path $REGISTRY_DIR/sources.yml"
  echo "$output"
  [ "$status" -eq 0 ]
  curl -fs "http://127.0.0.1:$PORT/v2/kubewarden/docker-socket-policy/tags/list" | jq -e --arg v "v$VERSION" '.tags | index($v)'
}

@test "kwctl run from registry:// gives the verdicts of the local module" {
  for fixture in path-var-run-docker-sock containers-no-hostpath mutate-pod dirmounts-warn; do
    jq '.request' "$ROOT/e2e-tests/fixtures/$fixture.json" > "$BATS_TEST_TMPDIR/request.json"
    jq '.settings // {}' "$ROOT/e2e-tests/fixtures/$fixture.json" > "$BATS_TEST_TMPDIR/settings.json"
    run --separate-stderr "$KWCTL" run --sources-path "$REGISTRY_DIR/sources.yml" \
      --request-path "$BATS_TEST_TMPDIR/request.json" --settings-path "$BATS_TEST_TMPDIR/settings.json" "$URL"
    [ "$status" -eq 0 ] || { echo "$fixture: $stderr"; return 1; }
    remote="$(tail -n 1 <<< "$output" | jq -cS .)"
    run --separate-stderr "$KWCTL" run --request-path "$BATS_TEST_TMPDIR/request.json" \
      --settings-path "$BATS_TEST_TMPDIR/settings.json" "$ROOT/annotated-policy.wasm"
    local_="$(tail -n 1 <<< "$output" | jq -cS .)"
    [ "$remote" = "$local_" ] || { echo "$fixture: $remote != $local_"; return 1; }
  done
}

@test "kwctl inspect shows the metadata of metadata.yml" {
  run --separate-stderr "$KWCTL" inspect --sources-path "$REGISTRY_DIR/sources.yml" --output yaml "$URL"
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  echo "$output" > "$BATS_TEST_TMPDIR/inspected.yml"
  python3 - "$BATS_TEST_TMPDIR/inspected.yml" "$ROOT/metadata.yml" <<'PY'
import sys, yaml
inspected = yaml.safe_load(open(sys.argv[1]))
metadata = yaml.safe_load(open(sys.argv[2]))
inspected = inspected.get("metadata", inspected)
for key in ("rules", "mutating", "backgroundAudit", "executionMode"):
    assert inspected[key] == metadata[key], (key, inspected[key], metadata[key])
for key, value in metadata["annotations"].items():
    assert inspected["annotations"][key] == value, (key, inspected["annotations"].get(key), value)
assert inspected["protocolVersion"] == "v1", inspected.get("protocolVersion")
PY
}

@test "policy-server loads the module from registry:// and serves every namespace case" {
  run "${CARGO_TARGET_DIR:-$ROOT/target}/debug/engine_check" --policy-server "$POLICY_SERVER" \
    --module "$URL" --sources "$REGISTRY_DIR/sources.json"
  echo "$output"
  [ "$status" -eq 0 ]
}

@test "make artifacthub-pkg.yml regenerates the committed file" {
  cp "$ROOT/artifacthub-pkg.yml" "$BATS_TEST_TMPDIR/committed.yml"
  run "$KWCTL" scaffold artifacthub --metadata-path "$ROOT/metadata.yml" \
    --questions-path "$ROOT/questions-ui.yml" --output "$BATS_TEST_TMPDIR/generated.yml"
  [ "$status" -eq 0 ]
  python3 - "$BATS_TEST_TMPDIR/generated.yml" "$BATS_TEST_TMPDIR/committed.yml" <<'PY'
import sys, yaml
generated, committed = (yaml.safe_load(open(path)) for path in sys.argv[1:])
for document in (generated, committed):
    document.pop("createdAt")
assert generated == committed, "artifacthub-pkg.yml is stale: run make artifacthub-pkg.yml"
PY
}
