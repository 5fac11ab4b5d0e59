#!/usr/bin/env bash
# Issue 31 (docs/studies/flow-vs-classical.md, "Tuning FA-HMC"): Fourier-accelerated HMC on one
# config for several mu2 of the mass matrix 2(p_hat^2 + mu2), each with the largest step of
# 0.3 ... 0.035 that accepts >= 80% in 2000 trajectories of length 1.5, then N trajectories,
# analysed; prints the cost per independent chi_2 and <|M|> sample.
# Usage: scripts/fourier_mass_scan.sh CONFIG OUTDIR MU2 ...   Environment: N (2e4), BIN, SCRATCH.
set -euo pipefail
cfg=$1 out=$2
shift 2
n=${N:-20000}
bin=${BIN:-.build/release/gomalizing}
scratch=${SCRATCH:-/tmp/fourier-mass-scan}
mkdir -p "$scratch" "$out"
source "$(dirname "$0")/hmc_pilot.sh"
for mu2 in "$@"; do
    [ -f "$out/mu2_$mu2.txt" ] && continue
    steps=$(pilot "$cfg" "--fourier-mass2 $mu2 --step-jitter 0.2" 1.5 "0.3 0.25 0.2 0.15 0.1 0.07 0.05 0.035")
    "$bin" hmc "$cfg" --n "$n" --seed 51 $steps --fourier-mass2 "$mu2" --step-jitter 0.2 \
        --out "$scratch/fa.npy" --overwrite > "$out/mu2_$mu2.log"
    "$bin" analyze "$scratch/fa.npy" --config "$cfg" --json "$scratch/fa.analysis.json" --overwrite > "$scratch/fa.txt"
    mv "$scratch/fa.txt" "$out/mu2_$mu2.txt"
    echo "mu2 $mu2: $(grep -o 'trajectories of.*' "$out/mu2_$mu2.log" | cut -c1-90)"
    grep -E "^cost|^chi_2|^<\|M\|>" "$out/mu2_$mu2.txt" | sed -E 's/ +/ /g' | cut -c1-110
done
rm -f "$scratch"/fa.*
