#!/usr/bin/env bash
# Issue 30, item 5 (docs/studies/one-vacuum.md): do the acceptance and ESS that the 3D/4D studies
# report for flows of the broken side hold for the symmetrised sampler? For each model, a chain of
# 10^5 steps with `--z2 off` and one with `--z2 on` from the same seed (the same draws z; the
# mixture adds a sign coin per proposal), each analysed. Not run by CI.
# Usage: scripts/one_vacuum_off_on.sh OUT_FOLDER RESULT_FOLDER...
# Environment: N (10^5), SEED (31), BIN (.build/release/gomalizing).
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: scripts/one_vacuum_off_on.sh OUT_FOLDER RESULT_FOLDER..." >&2; exit 2; }
out=$1; shift
n=${N:-100000} seed=${SEED:-31} bin=${BIN:-.build/release/gomalizing}
scratch=$(mktemp -d "${TMPDIR:-/tmp}/off-on.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
mkdir -p "$out"
for run in "$@"; do
    name=$(basename "$run")
    for z2 in off on; do
        "$bin" sample "$run" --n "$n" --seed "$seed" --z2 "$z2" --threads 2 --out "$scratch/$name.$z2.npy" > /dev/null
        "$bin" analyze "$scratch/$name.$z2.npy" --config "$run/config.toml" > "$out/$name.$z2.txt"
        printf '%s --z2 %s: ' "$name" "$z2"
        grep -E "^chain:|^proposals:|^vacua:" "$out/$name.$z2.txt" | sed -E 's/, longest.*//; s/, largest.*k/, k/; s/ \(.*//' | tr '\n' ' '
        echo
    done
done
