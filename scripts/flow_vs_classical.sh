#!/usr/bin/env bash
# Issue 31 study (docs/studies/flow-vs-classical.md, not run by CI): for each theory, chains of
# plain HMC, Fourier-accelerated HMC, HMC + Wolff clusters and flow + MH, each analysed with its
# cost per independent sample. Step sizes are tuned by a pilot at a fixed trajectory length (1 for
# HMC, 1.5 for FA-HMC): the largest step of a list with at least 80% acceptance over 2000
# trajectories (the cluster chain uses HMC's); flows are trained here
# (configs/*.toml) or taken from the committed studies (their history gives the training cost).
# Resumable: a finished chain (its <kind>.txt) or training (train.log) is skipped on a rerun.
# Usage: scripts/flow_vs_classical.sh [THEORY ...]   (default: all, in the order below)
# Environment: N (10^5 rows a chain), BIN (.build/release/gomalizing), SCRATCH (the .npy chains).
set -euo pipefail
R=docs/studies/runs/flow-vs-classical
n=${N:-100000}
bin=${BIN:-.build/release/gomalizing}
scratch=${SCRATCH:-/tmp/flow-vs-classical}
mkdir -p "$scratch"

# theory | config | flow folder (trained here when it is under $R) | model | mu2 of the Fourier mass | every
theories=(
  "broken_L6|$R/configs/broken_L6.toml|$R/broken_L6|best|1|1"
  "broken_L8|$R/configs/broken_L8.toml|$R/broken_L8|best|1|1"
  "broken_L12|$R/configs/broken_L12.toml|$R/broken_L12|best|1|1"
  "lcp_L6|cfgs/example2d_E1.toml|docs/studies/runs/training-recipe-targets/example2d_E1_fast_s1|best|0.44|1"
  "lcp_L10|cfgs/example2d_E3.toml|docs/studies/runs/fourier-scaling-targets/example2d_E3_fast_fourier_scaling-true_s1|best|0.16|1"
  "lcp_L14|$R/configs/lcp_L14.toml|$R/lcp_L14|best|0.082|1"
  "lcp_L20|cfgs/example2d_lcp_L20.toml|docs/studies/runs/large-lattices-lr/example2d_lcp_L20_s1|best|0.04|2"
  "lcp_L32|cfgs/example2d_lcp_L32.toml|docs/studies/runs/large-lattices-lr/example2d_lcp_L32_s1|last|0.016|5"
  "crit3d_L4|cfgs/example3d_critical_L4_fast.toml|docs/studies/runs/training-recipe-3d/example3d_critical_L4_fast_s1|best|1|1"
  "crit3d_L6|$R/configs/crit3d_L6.toml|$R/crit3d_L6|best|0.44|1"
)

source "$(dirname "$0")/hmc_pilot.sh"   # pilot: the step size at 80% acceptance

# chain KIND NAME CFG OUT COMMAND-ARGS...: run, analyse, keep the text, JSON and log, drop the .npy.
chain() {
    local kind=$1 name=$2 cfg=$3 out=$4
    shift 4
    [ -f "$out/$kind.txt" ] && return 0
    local npy="$scratch/$name.$kind.npy"
    { time "$bin" "$@" --out "$npy" --overwrite; } > "$out/$kind.log" 2>&1
    local extra=()
    [[ "$kind" == flow* ]] && [ -f "$flowdir/provenance.json" ] && extra=(--training "$flowdir")
    "$bin" analyze "$npy" --config "$cfg" --json "$scratch/$name.$kind.analysis.json" --overwrite "${extra[@]}" \
        > "$scratch/$name.$kind.txt"
    cp "$scratch/$name.$kind.analysis.json" "$out/$kind.analysis.json"
    cp "$scratch/$name.$kind.provenance.json" "$out/$kind.provenance.json"
    mv "$scratch/$name.$kind.txt" "$out/$kind.txt"
    rm -f "$npy" "${npy%.npy}.csv"
}

selected=("$@")
for row in "${theories[@]}"; do
    IFS='|' read -r name cfg flowdir model mu2 every <<< "$row"
    if [ ${#selected[@]} -gt 0 ] && [[ ! " ${selected[*]} " == *" $name "* ]]; then continue; fi
    out=$R/$name
    mkdir -p "$out"
    echo "== $name $(date -u +%H:%M:%S)"
    if [[ "$flowdir" == "$R/"* ]] && [ ! -f "$out/train.log" ]; then
        "$bin" train "$cfg" --quiet --overwrite > "$scratch/$name.train.log" 2>&1
        mv "$scratch/$name.train.log" "$out/train.log"
    fi
    if [ ! -f "$out/tuning.txt" ]; then
        { echo "hmc $(pilot "$cfg" "" 1 "0.14 0.1 0.07 0.05 0.035")"
          echo "fourier $(pilot "$cfg" "--fourier-mass2 $mu2 --step-jitter 0.2" 1.5 "0.3 0.25 0.2 0.15 0.1 0.07 0.05") --fourier-mass2 $mu2 --step-jitter 0.2"
        } > "$out/tuning.txt"
    fi
    hmcargs=$(grep '^hmc ' "$out/tuning.txt" | cut -d' ' -f2-)
    faargs=$(grep '^fourier ' "$out/tuning.txt" | cut -d' ' -f2-)
    rows=$((n / every))
    chain hmc "$name" "$cfg" "$out" hmc "$cfg" --n "$rows" --every "$every" --seed 31 $hmcargs
    chain fourier "$name" "$cfg" "$out" hmc "$cfg" --n "$rows" --every "$every" --seed 32 $faargs
    chain cluster "$name" "$cfg" "$out" cluster "$cfg" --n "$rows" --every "$every" --seed 33 $hmcargs
    chain flow "$name" "$cfg" "$out" sample "$flowdir" --n "$n" --seed 34 --threads 2 --model "$model"
    # A second chain of the same flow: how far apart two chains' estimates lie, against their errors.
    chain flow2 "$name" "$cfg" "$out" sample "$flowdir" --n "$n" --seed 35 --threads 2 --model "$model"
    grep -E "^cost|^chi_2|^<\|M\|>|^<M>|vacua" "$out"/{hmc,fourier,cluster,flow}.txt || true
done
