#!/usr/bin/env bash
# action.yml's scan step: `dsp scan` of DSP_PATHS (files, or directories' .yaml/.yml/.json
# files) or of the output of DSP_COMMAND, with DSP_SETTINGS and DSP_NAMESPACE. Prints the table
# to the log, writes SARIF to DSP_SARIF_FILE, and sets the step outputs `exit-code` (dsp scan's
# status) and `sarif-written`. Always exits 0: action.yml decides whether findings fail the job,
# after the upload.
set -uo pipefail
output="${GITHUB_OUTPUT:-/dev/null}"
flags=()
[ -n "${DSP_SETTINGS:-}" ] && flags+=(--settings-path "$DSP_SETTINGS")
[ -n "${DSP_NAMESPACE:-}" ] && flags+=(--namespace "$DSP_NAMESPACE")
sarif="${DSP_SARIF_FILE:-dsp-scan.sarif}"

fail() {
  echo "::error title=dsp scan::$1"
  echo "exit-code=2" >> "$output"
  echo "sarif-written=false" >> "$output"
  exit 0
}

# The table goes to the job's log with workflow commands off: a name in a manifest must not
# be read as one (`::error::`, `::add-mask::`).
table() {
  local token
  token="dsp-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
  echo "::stop-commands::$token"
  dsp scan "${flags[@]}" -- "$@"
  echo "::$token::"
}

: > "$sarif" 2> /dev/null || fail "cannot write the SARIF file $sarif"
if [ -n "${DSP_COMMAND:-}" ]; then
  manifests="$(mktemp)"
  bash -c "$DSP_COMMAND" > "$manifests" || fail "the command failed: $DSP_COMMAND"
  table "$manifests"
  dsp scan "${flags[@]}" --output sarif - < "$manifests" > "$sarif"
  status=$?
else
  inputs=()
  # Separated by spaces or lines (`paths: |` in a workflow).
  mapfile -t paths < <(tr -s ' \t\r' '\n' <<< "${DSP_PATHS:-}" | sed '/^$/d')
  [ "${#paths[@]}" -gt 0 ] || fail "no paths to scan: set the input paths or command"
  for path in "${paths[@]}"; do
    if [ -d "$path" ]; then
      while IFS= read -r -d '' file; do inputs+=("$file"); done \
        < <(find "$path" -type f \( -name '*.yaml' -o -name '*.yml' -o -name '*.json' \) -print0 | sort -z)
    elif [ -e "$path" ]; then
      inputs+=("$path")
    else
      fail "no such file or directory: $path"
    fi
  done
  [ "${#inputs[@]}" -gt 0 ] || fail "no .yaml, .yml or .json file under: ${DSP_PATHS}"
  table "${inputs[@]}"
  dsp scan "${flags[@]}" --output sarif -- "${inputs[@]}" > "$sarif"
  status=$?
fi
echo "exit-code=$status" >> "$output"
# A log is written for exit 0, 1 and 2 alike; settings dsp refuses write none.
if [ -s "$sarif" ] && jq -e '.version == "2.1.0"' "$sarif" > /dev/null 2>&1; then
  echo "sarif-written=true" >> "$output"
else
  echo "sarif-written=false" >> "$output"
fi
exit 0
