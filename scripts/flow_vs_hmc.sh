#!/usr/bin/env bash
# Long check (not run by CI): a trained flow's independence Metropolis-Hastings
# chain against HMC of the same theory, observable by observable.
# Usage: scripts/flow_vs_hmc.sh RESULT_FOLDER CONFIG OUT_FOLDER
#   RESULT_FOLDER  a folder written by `train` (its model_$MODEL.safetensors is sampled)
#   CONFIG         the TOML whose [physical] section HMC samples (the run's own config)
#   OUT_FOLDER     gets flow.out, hmc.out and both analyses as JSON (the .npy
#                  configurations go to a scratch folder: 1e5 of them at L = 20 are 160 MB)
# Environment: N (steps of each chain, 100000), SEED (7), MODEL (best, best_ess or last:
# best), BIN (the gomalizing binary, .build/release/gomalizing), HMC_ARGS (e.g.
# "--step-size 0.08 --steps 12").
set -euo pipefail
[ $# -eq 3 ] || { echo "usage: scripts/flow_vs_hmc.sh RESULT_FOLDER CONFIG OUT_FOLDER" >&2; exit 2; }
run=$1 cfg=$2 out=$3
n=${N:-100000} seed=${SEED:-7} model=${MODEL:-best}
bin=${BIN:-.build/release/gomalizing}
scratch=$(mktemp -d "${TMPDIR:-/tmp}/flow-vs-hmc.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
mkdir -p "$out"
# shellcheck disable=SC2086  # HMC_ARGS is a list of options
{ time "$bin" hmc "$cfg" --n "$n" --seed "$seed" ${HMC_ARGS:-} --out "$scratch/hmc.npy"; } 2>&1 | tail -n 20 > "$out/hmc.log"
{ time "$bin" sample "$run" --n "$n" --seed "$seed" --model "$model" --out "$scratch/flow.npy"; } 2>&1 | tail -n 20 > "$out/flow.log"
"$bin" analyze "$scratch/hmc.npy" --config "$cfg" > "$out/hmc.out"
"$bin" analyze "$scratch/flow.npy" --config "$cfg" --compare "$scratch/hmc.analysis.json" > "$out/flow.out"
cp "$scratch/hmc.analysis.json" "$scratch/flow.analysis.json" "$out/"
sed -n '1,8p;/^compared with/,$p' "$out/flow.out"
