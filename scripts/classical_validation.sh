#!/usr/bin/env bash
# Issue 31 validation of the classical baselines (docs/studies/flow-vs-classical.md, not run by CI):
# at E1-E3 (2D, L = 6, 8, 10), chains of plain HMC, Fourier-accelerated HMC and HMC + Wolff
# clusters, compared with each other on chi_2, E, <|M|> and the pole mass (analyze --compare
# against the plain HMC chain); 2 x 10^5 updates each. Resumable: a finished chain (its .txt) is skipped.
# Usage: scripts/classical_validation.sh   Environment: N (2e5), BIN, SCRATCH.
set -euo pipefail
R=docs/studies/runs/flow-vs-classical/validation
n=${N:-200000}
bin=${BIN:-.build/release/gomalizing}
scratch=${SCRATCH:-/tmp/classical-validation}
mkdir -p "$scratch" "$R"
# ensemble | mu2 of the Fourier mass (1/xi^2 with xi = L/4)
for row in "E1|0.44" "E2|0.25" "E3|0.16"; do
    IFS='|' read -r e mu2 <<< "$row"
    cfg=cfgs/example2d_$e.toml
    for kind in hmc fourier cluster; do
        [ -f "$R/$e.$kind.txt" ] && continue
        case $kind in
            hmc) args=(hmc "$cfg" --seed 41) ;;
            fourier) args=(hmc "$cfg" --seed 42 --fourier-mass2 "$mu2" --step-size 0.1 --steps 15 --step-jitter 0.2) ;;
            cluster) args=(cluster "$cfg" --seed 43) ;;
        esac
        "$bin" "${args[@]}" --n "$n" --out "$scratch/$e.$kind.npy" --overwrite > "$R/$e.$kind.log" 2>&1
        compare=()
        [ "$kind" != hmc ] && compare=(--compare "$R/$e.hmc.analysis.json")
        "$bin" analyze "$scratch/$e.$kind.npy" --config "$cfg" --json "$scratch/$e.$kind.analysis.json" --overwrite \
            "${compare[@]}" > "$scratch/$e.$kind.txt"
        cp "$scratch/$e.$kind.analysis.json" "$R/$e.$kind.analysis.json"
        mv "$scratch/$e.$kind.txt" "$R/$e.$kind.txt"
        rm -f "$scratch/$e.$kind.npy"
    done
    grep -E -A14 "^observable" "$R/$e.fourier.txt" "$R/$e.cluster.txt" | grep -E "chi_2|E \(|<\|M\|>|pole mass" || true
done
