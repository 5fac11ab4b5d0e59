#!/usr/bin/env bash
# Issue 31 (docs/studies/free-energy.md, not run by CI): the free energy a trained flow estimates
# against the exact free-field log Z. For each config of docs/studies/runs/free-energy: train,
# sample N proposals with --seed 41 (and 42, 43: three independent estimates), analyze; analyze
# prints the estimate, its error, the exact value and the difference in errors.
# Resumable: a finished step (train.log, analyze-SEED.txt) is skipped on a rerun.
# Usage: scripts/free_energy_validation.sh [NAME ...]   Environment: N (10^5), BIN.
set -euo pipefail
F=docs/studies/runs/free-energy
n=${N:-100000} bin=${BIN:-.build/release/gomalizing}
scratch=$(mktemp -d "${TMPDIR:-/tmp}/free-energy.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
names=("$@")
[ ${#names[@]} -gt 0 ] || names=(free_L8 free_L16 free_L32)
for name in "${names[@]}"; do
    cfg=$F/$name.toml out=$F/$name
    echo "== $name $(date -u +%H:%M:%S)"
    if [ ! -f "$out/train.log" ]; then
        "$bin" train "$cfg" --quiet --overwrite > "$scratch/train.log" 2>&1
        mv "$scratch/train.log" "$out/train.log"
    fi
    for seed in 41 42 43; do
        [ -f "$out/analyze-$seed.txt" ] && continue
        "$bin" sample "$out" --n "$n" --seed "$seed" --threads 2 --out "$scratch/$name.$seed.npy" > /dev/null
        "$bin" analyze "$scratch/$name.$seed.npy" --config "$cfg" > "$scratch/a.txt"
        mv "$scratch/a.txt" "$out/analyze-$seed.txt"
        rm -f "$scratch/$name.$seed."*
    done
    grep -hE "^free energy|^free field" "$out"/analyze-*.txt
done
