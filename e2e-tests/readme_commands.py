#!/usr/bin/env python3
"""Runs the commands README.md shows in its ```console blocks and compares their output with
what the README prints after them. `dsp` is the binary given as the first argument; the Quick
start's `kwctl run ... registry://...` runs as `dsp run ...` (e2e-tests/engines.bats holds dsp
to the real kwctl's answers). Commands that need a cluster (kubectl) or a build (make) are
listed as skipped. Exit 1 on any difference."""
import pathlib
import re
import shlex
import subprocess
import sys

root = pathlib.Path(__file__).resolve().parent.parent
dsp = sys.argv[1]
blocks = re.findall(r"```console\n(.*?)```", (root / "README.md").read_text(), re.S)
checked, failed = 0, 0
for block in blocks:
    lines = block.splitlines()
    i = 0
    while i < len(lines):
        if not lines[i].startswith("$ "):
            i += 1
            continue
        command = lines[i][2:]
        while command.endswith("\\"):
            i += 1
            command = command[:-1] + lines[i].strip()
        i += 1
        shown = []
        while i < len(lines) and not lines[i].startswith("$ "):
            shown.append(lines[i])
            i += 1
        words = shlex.split(command)
        if "kubectl" in words or words[0] == "make":
            print(f"skipped (needs a cluster or a build): {command}")
            continue
        if words[:2] == ["kwctl", "run"]:
            words = ["dsp", "run"] + [w for w in words[2:] if not w.startswith("registry://")]
        if words[0] != "dsp":
            print(f"skipped (not dsp): {command}")
            continue
        actual = subprocess.run([dsp] + words[1:], cwd=root, capture_output=True, text=True)
        checked += 1
        if actual.stdout.splitlines() != shown:
            failed += 1
            print(f"README shows for `{command}`:\n" + "\n".join(shown))
            print("but it prints:\n" + actual.stdout + actual.stderr)
print(f"{checked} README commands checked, {failed} differ")
sys.exit(1 if failed or checked < 2 else 0)
