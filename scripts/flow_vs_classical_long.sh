#!/usr/bin/env bash
# Issue 31 (docs/studies/flow-vs-classical.md, "Are the flow chains' error bars right?"): where both
# 10^5-step flow chains disagreed with the cluster chain by 2-3.6 sigma, a flow chain of 10^6 steps
# and a cluster chain of 10^6 updates, compared (analyze --compare). Resumable.
# Usage: scripts/flow_vs_classical_long.sh [THEORY ...] (default: broken_L12 lcp_L6). Environment: BIN, SCRATCH.
set -euo pipefail
R=docs/studies/runs/flow-vs-classical
bin=${BIN:-.build/release/gomalizing}
scratch=${SCRATCH:-/tmp/flow-vs-classical}
mkdir -p "$scratch"
theories=("$@")
[ ${#theories[@]} -gt 0 ] || theories=(broken_L12 lcp_L6)
for t in "${theories[@]}"; do
    row=$(grep -o "\"$t|[^\"]*\"" scripts/flow_vs_classical.sh | tr -d '"')
    IFS='|' read -r name cfg flowdir model mu2 every <<< "$row"
    cfg=${cfg//\$R/$R}; flowdir=${flowdir//\$R/$R}
    out=$R/$t
    hmcargs=$(grep '^hmc ' "$out/tuning.txt" | cut -d' ' -f2-)
    if [ ! -f "$out/cluster_long.txt" ]; then
        "$bin" cluster "$cfg" --n 1000000 --seed 37 $hmcargs --out "$scratch/$t.cluster_long.npy" --overwrite > "$out/cluster_long.log" 2>&1
        "$bin" analyze "$scratch/$t.cluster_long.npy" --config "$cfg" --json "$scratch/$t.cluster_long.analysis.json" --overwrite > "$scratch/$t.cluster_long.txt"
        cp "$scratch/$t.cluster_long.analysis.json" "$out/cluster_long.analysis.json"
        mv "$scratch/$t.cluster_long.txt" "$out/cluster_long.txt"
        rm -f "$scratch/$t.cluster_long.npy"
    fi
    if [ ! -f "$out/flow_long.txt" ]; then
        "$bin" sample "$flowdir" --n 1000000 --seed 36 --threads 2 --model "$model" --out "$scratch/$t.flow_long.npy" --overwrite > "$out/flow_long.log" 2>&1
        "$bin" analyze "$scratch/$t.flow_long.npy" --config "$cfg" --json "$scratch/$t.flow_long.analysis.json" \
            --compare "$out/cluster_long.analysis.json" --overwrite > "$scratch/$t.flow_long.txt"
        cp "$scratch/$t.flow_long.analysis.json" "$out/flow_long.analysis.json"
        mv "$scratch/$t.flow_long.txt" "$out/flow_long.txt"
        rm -f "$scratch/$t.flow_long.npy" "$scratch/$t.flow_long.csv"
    fi
    grep -E -A5 "^observable" "$out/flow_long.txt" || true
done
