#!/usr/bin/env bash
# Cost per training step and per proposal on the line of constant physics at L = 12, 20, 32 and
# 64 (issue 32, docs/studies/site-maps.md and BENCHMARKS.md): the shipped recipe (16 couplings,
# hidden [8, 8], cross kernel, Fourier layer, path gradient, batch 64) without site maps, with
# them (site_map_features = 4), with shears too (shear_features = 2), and with site maps and the
# even sites integrated out (odd: integrate_even_sites = true; its proposals/s include drawing the
# even sites of every accepted proposal). Each variant trains 2
# epochs of ITER steps from scratch (the second epoch's seconds per step is the time; eval 256
# proposals), then samples N proposals from its model; the variants are alternated, REPS rounds,
# and the medians printed. Both threads; nothing else should run.
#
#   scripts/site_map_costs.sh [OUT_DIR]        # BIN=..., REPS=3, SIZES="12 20 32 64", VARIANTS="plain sitemaps shears odd"
set -euo pipefail
bin=${BIN:-.build/release/gomalizing}
out=${1:-/tmp/site-map-costs}
reps=${REPS:-3}
sizes=${SIZES:-12 20 32 64}
mkdir -p "$out"
base=cfgs/example2d_lcp_L32.toml
variants=${VARIANTS:-plain sitemaps shears odd}
table="$out/costs.csv"
echo "L,variant,rep,ms_per_step,proposals_per_s" > "$table"

config() {  # L variant -> config path
  local L=$1 v=$2 f="$out/L$1_$2.toml" iters=30 extra=""
  [ "$L" -ge 64 ] && iters=10
  case $v in
    plain) extra="site_map_features = 0" ;;
    sitemaps) extra="site_map_features = 4" ;;
    shears) extra="site_map_features = 4
shear_features = 2" ;;
    odd) extra="site_map_features = 4
integrate_even_sites = true" ;;
  esac
  sed -e "s/^L = .*/L = $L/" -e "s/^epochs = .*/epochs = 2/" -e "s/^iterations = .*/iterations = $iters/" \
      -e "s/^eval_samples = .*/eval_samples = 256/" -e 's|^pretrained = .*|pretrained = ""|' \
      -e "s/^site_map_features = .*//" -e "s/^integrate_even_sites = .*//" "$base" > "$f"
  printf '%s\n' "$extra" >> "$f"
  echo "$f"
}

for rep in $(seq 1 "$reps"); do
  for L in $sizes; do
    n=$((8000000 / (L * L)))
    for v in $variants; do
      cfg=$(config "$L" "$v")
      res="$out/res_L${L}_$v"
      rm -rf "$res"
      "$bin" train "$cfg" --result "$res" --threads 2 --quiet > /dev/null
      run=$(ls -d "$res"/*/ | head -1)
      iters=$(grep '^iterations' "$cfg" | sed 's/[^0-9]//g')
      ms=$(tail -1 "$run/history.csv" | awk -F, -v it="$iters" '{printf "%.1f", 1000 * $8 / it}')
      start=$(date +%s.%N)
      "$bin" sample "$run" --n "$n" --seed 1 --threads 2 --z2 off --overwrite --out "$out/s.npy" > /dev/null 2>&1
      end=$(date +%s.%N)
      rate=$(awk -v n="$n" -v a="$start" -v b="$end" 'BEGIN { printf "%.0f", n / (b - a) }')
      echo "$L,$v,$rep,$ms,$rate" | tee -a "$table"
    done
  done
done

python3 - "$table" <<'EOF'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1])))
print("\n| L | variant | ms per training step (median) | proposals/s (median) | step against the first variant |")
print("|---:|---|---:|---:|---:|")
first = {}
for L in sorted({int(r['L']) for r in rows}):
    for v in ['plain', 'sitemaps', 'shears', 'odd']:
        sub = [r for r in rows if int(r['L']) == L and r['variant'] == v]
        if not sub: continue
        ms = statistics.median(float(r['ms_per_step']) for r in sub)
        rate = statistics.median(float(r['proposals_per_s']) for r in sub)
        first.setdefault(L, ms)
        print(f"| {L} | {v} | {ms:.1f} | {rate:.0f} | {ms / first[L]:.2f}x |")
EOF
