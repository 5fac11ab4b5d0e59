#!/usr/bin/env bash
# Long validation (not run by CI): trains the given configs in order into
# result/ (a fast recipe's warm-start chain, e.g. cfgs/example2d_E1_fast.toml
# then cfgs/example2d_E3_fast.toml; a run already there is resumed, a finished
# one left as it is), draws N configurations from the last flow's
# Metropolis-Hastings chain and N from HMC, analyses both and compares them
# observable by observable (difference in units of the combined error).
# Usage: scripts/validate.sh CONFIG... ; N=100000 by default (env N).
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 1 ] || { echo "usage: scripts/validate.sh CONFIG..." >&2; exit 2; }
n=${N:-100000}
swift build -c release
bin=.build/release/gomalizing
for cfg in "$@"; do
  name=$(basename "$cfg" .toml)
  if [ -d "result/$name" ]; then $bin train "$cfg" --resume --quiet; else $bin train "$cfg" --quiet; fi
done
cfg=${!#}
run=result/$(basename "$cfg" .toml)
$bin sample "$run" --n "$n" --seed 7 --out "$run/flow.npy" --overwrite
$bin hmc "$cfg" --n "$n" --seed 7 --out "$run/hmc.npy" --overwrite
$bin analyze "$run/hmc.npy" --config "$cfg" | head -6
$bin analyze "$run/flow.npy" --config "$cfg" --compare "$run/hmc.analysis.json" | sed -n '1,6p;/^compared with/,$p'
$bin report "$run"
