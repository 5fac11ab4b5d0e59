#!/usr/bin/env bash
# Issue 30 validation (docs/studies/one-vacuum.md, not run by CI): for each config of
# docs/studies/runs/one-vacuum/validation, train a flow, sample 10^6 proposals with
# `sample --z2 auto` (the default), run 10^6 HMC trajectories, and compare the two analyses.
# Resumable: a finished step (its train.log, hmc.txt or flow.txt) is skipped on a rerun.
# Usage: scripts/one_vacuum_validation.sh [NAME ...]   (default: every config, in order)
# Environment: N (10^6), BIN (.build/release/gomalizing), SCRATCH (the .npy chains: 1-2 GB each).
set -euo pipefail
V=docs/studies/runs/one-vacuum/validation
n=${N:-1000000}
bin=${BIN:-.build/release/gomalizing}
scratch=${SCRATCH:-/tmp/one-vacuum-validation}
mkdir -p "$scratch"
names=("$@")
[ ${#names[@]} -gt 0 ] || names=(v3d_L4_broken v3d_L4_symmetric v3d_L4_broken_z2eq v3d_L6_broken v3d_L6_symmetric v4d_L4_broken v4d_L4_symmetric)
for name in "${names[@]}"; do
    cfg=$V/$name.toml out=$V/$name
    echo "== $name $(date -u +%H:%M:%S)"
    if [ ! -f "$out/train.log" ]; then
        "$bin" train "$cfg" --quiet --overwrite > "$scratch/$name.train.log" 2>&1
        mv "$scratch/$name.train.log" "$out/train.log"
    fi
    if [ ! -f "$out/hmc.txt" ]; then
        { time "$bin" hmc "$cfg" --n "$n" --seed 22 --out "$scratch/$name.hmc.npy" --overwrite; } > "$scratch/$name.hmc.log" 2>&1
        "$bin" analyze "$scratch/$name.hmc.npy" --config "$cfg" --json "$scratch/$name.hmc.analysis.json" --overwrite > "$scratch/$name.hmc.txt"
        cp "$scratch/$name.hmc.analysis.json" "$out/hmc.analysis.json"
        tail -n 8 "$scratch/$name.hmc.log" > "$out/hmc.log"
        mv "$scratch/$name.hmc.txt" "$out/hmc.txt"
        rm -f "$scratch/$name.hmc.npy"
    fi
    if [ ! -f "$out/flow.txt" ]; then
        { time "$bin" sample "$out" --n "$n" --seed 21 --threads 2 --out "$scratch/$name.flow.npy" --overwrite; } > "$scratch/$name.flow.log" 2>&1
        "$bin" analyze "$scratch/$name.flow.npy" --config "$cfg" --json "$scratch/$name.flow.analysis.json" \
            --compare "$out/hmc.analysis.json" --overwrite > "$scratch/$name.flow.txt"
        cp "$scratch/$name.flow.analysis.json" "$out/flow.analysis.json"
        cp "$scratch/$name.flow.provenance.json" "$out/flow.provenance.json" 2>/dev/null || true
        tail -n 12 "$scratch/$name.flow.log" > "$out/flow.log"
        mv "$scratch/$name.flow.txt" "$out/flow.txt"
        rm -f "$scratch/$name.flow.npy"
    fi
    grep -E "vacua|one vacuum" "$out/flow.txt" || true
done
