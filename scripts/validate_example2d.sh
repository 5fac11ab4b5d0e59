#!/usr/bin/env bash
# Long validation (not run by CI): trains cfgs/example2d.toml, draws 10^5
# configurations from the flow's Metropolis-Hastings chain and 10^5 from HMC,
# and analyses both so the observables can be compared. About 20 minutes on
# 2 cores; ends with a report.html. Usage: scripts/validate_example2d.sh [result-folder-parent]
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-result}
swift build -c release
bin=.build/release/gomalizing
$bin train cfgs/example2d.toml --result "$out" --quiet
$bin sample "$out/example2d" --n 100000 --seed 7 --out "$out/example2d/flow.npy"
$bin hmc cfgs/example2d.toml --n 100000 --seed 7 --out "$out/example2d/hmc.npy"
$bin analyze "$out/example2d/flow.npy" --config cfgs/example2d.toml | head -6
$bin analyze "$out/example2d/hmc.npy" --config cfgs/example2d.toml | head -6
$bin report "$out/example2d"
